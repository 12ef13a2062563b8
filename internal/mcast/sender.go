package mcast

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Sender sends datagrams to one SSM group. Create it with [Dial]; the zero
// value is not usable. Its methods are safe for concurrent use.
type Sender struct {
	conn  *net.UDPConn
	group netip.AddrPort
	local netip.AddrPort
	batch batchWriter

	mu   sync.Mutex // guards msgs
	msgs [WriteBatchSize]ipv4.Message
}

// WriteBatchSize is the most datagrams [Sender.WriteBatch] hands the
// kernel in one system call; it sends longer batches in several.
const WriteBatchSize = 64

// batchWriter is what ipv4.PacketConn and ipv6.PacketConn have in common
// for [Sender.WriteBatch]; their Message types are one type.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// Dial returns a [Sender] for group: a UDP socket connected to group, sending
// on ifi (nil lets the kernel choose by routing, which needs a route to the
// group), with multicast TTL or hop limit ttl and multicast loopback on, so
// that receivers on this host get the datagrams too. The group must be SSM
// ([ErrNotSSM] otherwise), its port nonzero and ttl 0 to 255.
//
// The source address, which receivers must join, is for IPv4 ifi's first
// IPv4 address (127.0.0.1 for lo), for IPv6 the one the kernel selects among
// ifi's addresses (RFC 6724), and for a nil ifi the one routing picks;
// [Sender.LocalAddr] tells it. [DialFrom] sends from a given address.
func Dial(group netip.AddrPort, ifi *net.Interface, ttl int) (*Sender, error) {
	return DialFrom(group, ifi, netip.Addr{}, ttl)
}

// DialFrom is [Dial] with the source address source, which must be an
// address of this host of the group's family ([ErrFamily] otherwise): a
// host with a service address beside its main one sends from the service
// address, which is the one receivers join. The zero Addr means what Dial
// does.
func DialFrom(group netip.AddrPort, ifi *net.Interface, source netip.Addr, ttl int) (*Sender, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if source.IsValid() && !sameFamily(source, group.Addr()) {
		return nil, fmt.Errorf("mcast: dial %s from %s: %w", group, source, ErrFamily)
	}
	if ttl < 0 || ttl > 255 {
		return nil, fmt.Errorf("mcast: ttl %d, want 0 to 255", ttl)
	}
	v6 := group.Addr().Is6()
	network := "udp4"
	if v6 {
		network = "udp6"
	}
	// The interface must be set before connect, which picks the route and
	// so the source address; [dialControl] does that where it can.
	d := net.Dialer{Control: dialControl(v6, ifi), LocalAddr: sourceFor(v6, ifi)}
	if source.IsValid() {
		a := source.Unmap()
		if ifi != nil && a.Is6() && a.IsLinkLocalUnicast() {
			a = a.WithZone(ifi.Name)
		}
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
	}
	raddr := udpAddr(group, ifi)
	c, err := d.DialContext(context.Background(), network, raddr.String())
	if err != nil {
		return nil, fmt.Errorf("mcast: dial %s: %w", group, err)
	}
	conn := c.(*net.UDPConn)
	if err := setSendOptions(conn, v6, ifi, ttl); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mcast: dial %s: %w", group, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	s := &Sender{conn: conn, group: group, local: local}
	if v6 {
		s.batch = ipv6.NewPacketConn(conn)
	} else {
		s.batch = ipv4.NewPacketConn(conn)
	}
	return s, nil
}

// sourceFor returns the address a sender on ifi binds to: nil (the kernel
// chooses) for IPv6 or a nil ifi, else ifi's first IPv4 address if it has
// one. Left to itself, Linux picks an address of scope link or wider, which
// for lo (127.0.0.1 has host scope) is another interface's.
func sourceFor(v6 bool, ifi *net.Interface) net.Addr {
	if v6 || ifi == nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip4 := ipn.IP.To4(); ip4 != nil {
				return &net.UDPAddr{IP: ip4}
			}
		}
	}
	return nil
}

func setSendOptions(conn *net.UDPConn, v6 bool, ifi *net.Interface, ttl int) error {
	if v6 {
		p := ipv6.NewPacketConn(conn)
		if ifi != nil {
			if err := p.SetMulticastInterface(ifi); err != nil {
				return fmt.Errorf("set interface %s: %w", ifi.Name, err)
			}
		}
		if err := p.SetMulticastHopLimit(ttl); err != nil {
			return fmt.Errorf("set hop limit %d: %w", ttl, err)
		}
		if err := p.SetMulticastLoopback(true); err != nil {
			return fmt.Errorf("set loopback: %w", err)
		}
		return nil
	}
	p := ipv4.NewPacketConn(conn)
	if ifi != nil {
		if err := p.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("set interface %s: %w", ifi.Name, err)
		}
	}
	if err := p.SetMulticastTTL(ttl); err != nil {
		return fmt.Errorf("set ttl %d: %w", ttl, err)
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		return fmt.Errorf("set loopback: %w", err)
	}
	return nil
}

// Send sends b as one datagram to the group.
func (s *Sender) Send(b []byte) error {
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("mcast: send to %s: %w", s.group, err)
	}
	return nil
}

// WriteBatch sends each of datagrams as one datagram to the group, in
// order, with as few system calls as it can (sendmmsg on Linux, up to
// [WriteBatchSize] datagrams a call; elsewhere one a call). It returns how
// many it sent: len(datagrams), or fewer and an error saying why the next
// was not sent. It does not allocate once the Sender has sent a batch.
func (s *Sender) WriteBatch(datagrams [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := 0
	for sent < len(datagrams) {
		ms := s.msgs[:min(len(datagrams)-sent, len(s.msgs))]
		for i := range ms {
			ms[i].Buffers = datagrams[sent+i : sent+i+1]
		}
		n, err := s.batch.WriteBatch(ms, 0)
		for i := range ms {
			ms[i].Buffers = nil // keep no caller's datagram alive
		}
		sent += max(n, 0)
		if err != nil {
			return sent, fmt.Errorf("mcast: send to %s: datagram %d of %d: %w", s.group, sent+1, len(datagrams), err)
		}
		if n <= 0 { // cannot happen with sendmmsg: no progress and no error
			return sent, fmt.Errorf("mcast: send to %s: datagram %d of %d: nothing sent", s.group, sent+1, len(datagrams))
		}
	}
	return sent, nil
}

// LocalAddr returns the source address and port the datagrams carry.
func (s *Sender) LocalAddr() netip.AddrPort {
	return s.local
}

// Close closes the socket. Sends after Close fail with an error wrapping
// [net.ErrClosed].
func (s *Sender) Close() error {
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("mcast: close sender for %s: %w", s.group, err)
	}
	return nil
}
