// Package driad finds the AMT relays of a multicast source by DNS Reverse
// IP AMT Discovery (RFC 8777): the AMTRELAY records (type 260) in the
// reverse zone of the source's address. It asks a given DNS server; it
// never logs.
package driad

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// AnycastIPv4 and AnycastIPv6 are the AMT relay discovery addresses (RFC
// 7450 §7; 192.52.193.0/24 and 2001:3::/32, RFC 7761's successor
// assignments): where a gateway with no configured relay sends Relay
// Discovery.
var (
	AnycastIPv4 = netip.MustParseAddr("192.52.193.1")
	AnycastIPv6 = netip.MustParseAddr("2001:3::")
)

// ErrNoRelay is a source whose reverse zone publishes no usable AMTRELAY
// record.
var ErrNoRelay = errors.New("driad: no amt relay published")

// A Relay is one AMTRELAY record.
type Relay struct {
	// Precedence orders the relays: lower first (RFC 8777 §4.2.1).
	Precedence uint8
	// DiscoveryOptional is the D bit: the gateway may skip Relay
	// Discovery and send its Request straight to the relay.
	DiscoveryOptional bool
	// Addr is the relay's address: from the record (types 1 and 2) or
	// the name's A and AAAA records (type 3).
	Addr netip.Addr
	// Name is the relay's domain name, for type 3; empty otherwise.
	Name string
}

// Resolver asks one DNS server, over UDP with a TCP retry on truncation.
// Its zero value is not usable; it is safe for concurrent use.
type Resolver struct {
	// Server is the DNS server's address and port.
	Server netip.AddrPort
}

// Lookup returns the relays published for source, in the order a gateway
// should try them: by precedence, those of equal precedence shuffled
// (RFC 8777 §4.2.1). A record of type 3 is resolved to each of its
// name's addresses. It returns an error wrapping [ErrNoRelay] when there
// is no record, or only type 0 ones (no relay).
func (r Resolver) Lookup(ctx context.Context, source netip.Addr) ([]Relay, error) {
	name, err := dns.ReverseAddr(source.Unmap().String())
	if err != nil {
		return nil, fmt.Errorf("driad: reverse name of %s: %w", source, err)
	}
	records, err := r.askRelays(ctx, name)
	if err != nil {
		return nil, err
	}
	var relays []Relay
	for _, rel := range records {
		if rel.Name == "" {
			relays = append(relays, rel)
			continue
		}
		addrs, err := r.addrs(ctx, rel.Name)
		if err != nil {
			continue // try the others; none left is ErrNoRelay
		}
		for _, addr := range addrs {
			rel.Addr = addr
			relays = append(relays, rel)
		}
	}
	if len(relays) == 0 {
		return nil, fmt.Errorf("%w for %s at %s", ErrNoRelay, source, name)
	}
	rand.Shuffle(len(relays), func(i, j int) { relays[i], relays[j] = relays[j], relays[i] })
	slices.SortStableFunc(relays, func(a, b Relay) int { return int(a.Precedence) - int(b.Precedence) })
	return relays, nil
}

// askRelays asks for name's AMTRELAY records and decodes them itself:
// github.com/miekg/dns (v1.1.73) decodes the relay field by the type byte
// with the D bit still in it, and so loses the relay of every record with
// D set. Records of type 0 (no relay) and of unknown types are left out.
func (r Resolver) askRelays(ctx context.Context, name string) ([]Relay, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeAMTRELAY)
	m.SetEdns0(1232, false)
	q, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("driad: ask for %s AMTRELAY: %w", name, err)
	}
	msg, err := r.exchangeRaw(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("driad: ask %s for %s AMTRELAY: %w", r.Server, name, err)
	}
	rcode := int(msg[3] & 0x0f)
	if binary.BigEndian.Uint16(msg[0:2]) != m.Id || msg[2]&0x80 == 0 {
		return nil, fmt.Errorf("driad: answer from %s does not match the question", r.Server)
	}
	if rcode == dns.RcodeNameError {
		return nil, nil
	}
	if rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("driad: ask %s for %s AMTRELAY: %s", r.Server, name, dns.RcodeToString[rcode])
	}
	return parseRelays(msg)
}

// exchangeRaw sends the packed query q to the server over UDP and returns
// the raw answer, retrying over TCP when it is truncated.
func (r Resolver) exchangeRaw(ctx context.Context, q []byte) ([]byte, error) {
	for _, network := range []string{"udp", "tcp"} {
		co, err := (&dns.Client{Net: network}).DialContext(ctx, r.Server.String())
		if err != nil {
			return nil, err
		}
		if d, ok := ctx.Deadline(); ok {
			_ = co.SetDeadline(d)
		} else {
			_ = co.SetDeadline(time.Now().Add(5 * time.Second))
		}
		_, err = co.Write(q)
		buf := make([]byte, 65535)
		n := 0
		if err == nil {
			n, err = co.Read(buf)
		}
		co.Close()
		if err != nil {
			return nil, err
		}
		if n < 12 {
			return nil, errors.New("short answer")
		}
		if buf[2]&0x02 == 0 || network == "tcp" { // TC clear
			return buf[:n], nil
		}
	}
	panic("unreachable")
}

// parseRelays decodes the AMTRELAY records (RFC 8777 §4.2) of the answer
// section of msg.
func parseRelays(msg []byte) ([]Relay, error) {
	bad := errors.New("driad: malformed answer")
	qd, an := binary.BigEndian.Uint16(msg[4:6]), binary.BigEndian.Uint16(msg[6:8])
	off := 12
	for range qd {
		_, o, err := dns.UnpackDomainName(msg, off)
		if err != nil || o+4 > len(msg) {
			return nil, bad
		}
		off = o + 4
	}
	var relays []Relay
	for range an {
		_, o, err := dns.UnpackDomainName(msg, off)
		if err != nil || o+10 > len(msg) {
			return nil, bad
		}
		typ, rdlen := binary.BigEndian.Uint16(msg[o:o+2]), int(binary.BigEndian.Uint16(msg[o+8:o+10]))
		rd := o + 10
		off = rd + rdlen
		if off > len(msg) {
			return nil, bad
		}
		if typ != dns.TypeAMTRELAY || rdlen < 2 {
			continue
		}
		rel := Relay{Precedence: msg[rd], DiscoveryOptional: msg[rd+1]&0x80 != 0}
		field := msg[rd+2 : off]
		switch msg[rd+1] & 0x7f {
		case dns.AMTRELAYIPv4:
			if len(field) != 4 {
				return nil, bad
			}
			rel.Addr = netip.AddrFrom4([4]byte(field))
		case dns.AMTRELAYIPv6:
			if len(field) != 16 {
				return nil, bad
			}
			rel.Addr = netip.AddrFrom16([16]byte(field)).Unmap()
		case dns.AMTRELAYHost:
			// Uncompressed (RFC 8777 §4.2.3), so msg[:off] suffices.
			host, end, err := dns.UnpackDomainName(msg[:off], rd+2)
			if err != nil || end != off {
				return nil, bad
			}
			rel.Name = host
		default: // 0: no relay; others unknown
			continue
		}
		relays = append(relays, rel)
	}
	return relays, nil
}

// addrs resolves a relay's name to its IPv4 and IPv6 addresses.
func (r Resolver) addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	var firstErr error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		answer, err := r.ask(ctx, name, t)
		if err != nil {
			firstErr = err
			continue
		}
		for _, rr := range answer {
			switch rr := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(rr.A); ok {
					out = append(out, a.Unmap())
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(rr.AAAA); ok {
					out = append(out, a)
				}
			}
		}
	}
	if len(out) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("driad: relay name %s has no address", name)
		}
		return nil, firstErr
	}
	return out, nil
}

// ask asks the server for name's records of type t; a name that does not
// exist has none.
func (r Resolver) ask(ctx context.Context, name string, t uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.SetEdns0(1232, false)
	server := r.Server.String()
	in, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		in, _, err = (&dns.Client{Net: "tcp"}).ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, fmt.Errorf("driad: ask %s for %s %s: %w", server, name, dns.TypeToString[t], err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return in.Answer, nil
	}
	return nil, fmt.Errorf("driad: ask %s for %s %s: %s", server, name, dns.TypeToString[t], dns.RcodeToString[in.Rcode])
}

// SystemServer returns the first name server of the resolver
// configuration file at path (/etc/resolv.conf).
func SystemServer(path string) (netip.AddrPort, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("driad: read %s: %w", path, err)
	}
	if len(cfg.Servers) == 0 {
		return netip.AddrPort{}, fmt.Errorf("driad: %s names no name server", path)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(cfg.Servers[0], cfg.Port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("driad: %s: name server %q: %w", path, cfg.Servers[0], err)
	}
	return ap, nil
}

// Anycast returns the AMT anycast discovery address of the family of
// addr: [AnycastIPv4] for IPv4, [AnycastIPv6] for IPv6.
func Anycast(addr netip.Addr) netip.Addr {
	if addr.Unmap().Is4() {
		return AnycastIPv4
	}
	return AnycastIPv6
}
