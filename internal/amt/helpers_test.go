package amt

import (
	"encoding/binary"
	"net/netip"
)

// Builders of the messages a relay sends, for tests and fuzz seeds.

// igmpQueryPacket is an IPv4 packet with an IGMPv3 general query of qqic,
// as amtrelayd sends it.
func igmpQueryPacket(qqic byte) []byte {
	b := []byte{0x46, 0xc0, 0, 0, 0, 0, 0, 0, 1, protoIGMP, 0, 0, 192, 0, 2, 2, 224, 0, 0, 1, 0x94, 4, 0, 0}
	igmp := []byte{igmpQuery, 100, 0, 0, 0, 0, 0, 0, 2, qqic, 0, 0}
	binary.BigEndian.PutUint16(igmp[2:], checksum(igmp, 0))
	b = append(b, igmp...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[10:], checksum(b[:24], 0))
	return b
}

// mldQueryPacket is an IPv6 packet with an MLDv2 general query of qqic.
func mldQueryPacket(qqic byte) []byte {
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")
	b := []byte{0x60, 0, 0, 0, 0, 0, protoHopByHop, 1}
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = append(b, ipv6HopByHopRouterAlert[:]...)
	mld := make([]byte, 28)
	mld[0], mld[5], mld[24], mld[25] = mldQuery, 100, 2, qqic
	binary.BigEndian.PutUint16(mld[2:], checksum(mld, pseudoSum(src, dst, protoICMPv6, len(mld))))
	b = append(b, mld...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)-ipv6HeaderLen))
	return b
}

// queryMessage is a Membership Query carrying packet.
func queryMessage(mac [macLen]byte, nonce uint32, packet []byte) []byte {
	b := append([]byte{TypeQuery, 0}, mac[:]...)
	b = binary.BigEndian.AppendUint32(b, nonce)
	return append(b, packet...)
}

// advertisementMessage is a Relay Advertisement of relay.
func advertisementMessage(nonce uint32, relay netip.Addr) []byte {
	b := binary.BigEndian.AppendUint32([]byte{TypeAdvertisement, 0, 0, 0}, nonce)
	return append(b, relay.AsSlice()...)
}

// dataMessage is Multicast Data carrying payload from src:sport to
// dst:dport, with a UDP checksum unless zeroSum.
func dataMessage(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte, zeroSum bool) []byte {
	udp := binary.BigEndian.AppendUint16(nil, sport)
	udp = binary.BigEndian.AppendUint16(udp, dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(udpHeaderLen+len(payload)))
	udp = append(udp, 0, 0)
	udp = append(udp, payload...)
	if !zeroSum {
		sum := checksum(udp, pseudoSum(src, dst, protoUDP, len(udp)))
		if sum == 0 {
			sum = 0xffff
		}
		binary.BigEndian.PutUint16(udp[6:], sum)
	}
	b := []byte{TypeData, 0}
	if src.Is4() {
		ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protoUDP, 0, 0}
		ip = append(ip, src.AsSlice()...)
		ip = append(ip, dst.AsSlice()...)
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(udp)))
		binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
		b = append(b, ip...)
	} else {
		ip := []byte{0x60, 0, 0, 0, 0, 0, protoUDP, 64}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(udp)))
		ip = append(ip, src.AsSlice()...)
		ip = append(ip, dst.AsSlice()...)
		b = append(b, ip...)
	}
	return append(b, udp...)
}

// parsedUpdate is a Membership Update as a relay reads it.
type parsedUpdate struct {
	mac     [macLen]byte
	nonce   uint32
	record  byte
	group   netip.Addr
	sources []netip.Addr
}

// parseUpdate parses a Membership Update as strictly as amtrelayd does:
// the inner IPv4 total length (or IPv6 payload length) must be the rest
// of the message, and the IGMP or ICMPv6 checksum valid. It expects one
// group record.
func parseUpdate(b []byte) (parsedUpdate, bool) {
	if len(b) < updateHeaderLen+1 || b[0] != TypeUpdate {
		return parsedUpdate{}, false
	}
	var u parsedUpdate
	copy(u.mac[:], b[2:8])
	u.nonce = binary.BigEndian.Uint32(b[8:12])
	ip := b[updateHeaderLen:]
	var rep []byte
	alen := 4
	switch ip[0] >> 4 {
	case 4:
		hl, total, proto, err := parseIPv4(ip)
		if err != nil || total != len(ip) || proto != protoIGMP || checksum(ip[:hl], 0) != 0 {
			return parsedUpdate{}, false
		}
		rep = ip[hl:]
		if len(rep) < 8 || rep[0] != igmpV3Report || checksum(rep, 0) != 0 {
			return parsedUpdate{}, false
		}
	case 6:
		off, total, next, err := parseIPv6(ip)
		if err != nil || total != len(ip) || next != protoICMPv6 {
			return parsedUpdate{}, false
		}
		rep = ip[off:]
		src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		if len(rep) < 8 || rep[0] != mldV2Report || checksum(rep, pseudoSum(src, dst, protoICMPv6, len(rep))) != 0 {
			return parsedUpdate{}, false
		}
		alen = 16
	default:
		return parsedUpdate{}, false
	}
	if binary.BigEndian.Uint16(rep[6:8]) != 1 || len(rep) < 8+4+alen {
		return parsedUpdate{}, false
	}
	r := rep[8:]
	u.record = r[0]
	n := int(binary.BigEndian.Uint16(r[2:4]))
	if len(r) != 4+alen*(1+n) {
		return parsedUpdate{}, false
	}
	u.group, _ = netip.AddrFromSlice(r[4 : 4+alen])
	for i := range n {
		a, _ := netip.AddrFromSlice(r[4+alen*(1+i) : 4+alen*(2+i)])
		u.sources = append(u.sources, a)
	}
	return u, true
}
