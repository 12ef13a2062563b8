package amt

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(queryMessage(seedMAC, 42, igmpQueryPacket(20)))
	if err != nil || q.MAC != seedMAC || q.Nonce != 42 || q.Interval != 20*time.Second || q.V6 || q.Gateway.IsValid() {
		t.Errorf("got %+v, %v; want MAC, nonce 42, 20 s, IGMPv3", q, err)
	}
	q, err = ParseQuery(queryMessage(seedMAC, 42, mldQueryPacket(0x8c))) // 0x8c: (0xc|0x10)<<(0+3) = 224 s
	if err != nil || !q.V6 || q.Interval != 224*time.Second {
		t.Errorf("got %+v, %v; want MLDv2, 224 s", q, err)
	}
	bad := queryMessage(seedMAC, 42, igmpQueryPacket(20))
	bad[len(bad)-1] ^= 1 // the IGMP checksum
	if _, err := ParseQuery(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad igmp checksum: got %v, want ErrMalformed", err)
	}
	if _, err := ParseQuery(queryMessage(seedMAC, 42, igmpQueryPacket(20))[:20]); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: got %v, want ErrMalformed", err)
	}
}

func TestParseData(t *testing.T) {
	for _, zero := range []bool{true, false} {
		p, err := ParseData(dataMessage(seedSrc4, 4000, seedGrp4, 5001, []byte("abc"), zero))
		if err != nil || p.Src != seedSrc4 || p.Dst != seedGrp4 || p.SrcPort != 4000 || p.DstPort != 5001 || string(p.Payload) != "abc" {
			t.Errorf("zero checksum %v: got %+v, %v", zero, p, err)
		}
	}
	frag := dataMessage(seedSrc4, 4000, seedGrp4, 5001, []byte("abc"), true)
	frag[2+6] |= 0x20 // MF
	if _, err := ParseData(frag); !errors.Is(err, ErrNotUDP) {
		t.Errorf("fragment: got %v, want ErrNotUDP", err)
	}
	bad := dataMessage(seedSrc6, 4000, seedGrp6, 5001, []byte("abc"), false)
	bad[len(bad)-1] ^= 1
	if _, err := ParseData(bad); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad checksum: got %v, want ErrChecksum", err)
	}
}

// TestReport: the reports parse as amtrelayd parses them (exact lengths,
// valid checksums) and hold exactly the channels.
func TestReport(t *testing.T) {
	for _, c := range []struct {
		group   netip.Addr
		sources []netip.Addr
	}{
		{seedGrp4, []netip.Addr{seedSrc4, netip.MustParseAddr("198.51.100.2")}},
		{seedGrp6, []netip.Addr{seedSrc6}},
	} {
		msg := appendUpdate(nil, seedMAC, 9, appendReport(nil, recordIsInclude, c.group, c.sources))
		u, ok := parseUpdate(msg)
		if !ok || u.mac != seedMAC || u.nonce != 9 || u.group != c.group || !slices.Equal(u.sources, c.sources) || u.record != recordIsInclude {
			t.Errorf("got %+v (%v), want %s from %v", u, ok, c.group, c.sources)
		}
	}
}

func TestParseAdvertisement(t *testing.T) {
	a, err := ParseAdvertisement(advertisementMessage(5, netip.MustParseAddr("192.0.2.2")))
	if err != nil || a.Nonce != 5 || a.Relay != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("got %+v, %v", a, err)
	}
	if _, err := ParseAdvertisement(advertisementMessage(5, netip.MustParseAddr("232.1.1.1"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("multicast relay: got %v, want ErrMalformed", err)
	}
}

// TestMessageLengths: the gateway's messages have RFC 7450 §5.1's sizes.
func TestMessageLengths(t *testing.T) {
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"relay discovery", len(appendDiscovery(nil, 1)), discoveryLen},
		{"request", len(appendRequest(nil, 1, true)), requestLen},
		{"teardown", len(appendTeardown(nil, seedMAC, 1, netip.MustParseAddrPort("203.0.113.2:40000"))), teardownLen},
		{"update header", len(appendUpdate(nil, seedMAC, 1, nil)), updateHeaderLen},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d bytes, want %d", c.name, c.got, c.want)
		}
	}
	if r := appendRequest(nil, 1, true); r[1] != 1 {
		t.Errorf("request for MLDv2: got P byte %#x, want 1", r[1])
	}
}
