package amt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// fakeRelay is a relay on loopback: it advertises itself, answers each
// Request with a Query and checks each Update as strictly as amtrelayd.
type fakeRelay struct {
	t       *testing.T
	conn    *net.UDPConn
	v6data  bool
	silent  chan bool // true: stop answering; false: answer again
	updates chan parsedUpdate
	gw      chan netip.AddrPort // where the last valid Update came from
}

func newFakeRelay(t *testing.T, network, addr string, v6data bool) *fakeRelay {
	t.Helper()
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("no loopback socket for %s: %v", network, err)
	}
	r := &fakeRelay{t: t, conn: conn, v6data: v6data, silent: make(chan bool, 1),
		updates: make(chan parsedUpdate, 16), gw: make(chan netip.AddrPort, 16)}
	done := make(chan struct{})
	go r.serve(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return r
}

func (r *fakeRelay) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *fakeRelay) serve(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 2048)
	mac := [macLen]byte{1, 2, 3, 4, 5, 6}
	silent := false
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		select {
		case silent = <-r.silent:
		default:
		}
		if silent || n == 0 {
			continue
		}
		b := buf[:n]
		switch b[0] {
		case TypeDiscovery:
			_, _ = r.conn.WriteToUDPAddrPort(advertisementMessage(binary.BigEndian.Uint32(b[4:8]), r.addr().Addr()), from)
		case TypeRequest:
			pkt := igmpQueryPacket(20)
			if b[1]&1 == 1 {
				pkt = mldQueryPacket(20)
			}
			_, _ = r.conn.WriteToUDPAddrPort(queryMessage(mac, binary.BigEndian.Uint32(b[4:8]), pkt), from)
		case TypeUpdate:
			u, ok := parseUpdate(b)
			if !ok || u.mac != mac {
				r.t.Errorf("relay: bad update % x", b)
				continue
			}
			r.updates <- u
			r.gw <- from
		}
	}
}

// send sends msg to gw from the relay's socket.
func (r *fakeRelay) send(msg []byte, gw netip.AddrPort) {
	if _, err := r.conn.WriteToUDPAddrPort(msg, gw); err != nil {
		r.t.Fatal(err)
	}
}

func waitUpdate(t *testing.T, r *fakeRelay) (parsedUpdate, netip.AddrPort) {
	t.Helper()
	select {
	case u := <-r.updates:
		return u, <-r.gw
	case <-time.After(20 * time.Second):
		t.Fatal("no membership update within 20 s")
	}
	return parsedUpdate{}, netip.AddrPort{}
}

// readResult is one Read.
type readResult struct {
	payload []byte
	src     netip.Addr
	err     error
}

func reader(g *Gateway) chan readResult {
	ch := make(chan readResult, 64)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, src, err := g.Read(buf)
			ch <- readResult{bytes.Clone(buf[:n]), src, err}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	return ch
}

func TestGateway(t *testing.T) {
	for _, tc := range []struct {
		name, network, relay string
		group                netip.AddrPort
		source, other        netip.Addr
	}{
		{"ipv4 tunnel, ipv4 data", "udp4", "127.0.0.1:0", netip.MustParseAddrPort("232.1.1.1:5000"), netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.9")},
		{"ipv6 tunnel, ipv4 data", "udp6", "[::1]:0", netip.MustParseAddrPort("232.1.1.1:5000"), netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.9")},
		{"ipv4 tunnel, ipv6 data", "udp4", "127.0.0.1:0", netip.MustParseAddrPort("[ff3e::8000:1]:5000"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::9")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRelay(t, tc.network, tc.relay, !tc.group.Addr().Is4())
			g, err := Open(Config{Discovery: r.addr(), Group: tc.group, Sources: []netip.Addr{tc.source}})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			reads := reader(g)
			u, gw := waitUpdate(t, r)
			if u.record != recordIsInclude || u.group != tc.group.Addr() || !slices.Equal(u.sources, []netip.Addr{tc.source}) {
				t.Fatalf("got update %+v, want MODE_IS_INCLUDE %s from %s", u, tc.group.Addr(), tc.source)
			}
			if s := g.Stats(); s.State != Up || s.Relay != r.addr() || s.Interval != 20*time.Second {
				t.Errorf("got stats %+v, want up, relay %s, interval 20s", s, r.addr())
			}
			grp, port := tc.group.Addr(), tc.group.Port()
			// Each dropped, then one good datagram: what Read returns next
			// shows the drops did not get through.
			drops := [][]byte{
				dataMessage(tc.source, 4000, grp, port+1, []byte("other port"), false),
				dataMessage(tc.other, 4000, grp, port, []byte("spoofed source"), false),
				dataMessage(tc.source, 4000, otherGroup(grp), port, []byte("other group"), true),
			}
			bad := dataMessage(tc.source, 4000, grp, port, []byte("bad checksum"), false)
			bad[len(bad)-1] ^= 1
			for _, m := range append(drops, bad, dataMessage(tc.source, 4000, grp, port, []byte("zero checksum"), true),
				dataMessage(tc.source, 4000, grp, port, []byte("checksum"), false)) {
				r.send(m, gw)
			}
			for _, want := range []string{"zero checksum", "checksum"} {
				select {
				case got := <-reads:
					if got.err != nil || string(got.payload) != want || got.src != tc.source {
						t.Fatalf("got %q from %s (%v), want %q from %s", got.payload, got.src, got.err, want, tc.source)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("no datagram %q within 10 s", want)
				}
			}
			if s := g.Stats(); s.Foreign != 3 || s.Malformed != 1 || s.Data != 2 || g.Foreign() != 3 {
				t.Errorf("got stats %+v, want 3 foreign, 1 malformed, 2 data", s)
			}
			// From another socket: not the relay.
			other, err := net.ListenUDP(tc.network, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			_, _ = other.WriteToUDPAddrPort(dataMessage(tc.source, 4000, grp, port, []byte("not the relay"), false), gw)
			r.send(dataMessage(tc.source, 4000, grp, port, []byte("after"), false), gw)
			if got := <-reads; string(got.payload) != "after" {
				t.Fatalf("got %q, want %q", got.payload, "after")
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			leave, _ := waitUpdate(t, r)
			if leave.record != recordBlockOld || !slices.Equal(leave.sources, []netip.Addr{tc.source}) {
				t.Errorf("got leave %+v, want BLOCK_OLD_SOURCES of %s", leave, tc.source)
			}
			for got := range reads {
				if !errors.Is(got.err, net.ErrClosed) {
					t.Errorf("got %v after Close, want net.ErrClosed", got.err)
				}
			}
			if s := g.Stats(); s.Stray < 1 || s.State != Closed {
				t.Errorf("got stats %+v, want closed and a stray message", s)
			}
		})
	}
}

// TestGatewayRediscover: a relay that stops answering is discovered again,
// and the membership comes back when it answers again.
func TestGatewayRediscover(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 10 s of request retries")
	}
	r := newFakeRelay(t, "udp4", "127.0.0.1:0", false)
	g, err := Open(Config{Discovery: r.addr(), Group: netip.MustParseAddrPort("232.1.1.1:5000"),
		Sources: []netip.Addr{netip.MustParseAddr("198.51.100.1")}, Probe: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	reader(g)
	waitUpdate(t, r)
	r.silent <- true
	deadline := time.Now().Add(30 * time.Second)
	for g.Stats().Rediscoveries == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if s := g.Stats(); s.Rediscoveries != 1 || s.State != Discovering {
		t.Fatalf("got stats %+v, want 1 rediscovery, discovering", s)
	}
	r.silent <- false
	waitUpdate(t, r)
	if s := g.Stats(); s.State != Up {
		t.Errorf("got state %s, want up", s.State)
	}
}

// otherGroup is an SSM group of grp's family other than grp.
func otherGroup(grp netip.Addr) netip.Addr {
	if grp.Is4() {
		return netip.MustParseAddr("232.9.9.9")
	}
	return netip.MustParseAddr("ff3e::9")
}

func TestOpenConfig(t *testing.T) {
	src := []netip.Addr{netip.MustParseAddr("198.51.100.1")}
	for _, c := range []Config{
		{Group: netip.MustParseAddrPort("232.1.1.1:5000"), Sources: src},
		{Discovery: netip.MustParseAddrPort("127.0.0.1:2268"), Group: netip.MustParseAddrPort("198.51.100.1:5000"), Sources: src},
		{Discovery: netip.MustParseAddrPort("127.0.0.1:2268"), Group: netip.MustParseAddrPort("232.1.1.1:5000")},
		{Discovery: netip.MustParseAddrPort("127.0.0.1:2268"), Group: netip.MustParseAddrPort("[ff3e::1]:5000"), Sources: src},
	} {
		if _, err := Open(c); !errors.Is(err, ErrConfig) {
			t.Errorf("Open(%+v): got %v, want ErrConfig", c, err)
		}
	}
}
