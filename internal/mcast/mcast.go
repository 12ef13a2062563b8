package mcast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// ReadBufferSize is the size of the buffer callers should pass to
// [Receiver.Read]: no UDP payload is longer (IPv4 limits it to 65507
// bytes, IPv6 without jumbograms to 65527).
const ReadBufferSize = 65535

var (
	// ErrNotSSM reports a group outside the source-specific multicast
	// ranges 232.0.0.0/8 and ff3x::/32.
	ErrNotSSM = errors.New("not a source-specific multicast group (232.0.0.0/8 or ff3x::/32)")

	// ErrFamily reports a source address whose family (IPv4 or IPv6)
	// differs from the group's.
	ErrFamily = errors.New("address family differs from the group's")

	// ErrNotUnicast reports a source address that is not a unicast
	// address (unspecified or multicast): no producer sends from it.
	ErrNotUnicast = errors.New("not a unicast address")

	// ErrNoSources reports a join, or a resolution, without any source.
	ErrNoSources = errors.New("no source addresses")

	// ErrUnknownInterface reports an interface specification that names no
	// interface of this host and is no address assigned to one.
	ErrUnknownInterface = errors.New("no such interface or address on this host")

	// ErrTruncated reports a datagram longer than the buffer passed to
	// [Receiver.Read]; the returned bytes are its beginning only.
	ErrTruncated = errors.New("datagram truncated: buffer too small")
)

// IsSSM reports whether group is a source-specific multicast address:
// IPv4 232.0.0.0/8 or IPv6 ff3x::/32 for any scope x. The zone is ignored;
// an IPv4-mapped IPv6 address is not SSM (unmap it first).
func IsSSM(group netip.Addr) bool {
	switch {
	case group.Is4():
		return group.As4()[0] == 232
	case group.Is6() && !group.Is4In6():
		a := group.As16()
		return a[0] == 0xff && a[1]&0xf0 == 0x30 && a[2] == 0 && a[3] == 0
	}
	return false
}

// ResolveInterface returns the interface spec designates: nil and no error
// for "" (the kernel chooses by routing), else the interface named spec, else
// the interface that has the address spec (IPv4 or IPv6; an IPv6 zone must
// match the interface's name). Anything else is an error wrapping
// [ErrUnknownInterface].
func ResolveInterface(spec string) (*net.Interface, error) {
	if spec == "" {
		return nil, nil
	}
	if ifi, err := net.InterfaceByName(spec); err == nil {
		return ifi, nil
	}
	addr, err := netip.ParseAddr(spec)
	if err != nil {
		return nil, fmt.Errorf("mcast: interface %q: %w", spec, ErrUnknownInterface)
	}
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mcast: interface %q: listing interfaces: %w", spec, err)
	}
	want := addr.Unmap().WithZone("")
	for i := range ifis {
		ifi := &ifis[i]
		if addr.Zone() != "" && addr.Zone() != ifi.Name {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if got, ok := netip.AddrFromSlice(ipn.IP); ok && got.Unmap() == want {
				return ifi, nil
			}
		}
	}
	return nil, fmt.Errorf("mcast: interface %q: %w", spec, ErrUnknownInterface)
}

// ResolveSources turns hosts, each a literal address or a name, into the
// source addresses to join for group: names are looked up with
// [net.DefaultResolver] and only addresses of the group's family are kept.
// A host that yields no such address, or a literal of the other family, is
// an error naming it. The result has no duplicates and no zones, in the order
// first seen. An empty hosts is an error wrapping [ErrNoSources].
func ResolveSources(ctx context.Context, hosts []string, group netip.Addr) ([]netip.Addr, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("mcast: resolve sources: %w", ErrNoSources)
	}
	network := "ip4"
	if group.Is6() && !group.Is4In6() {
		network = "ip6"
	}
	var out []netip.Addr
	seen := make(map[netip.Addr]bool)
	add := func(a netip.Addr) {
		a = a.Unmap().WithZone("")
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			if !sameFamily(a, group) {
				return nil, fmt.Errorf("mcast: source %q for group %s: %w", h, group, ErrFamily)
			}
			add(a)
			continue
		}
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, h)
		if err != nil {
			return nil, fmt.Errorf("mcast: source %q: %w", h, err)
		}
		n := 0
		for _, a := range addrs {
			if sameFamily(a, group) {
				add(a)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("mcast: source %q has no %s address", h, familyName(group))
		}
	}
	return out, nil
}

// sameFamily reports whether a and b are both IPv4 (IPv4-mapped counts as
// IPv4) or both IPv6.
func sameFamily(a, b netip.Addr) bool {
	return a.Unmap().Is4() == b.Unmap().Is4()
}

func familyName(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// checkGroup validates a group address and port for [Dial] and [JoinSSM].
func checkGroup(group netip.AddrPort) error {
	if !IsSSM(group.Addr()) {
		return fmt.Errorf("mcast: group %s: %w", group.Addr(), ErrNotSSM)
	}
	if group.Port() == 0 {
		return fmt.Errorf("mcast: group %s: port 0, want 1 to 65535", group.Addr())
	}
	return nil
}

// udpAddr returns group as a *net.UDPAddr, with ifi's name as zone when the
// group's scope is link- or interface-local and so needs one.
func udpAddr(group netip.AddrPort, ifi *net.Interface) *net.UDPAddr {
	a := group.Addr().WithZone("")
	if ifi != nil && (a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()) {
		a = a.WithZone(ifi.Name)
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, group.Port()))
}
