package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// Datagram budgets: the largest UDP payload that crosses a path without IP
// fragmentation.
const (
	// budgetSafe fits every IPv6 path: the IPv6 minimum MTU of 1280 bytes
	// less 40 bytes of IPv6 and 8 of UDP header. It is the default.
	budgetSafe = 1232
	// budgetEthernet4 is IPv4 over a 1500-byte Ethernet MTU: 1500 less 20
	// bytes of IPv4 and 8 of UDP header.
	budgetEthernet4 = 1472
	// budgetEthernet6 is IPv6 over a 1500-byte Ethernet MTU: 1500 less 40
	// bytes of IPv6 and 8 of UDP header.
	budgetEthernet6 = 1452
	// minBudget is the smallest budget that leaves room for a frame.
	minBudget = 256
	// maxBudget is the largest UDP payload over IPv4: 65535 less 20 bytes
	// of IPv4 and 8 of UDP header.
	maxBudget = 65507
)

// netFlags are the flags that say where frames go, shared by send and recv.
func netFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Value: mcast.DefaultGroup, Usage: "SSM `GROUP` address: IPv4 in 232.0.0.0/8, or IPv6 in ff3x::/32 such as " + mcast.DefaultGroup6},
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Value: mcast.DefaultPort, Usage: "UDP `PORT`"},
		&cli.StringFlag{Name: "interface", Aliases: []string{"i"}, Usage: "interface `NAME` or one of its addresses, as the original ssmrandom's local address (default, or 0.0.0.0: chosen by routing)"},
	}
}

// groupFlag reads -g/--group and -p/--port.
func groupFlag(c *cli.Context) (netip.AddrPort, error) {
	const hint = "-g/--group takes an SSM group: IPv4 in 232.0.0.0/8 such as " + mcast.DefaultGroup + ", or IPv6 in ff3x::/32 such as " + mcast.DefaultGroup6
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

// interfaceFlag reads -i/--interface.
func interfaceFlag(c *cli.Context) (*net.Interface, error) {
	spec := c.String("interface")
	if a, err := netip.ParseAddr(spec); err == nil && a.IsUnspecified() {
		// The original ssmrandom's default, 0.0.0.0 (INADDR_ANY), which
		// lets the kernel choose, as no -i does.
		spec = ""
	}
	ifi, err := mcast.ResolveInterface(spec)
	if err != nil {
		return nil, asUsage(err, "-i/--interface takes an interface name (see 'ip link') or one of its addresses")
	}
	return ifi, nil
}

// budgetFlag reads --max-datagram.
func budgetFlag(c *cli.Context) (int, error) {
	n := c.Int("max-datagram")
	if n < minBudget || n > maxBudget {
		return 0, usagef(fmt.Sprintf("--max-datagram takes %d to %d; %d is safe on every path, %d fits IPv4 over Ethernet, %d IPv6", minBudget, maxBudget, budgetSafe, budgetEthernet4, budgetEthernet6),
			"bad --max-datagram %d", n)
	}
	return n, nil
}

// ifiName names ifi for logs.
func ifiName(ifi *net.Interface) string {
	if ifi == nil {
		return "(routing)"
	}
	return ifi.Name
}
