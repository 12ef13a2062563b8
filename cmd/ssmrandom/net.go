package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// Where frames go unless the flags say otherwise.
const (
	// defaultGroup is the IPv4 group: in 232.0.0.0/8, the range RFC 4607
	// reserves for source-specific multicast.
	defaultGroup = "232.0.1.100"
	// defaultGroup6 is the IPv6 group suggested in help: in ff3e::/32
	// (SSM, global scope), its group ID 0x80000100 in the range RFC 4607
	// section 1 sets aside for dynamically allocated SSM groups.
	defaultGroup6 = "ff3e::8000:100"
	// defaultPort is the UDP port.
	defaultPort = 49999
	// defaultTTL is the multicast TTL (IPv4) or hop limit (IPv6) of a
	// sender: enough to cross a campus or a national research network,
	// not the whole Internet.
	defaultTTL = 32
)

// Datagram size limits (--max-datagram): the largest UDP payload that
// crosses a path without IP fragmentation.
const (
	// maxDatagramSafe fits every IPv6 path: the IPv6 minimum MTU of 1280
	// bytes less 40 bytes of IPv6 and 8 of UDP header. It is the default.
	maxDatagramSafe = 1232
	// maxDatagramEthernet4 is IPv4 over a 1500-byte Ethernet MTU: 1500
	// less 20 bytes of IPv4 and 8 of UDP header.
	maxDatagramEthernet4 = 1472
	// maxDatagramEthernet6 is IPv6 over a 1500-byte Ethernet MTU: 1500
	// less 40 bytes of IPv6 and 8 of UDP header.
	maxDatagramEthernet6 = 1452
	// minMaxDatagram is the smallest limit that leaves room for a frame.
	minMaxDatagram = 256
	// maxMaxDatagram is the largest UDP payload over IPv4: 65535 less 20
	// bytes of IPv4 and 8 of UDP header.
	maxMaxDatagram = 65507
)

// Receive buffer sizes (--rcvbuf of recv and seed).
const (
	// defaultRcvbuf holds about 70 ms of a 50,000 datagram/s flood of
	// 1472-byte datagrams (Linux counts twice it, 8 MiB, against the
	// datagrams' kernel memory), against about 2 ms in Linux's default
	// 208 KiB (docs/deployment.md, "Receive buffer").
	defaultRcvbuf = 4 << 20
	// minRcvbuf and maxRcvbuf bound --rcvbuf: below 64 KiB a short burst
	// overflows it; past 1 GiB is a typo.
	minRcvbuf, maxRcvbuf = 64 << 10, 1 << 30
)

// rcvbufFlag is --rcvbuf, of recv and seed.
func rcvbufFlag() cli.Flag {
	return &cli.IntFlag{Name: "rcvbuf", Value: defaultRcvbuf, Usage: "the socket's receive buffer in `BYTES` (0: the system's default)"}
}

// rcvbufValue checks --rcvbuf.
func rcvbufValue(c *cli.Context) error {
	if n := c.Int("rcvbuf"); n != 0 && (n < minRcvbuf || n > maxRcvbuf) {
		return usagef(fmt.Sprintf("--rcvbuf takes %d to %d bytes, or 0 for the system's default", minRcvbuf, maxRcvbuf), "bad --rcvbuf %d", n)
	}
	return nil
}

// setRcvbuf sets conn's receive buffer to --rcvbuf, and logs what the
// kernel made of it: capped by net.core.rmem_max is a warning when
// --rcvbuf was given.
func setRcvbuf(c *cli.Context, conn *mcast.Receiver, log zerolog.Logger) error {
	n := c.Int("rcvbuf")
	if n == 0 {
		log.Info().Int("rcvbuf", conn.ReadBufferSize()).Msg("receive buffer: the system's default (net.core.rmem_default)")
		return nil
	}
	rb, err := conn.SetReadBuffer(n)
	if err != nil {
		return err
	}
	ev, msg := log.Info(), fmt.Sprintf("receive buffer: %d bytes (the kernel counts twice the %d set)", rb.Size, n)
	if rb.Capped {
		if c.IsSet("rcvbuf") {
			ev = log.Warn()
		}
		msg = fmt.Sprintf("receive buffer: %d bytes, not twice the %d asked: net.core.rmem_max (%d) caps it; raise that, or give CAP_NET_ADMIN", rb.Size, n, rb.Size/2)
	}
	ev.Int("rcvbuf", rb.Size).Int("asked", n).Bool("forced", rb.Forced).Msg(msg)
	return nil
}

// maxDatagramHelp explains --max-datagram in the send commands' help.
var maxDatagramHelp = fmt.Sprintf("--max-datagram is the datagram size limit: %d bytes fits every path unfragmented,\n"+
	"%d IPv4 over Ethernet, %d IPv6 over Ethernet.", maxDatagramSafe, maxDatagramEthernet4, maxDatagramEthernet6)

// netFlags are the flags that say where frames go, shared by send and recv.
func netFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Value: defaultGroup, Usage: "SSM `GROUP`: IPv4 in 232.0.0.0/8, or IPv6 in ff3x::/32 such as " + defaultGroup6},
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Value: defaultPort, Usage: "UDP `PORT`"},
		&cli.StringFlag{Name: "interface", Aliases: []string{"i"}, Usage: "interface `NAME` or one of its addresses (send sends from that address)", DefaultText: "chosen by routing; also 0.0.0.0"},
	}
}

// maxDatagramFlag is --max-datagram of the send commands.
func maxDatagramFlag() cli.Flag {
	return &cli.IntFlag{Name: "max-datagram", Value: maxDatagramSafe, Usage: "the datagram size limit, in `BYTES`"}
}

// groupFlag reads -g/--group and -p/--port.
func groupFlag(c *cli.Context) (netip.AddrPort, error) {
	const hint = "-g/--group takes an SSM group: IPv4 in 232.0.0.0/8 such as " + defaultGroup + ", or IPv6 in ff3x::/32 such as " + defaultGroup6
	addr, err := netip.ParseAddr(c.String("group"))
	if err != nil {
		return netip.AddrPort{}, usagef(hint, "bad group %q", c.String("group"))
	}
	if !mcast.IsSSM(addr) {
		return netip.AddrPort{}, usagef(hint, "group %s is not a source-specific multicast address", addr)
	}
	port := c.Int("port")
	if port < 1 || port > 65535 {
		return netip.AddrPort{}, usagef("-p/--port takes 1 to 65535", "bad port %d", port)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// interfaceFlag reads -i/--interface: the interface, and the address if
// -i named one (send sends from it, as the original's -i was the address
// to bind to).
func interfaceFlag(c *cli.Context) (*net.Interface, netip.Addr, error) {
	spec := c.String("interface")
	a, err := netip.ParseAddr(spec)
	if err == nil && a.IsUnspecified() {
		// The original ssmrandom's default, 0.0.0.0 (INADDR_ANY), which
		// lets the kernel choose, as no -i does.
		spec, a = "", netip.Addr{}
	}
	ifi, err := mcast.ResolveInterface(spec)
	if err != nil {
		return nil, netip.Addr{}, asUsage(err, "-i/--interface takes an interface name (see 'ip link') or one of its addresses")
	}
	return ifi, a.Unmap(), nil
}

// maxDatagramValue reads --max-datagram.
func maxDatagramValue(c *cli.Context) (int, error) {
	n := c.Int("max-datagram")
	if n < minMaxDatagram || n > maxMaxDatagram {
		return 0, usagef(fmt.Sprintf("--max-datagram takes %d to %d; %d is safe on every path, %d fits IPv4 over Ethernet, %d IPv6", minMaxDatagram, maxMaxDatagram, maxDatagramSafe, maxDatagramEthernet4, maxDatagramEthernet6),
			"bad --max-datagram %d", n)
	}
	return n, nil
}

// keepJoined announces conn's memberships again when its interface comes
// up, changes addresses or is created again (mcast.Receiver.KeepJoined),
// and logs it; the returned function stops that.
func keepJoined(conn *mcast.Receiver, log zerolog.Logger) (stop func()) {
	stop, err := conn.KeepJoined(func(rj mcast.Rejoin) {
		ev, msg := log.Info(), "announced the memberships again"
		switch {
		case rj.Err != nil:
			ev, msg = log.Warn().AnErr("why", rj.Err), "could not join again; trying again at the next change"
		case rj.Event == mcast.LinkGone:
			ev, msg = log.Warn(), "the interface was deleted; joining again when it is back"
		case rj.Event == mcast.LinkNew:
			msg = "joined again on the interface created anew"
		}
		name := rj.Interface
		if name == "" {
			name = ifiName(nil)
		}
		ev.Str("interface", name).Stringer("change", rj.Event).Msg(msg)
	})
	if err != nil {
		log.Warn().AnErr("why", err).Msg("not watching the network interfaces: after a link comes up, the switch may hear the memberships only at its next query")
		return func() {}
	}
	return stop
}

// ifiName names ifi for logs.
func ifiName(ifi *net.Interface) string {
	if ifi == nil {
		return "(routing)"
	}
	return ifi.Name
}
