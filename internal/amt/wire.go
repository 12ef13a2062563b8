package amt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Port is the UDP port of AMT relays (RFC 7450 §7): relays listen on it for
// Relay Discovery and Request messages.
const Port = 2268

// Message types (RFC 7450 §5.1), in the low four bits of a message's first
// byte; the high four are the version, 0.
const (
	TypeDiscovery     = 1 // Relay Discovery, gateway to discovery address
	TypeAdvertisement = 2 // Relay Advertisement, relay to gateway
	TypeRequest       = 3 // Request, gateway to relay
	TypeQuery         = 4 // Membership Query, relay to gateway
	TypeUpdate        = 5 // Membership Update, gateway to relay
	TypeData          = 6 // Multicast Data, relay to gateway
	TypeTeardown      = 7 // Teardown, gateway to relay
)

// Wire sizes.
const (
	// macLen is the length of a Response MAC: 48 bits (RFC 7450 §5.1.4).
	macLen = 6
	// discoveryLen is a Relay Discovery's length: type, 3 reserved bytes
	// and the 4-byte nonce.
	discoveryLen = 8
	// requestLen is a Request's length: type, the P flag's byte, 2
	// reserved bytes and the 4-byte nonce.
	requestLen = 8
	// updateHeaderLen is what a Membership Update holds before its
	// encapsulated report: type, a reserved byte, the MAC and the nonce.
	updateHeaderLen = 2 + macLen + 4
	// queryHeaderLen is what a Membership Query holds before its
	// encapsulated general query: type, the L and G flags' byte, the MAC
	// and the nonce.
	queryHeaderLen = 2 + macLen + 4
	// teardownLen is a Teardown's length: type, a reserved byte, the MAC,
	// the nonce, the gateway's port and its address as 16 bytes.
	teardownLen = 2 + macLen + 4 + 2 + 16
	// dataHeaderLen is what a Multicast Data message holds before its IP
	// packet: type and a reserved byte.
	dataHeaderLen = 2
)

// Errors of the parsers; each parser's error wraps one of them.
var (
	// ErrMalformed is a message too short, of another version or type
	// than expected, or whose encapsulated packet does not parse.
	ErrMalformed = errors.New("amt: malformed message")
	// ErrNotUDP is Multicast Data whose inner packet is not one whole UDP
	// datagram (another protocol, or a fragment).
	ErrNotUDP = errors.New("amt: multicast data is not a whole udp datagram")
	// ErrChecksum is Multicast Data whose inner UDP checksum is wrong.
	ErrChecksum = errors.New("amt: bad inner udp checksum")
)

func malformed(what string, args ...any) error {
	return fmt.Errorf("%w: "+what, append([]any{ErrMalformed}, args...)...)
}

// appendDiscovery appends a Relay Discovery with nonce to b.
func appendDiscovery(b []byte, nonce uint32) []byte {
	b = append(b, TypeDiscovery, 0, 0, 0)
	return binary.BigEndian.AppendUint32(b, nonce)
}

// appendRequest appends a Request with nonce to b; v6 sets the P flag,
// asking for an MLDv2 query (IPv6 data) rather than an IGMPv3 one.
func appendRequest(b []byte, nonce uint32, v6 bool) []byte {
	var p byte
	if v6 {
		p = 1
	}
	b = append(b, TypeRequest, p, 0, 0)
	return binary.BigEndian.AppendUint32(b, nonce)
}

// appendUpdate appends a Membership Update echoing mac and nonce and
// carrying report, a whole IGMPv3 or MLDv2 packet, to b.
func appendUpdate(b []byte, mac [macLen]byte, nonce uint32, report []byte) []byte {
	b = append(b, TypeUpdate, 0)
	b = append(b, mac[:]...)
	b = binary.BigEndian.AppendUint32(b, nonce)
	return append(b, report...)
}

// appendTeardown appends a Teardown of the membership made with mac and
// nonce from gw, the gateway's address and port as the relay saw them.
func appendTeardown(b []byte, mac [macLen]byte, nonce uint32, gw netip.AddrPort) []byte {
	b = append(b, TypeTeardown, 0)
	b = append(b, mac[:]...)
	b = binary.BigEndian.AppendUint32(b, nonce)
	b = binary.BigEndian.AppendUint16(b, gw.Port())
	a := gw.Addr().As16() // an IPv4 address as IPv4-mapped IPv6
	return append(b, a[:]...)
}

// An Advertisement is a Relay Advertisement (RFC 7450 §5.1.2).
type Advertisement struct {
	Nonce uint32     // the Relay Discovery's nonce, echoed
	Relay netip.Addr // where Requests go
}

// ParseAdvertisement parses a Relay Advertisement.
func ParseAdvertisement(b []byte) (Advertisement, error) {
	if len(b) < 8 || b[0] != TypeAdvertisement {
		return Advertisement{}, malformed("not a relay advertisement")
	}
	a := Advertisement{Nonce: binary.BigEndian.Uint32(b[4:8])}
	switch len(b) - 8 {
	case 4:
		a.Relay = netip.AddrFrom4([4]byte(b[8:12]))
	case 16:
		a.Relay = netip.AddrFrom16([16]byte(b[8:24]))
	default:
		return Advertisement{}, malformed("relay advertisement of %d bytes", len(b))
	}
	if !a.Relay.IsGlobalUnicast() && !a.Relay.IsLoopback() && !a.Relay.IsPrivate() {
		return Advertisement{}, malformed("relay advertisement names %s", a.Relay)
	}
	return a, nil
}

// A Query is a Membership Query (RFC 7450 §5.1.4).
type Query struct {
	MAC   [macLen]byte // the Response MAC, echoed in the Update
	Nonce uint32       // the Request's nonce, echoed
	// Limited is the L flag: the relay takes no more members.
	Limited bool
	// Interval is the query interval of the encapsulated general query
	// (its QQIC): how often the gateway sends a new Request.
	Interval time.Duration
	// V6 says the encapsulated query is MLDv2 rather than IGMPv3.
	V6 bool
	// Gateway is the gateway's address and port as the relay saw them,
	// when the G flag is set; the zero value otherwise.
	Gateway netip.AddrPort
}

// ParseQuery parses a Membership Query and the IGMPv3 or MLDv2 general
// query it carries.
func ParseQuery(b []byte) (Query, error) {
	if len(b) < queryHeaderLen || b[0] != TypeQuery {
		return Query{}, malformed("not a membership query")
	}
	q := Query{Limited: b[1]&0x02 != 0, Nonce: binary.BigEndian.Uint32(b[8:12])}
	copy(q.MAC[:], b[2:8])
	inner := b[queryHeaderLen:]
	if len(inner) == 0 {
		return Query{}, malformed("membership query without a general query")
	}
	var (
		n    int // the encapsulated packet's length
		qqic byte
		err  error
	)
	switch inner[0] >> 4 {
	case 4:
		n, qqic, err = parseIGMPQuery(inner)
	case 6:
		q.V6 = true
		n, qqic, err = parseMLDQuery(inner)
	default:
		err = malformed("membership query carries ip version %d", inner[0]>>4)
	}
	if err != nil {
		return Query{}, err
	}
	q.Interval = time.Duration(decodeCode(qqic)) * time.Second
	rest := inner[n:]
	if b[1]&0x01 != 0 { // G: the gateway's port and address follow
		if len(rest) != 18 {
			return Query{}, malformed("membership query with %d bytes after its general query, want 18", len(rest))
		}
		a := netip.AddrFrom16([16]byte(rest[2:18])).Unmap()
		q.Gateway = netip.AddrPortFrom(a, binary.BigEndian.Uint16(rest[0:2]))
	} else if len(rest) != 0 {
		return Query{}, malformed("membership query with %d bytes after its general query", len(rest))
	}
	return q, nil
}

// decodeCode decodes an IGMPv3 QQIC or Max Resp Code (RFC 3376 §4.1.7): a
// value below 128 as it is, above as a floating point number.
func decodeCode(c byte) int {
	if c < 128 {
		return int(c)
	}
	return int(c&0x0f|0x10) << ((c>>4)&0x07 + 3)
}

// parseIGMPQuery parses an IPv4 packet holding an IGMPv3 membership query,
// returning the packet's length and its QQIC.
func parseIGMPQuery(b []byte) (n int, qqic byte, err error) {
	hl, total, proto, err := parseIPv4(b)
	if err != nil {
		return 0, 0, err
	}
	if proto != protoIGMP {
		return 0, 0, malformed("membership query carries ip protocol %d, not igmp", proto)
	}
	igmp := b[hl:total]
	if len(igmp) < 12 || igmp[0] != igmpQuery {
		return 0, 0, malformed("membership query carries no igmpv3 query")
	}
	if checksum(igmp, 0) != 0 {
		return 0, 0, malformed("igmp query checksum")
	}
	return total, igmp[9], nil
}

// parseMLDQuery parses an IPv6 packet holding an MLDv2 listener query,
// returning the packet's length and its QQIC.
func parseMLDQuery(b []byte) (n int, qqic byte, err error) {
	off, total, next, err := parseIPv6(b)
	if err != nil {
		return 0, 0, err
	}
	if next != protoICMPv6 {
		return 0, 0, malformed("membership query carries ip protocol %d, not icmpv6", next)
	}
	mld := b[off:total]
	if len(mld) < 28 || mld[0] != mldQuery {
		return 0, 0, malformed("membership query carries no mldv2 query")
	}
	return total, mld[25], nil
}
