package amt

import (
	"encoding/binary"
	"net/netip"
)

// IP, IGMP and MLD numbers used here.
const (
	protoHopByHop = 0    // IPv6 Hop-by-Hop Options header
	protoIGMP     = 2    // IPv4 protocol of IGMP
	protoUDP      = 17   // UDP
	protoRouting  = 43   // IPv6 Routing header
	protoFragment = 44   // IPv6 Fragment header
	protoICMPv6   = 58   // ICMPv6, which carries MLD
	protoDstOpts  = 60   // IPv6 Destination Options header
	igmpQuery     = 0x11 // IGMP membership query (RFC 3376 §4.1)
	igmpV3Report  = 0x22 // IGMPv3 membership report (RFC 3376 §4.2)
	mldQuery      = 130  // MLD listener query (RFC 3810 §5.1)
	mldV2Report   = 143  // MLDv2 listener report (RFC 3810 §5.2)
	udpHeaderLen  = 8    // UDP header: ports, length, checksum
	ipv4MinHeader = 20   // an IPv4 header without options
	ipv6HeaderLen = 40   // the fixed IPv6 header
)

// Group record types of IGMPv3 and MLDv2 reports (RFC 3376 §4.2.12, RFC
// 3810 §5.2.12).
const (
	recordIsInclude = 1 // MODE_IS_INCLUDE: the answer to a query
	recordBlockOld  = 6 // BLOCK_OLD_SOURCES: a leave of the sources listed
)

// igmpAllRouters and mldAllRouters are where IGMPv3 and MLDv2 reports go.
var (
	igmpAllRouters = netip.AddrFrom4([4]byte{224, 0, 0, 22})
	mldAllRouters  = netip.MustParseAddr("ff02::16")
)

// checksum is the Internet checksum (RFC 1071) of b, starting from sum: 0
// when b holds a valid checksum over itself.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// pseudoSum is the partial sum of an IPv4 or IPv6 pseudo-header.
func pseudoSum(src, dst netip.Addr, proto byte, length int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	sum += uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
	return sum
}

// parseIPv4 checks an IPv4 header at the start of b and returns its
// length, the packet's total length and its protocol. A fragment is
// refused.
func parseIPv4(b []byte) (hl, total int, proto byte, err error) {
	if len(b) < ipv4MinHeader || b[0]>>4 != 4 {
		return 0, 0, 0, malformed("inner ipv4 header")
	}
	hl = int(b[0]&0x0f) * 4
	total = int(binary.BigEndian.Uint16(b[2:4]))
	if hl < ipv4MinHeader || total < hl || total > len(b) {
		return 0, 0, 0, malformed("inner ipv4 lengths: header %d, total %d, have %d", hl, total, len(b))
	}
	if binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 { // MF or an offset
		return 0, 0, 0, ErrNotUDP
	}
	return hl, total, b[9], nil
}

// parseIPv6 checks an IPv6 header at the start of b, skips the extension
// headers a multicast packet may carry, and returns where the upper-layer
// header starts, the packet's total length and the upper-layer protocol. A
// fragment is refused.
func parseIPv6(b []byte) (off, total int, next byte, err error) {
	if len(b) < ipv6HeaderLen || b[0]>>4 != 6 {
		return 0, 0, 0, malformed("inner ipv6 header")
	}
	total = ipv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total > len(b) {
		return 0, 0, 0, malformed("inner ipv6 payload length %d, have %d", total-ipv6HeaderLen, len(b)-ipv6HeaderLen)
	}
	next, off = b[6], ipv6HeaderLen
	for i := 0; i < 8; i++ { // a bounded chain of extension headers
		switch next {
		case protoHopByHop, protoDstOpts, protoRouting:
			if off+8 > total {
				return 0, 0, 0, malformed("inner ipv6 extension header")
			}
			next, off = b[off], off+8*(1+int(b[off+1]))
			if off > total {
				return 0, 0, 0, malformed("inner ipv6 extension header length")
			}
		case protoFragment:
			return 0, 0, 0, ErrNotUDP
		default:
			return off, total, next, nil
		}
	}
	return 0, 0, 0, malformed("inner ipv6 extension headers: too many")
}

// A Packet is the UDP datagram a Multicast Data message carries.
type Packet struct {
	Src, Dst         netip.Addr // inner source and destination (the group)
	SrcPort, DstPort uint16
	// Payload is the UDP payload, a slice of the message.
	Payload []byte
}

// ParseData parses a Multicast Data message (RFC 7450 §5.1.6): the IPv4 or
// IPv6 packet it carries must be one whole UDP datagram, whose checksum is
// valid or zero (relays often zero it: the AMT tunnel's own UDP checksum
// covers the packet).
func ParseData(b []byte) (Packet, error) {
	if len(b) < dataHeaderLen+1 || b[0] != TypeData {
		return Packet{}, malformed("not multicast data")
	}
	ip := b[dataHeaderLen:]
	var (
		p          Packet
		off, total int
		proto      byte
		err        error
	)
	switch ip[0] >> 4 {
	case 4:
		off, total, proto, err = parseIPv4(ip)
		if err == nil {
			p.Src, p.Dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		}
	case 6:
		off, total, proto, err = parseIPv6(ip)
		if err == nil {
			p.Src, p.Dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		}
	default:
		err = malformed("multicast data carries ip version %d", ip[0]>>4)
	}
	if err != nil {
		return Packet{}, err
	}
	if proto != protoUDP {
		return Packet{}, ErrNotUDP
	}
	udp := ip[off:total]
	if len(udp) < udpHeaderLen {
		return Packet{}, malformed("inner udp header")
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < udpHeaderLen || ulen > len(udp) {
		return Packet{}, malformed("inner udp length %d, have %d", ulen, len(udp))
	}
	udp = udp[:ulen]
	if binary.BigEndian.Uint16(udp[6:8]) != 0 && checksum(udp, pseudoSum(p.Src, p.Dst, protoUDP, ulen)) != 0 {
		return Packet{}, ErrChecksum
	}
	p.SrcPort, p.DstPort = binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	p.Payload = udp[udpHeaderLen:]
	return p, nil
}

// appendReport appends a whole IP packet carrying a membership report to
// b: an IGMPv3 report in IPv4 for an IPv4 group, an MLDv2 report in IPv6
// for an IPv6 one. It holds one group record of recordType for group with
// sources. The IP source is the unspecified address: a relay takes the
// gateway's identity from the tunnel, not from the report.
func appendReport(b []byte, recordType byte, group netip.Addr, sources []netip.Addr) []byte {
	if group.Is4() {
		return appendIGMPReport(b, recordType, group, sources)
	}
	return appendMLDReport(b, recordType, group, sources)
}

// ipv4RouterAlert is the IPv4 Router Alert option (RFC 2113) IGMPv3
// reports carry.
var ipv4RouterAlert = [4]byte{0x94, 0x04, 0, 0}

func appendIGMPReport(b []byte, recordType byte, group netip.Addr, sources []netip.Addr) []byte {
	const hl = ipv4MinHeader + len(ipv4RouterAlert)
	igmpLen := 8 + 8 + 4*len(sources)
	start := len(b)
	b = append(b, byte(0x40|hl/4), 0xc0) // version, IHL; DSCP CS6 (internetwork control)
	b = binary.BigEndian.AppendUint16(b, uint16(hl+igmpLen))
	b = append(b, 0, 0, 0, 0, 1, protoIGMP, 0, 0) // id, no fragment, TTL 1, IGMP, checksum
	b = append(b, 0, 0, 0, 0)                     // source 0.0.0.0
	dst := igmpAllRouters.As4()
	b = append(b, dst[:]...)
	b = append(b, ipv4RouterAlert[:]...)
	binary.BigEndian.PutUint16(b[start+10:], checksum(b[start:start+hl], 0))
	igmp := len(b)
	b = append(b, igmpV3Report, 0, 0, 0, 0, 0, 0, 1) // type, reserved, checksum, reserved, 1 record
	b = appendGroupRecord(b, recordType, group, sources, false)
	binary.BigEndian.PutUint16(b[igmp+2:], checksum(b[igmp:], 0))
	return b
}

// appendGroupRecord appends one group record with no auxiliary data, of
// an IGMPv3 report (RFC 3376 §4.2.4: 4-byte addresses) or, with v6, of an
// MLDv2 report (RFC 3810 §5.2.4: 16-byte addresses): its type, the
// number of sources, the group and the sources.
func appendGroupRecord(b []byte, recordType byte, group netip.Addr, sources []netip.Addr, v6 bool) []byte {
	b = append(b, recordType, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sources)))
	for _, a := range append([]netip.Addr{group}, sources...) {
		if v6 {
			x := a.As16()
			b = append(b, x[:]...)
		} else {
			x := a.As4()
			b = append(b, x[:]...)
		}
	}
	return b
}

// ipv6HopByHopRouterAlert is the Hop-by-Hop Options header MLDv2 reports
// carry: next header ICMPv6, length 0 (8 bytes), the Router Alert option
// for MLD (RFC 2711) and a 2-byte PadN.
var ipv6HopByHopRouterAlert = [8]byte{protoICMPv6, 0, 0x05, 0x02, 0, 0, 0x01, 0}

func appendMLDReport(b []byte, recordType byte, group netip.Addr, sources []netip.Addr) []byte {
	mldLen := 8 + 4 + 16 + 16*len(sources)
	b = append(b, 0x60, 0, 0, 0) // version 6, no traffic class or flow label
	b = binary.BigEndian.AppendUint16(b, uint16(len(ipv6HopByHopRouterAlert)+mldLen))
	b = append(b, protoHopByHop, 1) // then Hop-by-Hop options; hop limit 1
	var src [16]byte                // the unspecified address
	b = append(b, src[:]...)
	dst := mldAllRouters.As16()
	b = append(b, dst[:]...)
	b = append(b, ipv6HopByHopRouterAlert[:]...)
	mld := len(b)
	b = append(b, mldV2Report, 0, 0, 0, 0, 0, 0, 1) // type, code, checksum, reserved, 1 record
	b = appendGroupRecord(b, recordType, group, sources, true)
	sum := pseudoSum(netip.IPv6Unspecified(), mldAllRouters, protoICMPv6, len(b)-mld)
	binary.BigEndian.PutUint16(b[mld+2:], checksum(b[mld:], sum))
	return b
}
