package amt

import (
	"bytes"
	"net/netip"
	"testing"
)

// Fuzz targets of every parser of messages a relay sends, seeded with
// messages built as amtrelayd builds them (IGMPv3 query with a Router
// Alert option and QQIC 20, data with a zeroed inner UDP checksum) and
// their MLDv2 and IPv6 counterparts.

var (
	seedSrc4, seedGrp4 = netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("232.1.1.1")
	seedSrc6, seedGrp6 = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("ff3e::8000:1")
	seedMAC            = [macLen]byte{0xfb, 0xf6, 0x21, 0xad, 0xfb, 0xf6}
)

func FuzzParseAdvertisement(f *testing.F) {
	f.Add(advertisementMessage(0x9f1c22e1, netip.MustParseAddr("192.0.2.2")))
	f.Add(advertisementMessage(7, netip.MustParseAddr("2001:db8:ffff::2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAdvertisement(b)
		if err != nil {
			return
		}
		if got := advertisementMessage(a.Nonce, a.Relay); !bytes.Equal(got[4:], b[4:]) {
			t.Errorf("round trip: got % x, want % x", got, b)
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	f.Add(queryMessage(seedMAC, 2669311596, igmpQueryPacket(20)))
	f.Add(queryMessage(seedMAC, 1, mldQueryPacket(125)))
	g := append(queryMessage(seedMAC, 1, igmpQueryPacket(0x8c)), make([]byte, 18)...)
	g[1] = 1 // G flag, the gateway's port and address after the query
	f.Add(g)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuery(b)
		if err != nil {
			return
		}
		if q.Interval < 0 || q.Nonce != uint32(b[8])<<24|uint32(b[9])<<16|uint32(b[10])<<8|uint32(b[11]) {
			t.Errorf("got %+v from % x", q, b)
		}
	})
}

func FuzzParseData(f *testing.F) {
	f.Add(dataMessage(seedSrc4, 40000, seedGrp4, 5001, []byte("frame"), true))
	f.Add(dataMessage(seedSrc4, 40000, seedGrp4, 5001, []byte("frame"), false))
	f.Add(dataMessage(seedSrc6, 40000, seedGrp6, 5001, []byte("frame"), false))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseData(b)
		if err != nil {
			return
		}
		if len(p.Payload) > len(b) || !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
			t.Errorf("got %+v from % x", p, b)
		}
	})
}
