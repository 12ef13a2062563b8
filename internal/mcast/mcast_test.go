package mcast_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

func TestIsSSM(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"232.0.0.0", true},
		{"232.0.1.100", true},
		{"232.255.255.255", true},
		{"231.255.255.255", false},
		{"233.0.0.1", false},
		{"239.1.1.1", false},
		{"224.0.0.1", false},
		{"127.0.0.1", false},
		{"ff3e::8000:100", true},
		{"ff3e::1", true},
		{"ff31::1", true},
		{"ff32::1", true},
		{"ff35::8000:1", true},
		{"ff3e:0:0:0:0:0:8000:1", true},
		{"ff3e:1::1", false}, // ff3e::/32 only
		{"ff3e:0:1::1", true},
		{"ff1e::1", false},
		{"ff0e::1", false},
		{"ff02::1", false},
		{"2001:db8::1", false},
		{"::ffff:232.1.1.1", false},
		{"ff3e::1%eth0", true},
	} {
		a := netip.MustParseAddr(tt.addr)
		if got := mcast.IsSSM(a); got != tt.want {
			t.Errorf("IsSSM(%s): got %v, want %v", tt.addr, got, tt.want)
		}
	}
	if got := mcast.IsSSM(netip.Addr{}); got {
		t.Errorf("IsSSM(zero Addr): got %v, want false", got)
	}
}

func loopback(t testing.TB) *net.Interface {
	t.Helper()
	lo, err := mcast.ResolveInterface("lo")
	if err != nil {
		t.Fatalf("ResolveInterface(lo): %v", err)
	}
	return lo
}

func TestResolveInterface(t *testing.T) {
	ifi, err := mcast.ResolveInterface("")
	if ifi != nil || err != nil {
		t.Errorf(`ResolveInterface(""): got %v, %v, want nil, nil`, ifi, err)
	}
	lo := loopback(t)
	if lo.Flags&net.FlagLoopback == 0 {
		t.Errorf("lo flags: got %v, want loopback", lo.Flags)
	}
	for _, spec := range []string{"127.0.0.1", "::1"} {
		ifi, err := mcast.ResolveInterface(spec)
		if err != nil {
			t.Errorf("ResolveInterface(%q): %v", spec, err)
			continue
		}
		if ifi.Name != lo.Name || ifi.Index != lo.Index {
			t.Errorf("ResolveInterface(%q): got %s (%d), want %s (%d)", spec, ifi.Name, ifi.Index, lo.Name, lo.Index)
		}
	}
	for _, spec := range []string{"nosuchif0", "192.0.2.253", "2001:db8::fd", "::1%nosuchif0", "not an address"} {
		ifi, err := mcast.ResolveInterface(spec)
		if !errors.Is(err, mcast.ErrUnknownInterface) {
			t.Errorf("ResolveInterface(%q): got %v, %v, want ErrUnknownInterface", spec, ifi, err)
			continue
		}
		if want := fmt.Sprintf("%q", spec); !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveInterface(%q) error: got %q, want it to name %s", spec, err, want)
		}
	}
}

func TestResolveSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g4 := netip.MustParseAddr("232.0.1.100")
	g6 := netip.MustParseAddr("ff3e::8000:100")
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	for _, tt := range []struct {
		hosts []string
		group netip.Addr
		want  []netip.Addr
	}{
		{[]string{"192.0.2.1"}, g4, addrs("192.0.2.1")},
		{[]string{"192.0.2.1", "198.51.100.7", "192.0.2.1"}, g4, addrs("192.0.2.1", "198.51.100.7")},
		{[]string{"::ffff:192.0.2.1", "192.0.2.1"}, g4, addrs("192.0.2.1")},
		{[]string{"2001:db8::1", "2001:DB8::1", "2001:db8::2"}, g6, addrs("2001:db8::1", "2001:db8::2")},
		{[]string{"localhost", "127.0.0.1"}, g4, addrs("127.0.0.1")},
	} {
		got, err := mcast.ResolveSources(ctx, tt.hosts, tt.group)
		if err != nil {
			t.Errorf("ResolveSources(%q, %s): %v", tt.hosts, tt.group, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ResolveSources(%q, %s): got %v, want %v", tt.hosts, tt.group, got, tt.want)
		}
	}

	for _, tt := range []struct {
		hosts []string
		group netip.Addr
		is    error // nil: any error naming the bad host
	}{
		{nil, g4, mcast.ErrNoSources},
		{[]string{"2001:db8::1"}, g4, mcast.ErrFamily},
		{[]string{"192.0.2.1"}, g6, mcast.ErrFamily},
		{[]string{"192.0.2.1", "no-such-host.invalid"}, g4, nil},
	} {
		got, err := mcast.ResolveSources(ctx, tt.hosts, tt.group)
		if err == nil {
			t.Errorf("ResolveSources(%q, %s): got %v, want an error", tt.hosts, tt.group, got)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("ResolveSources(%q, %s): got %v, want %v", tt.hosts, tt.group, err, tt.is)
		}
		if len(tt.hosts) > 0 {
			bad := fmt.Sprintf("%q", tt.hosts[len(tt.hosts)-1])
			if !strings.Contains(err.Error(), bad) {
				t.Errorf("ResolveSources(%q, %s) error: got %q, want it to name %s", tt.hosts, tt.group, err, bad)
			}
		}
	}
}

// testGroup returns an IPv4 SSM group and port unlikely to collide with
// other tests running at the same time.
func testGroup() netip.AddrPort {
	a := netip.AddrFrom4([4]byte{232, 200, byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	return netip.AddrPortFrom(a, uint16(20000+rand.IntN(40000)))
}

func TestDialErrors(t *testing.T) {
	for _, tt := range []struct {
		group string
		ttl   int
		is    error
	}{
		{"239.1.1.1:49999", 1, mcast.ErrNotSSM},
		{"224.0.0.1:49999", 1, mcast.ErrNotSSM},
		{"192.0.2.1:49999", 1, mcast.ErrNotSSM},
		{"[ff1e::1]:49999", 1, mcast.ErrNotSSM},
		{"232.1.1.1:0", 1, nil},
		{"232.1.1.1:49999", 300, nil},
		{"232.1.1.1:49999", -1, nil},
	} {
		s, err := mcast.Dial(netip.MustParseAddrPort(tt.group), nil, tt.ttl)
		if err == nil {
			s.Close()
			t.Errorf("Dial(%s, nil, %d): got no error, want one", tt.group, tt.ttl)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("Dial(%s, nil, %d): got %v, want %v", tt.group, tt.ttl, err, tt.is)
		}
	}
}

func TestJoinSSMErrors(t *testing.T) {
	lo := loopback(t)
	src := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	for _, tt := range []struct {
		group   string
		sources []netip.Addr
		is      error
	}{
		{"239.1.1.1:49999", src, mcast.ErrNotSSM},
		{"224.0.0.1:49999", src, mcast.ErrNotSSM},
		{"[ff02::1]:49999", []netip.Addr{netip.MustParseAddr("::1")}, mcast.ErrNotSSM},
		{"232.1.1.1:0", src, nil},
		{"232.1.1.1:49999", nil, mcast.ErrNoSources},
		{"232.1.1.1:49999", []netip.Addr{}, mcast.ErrNoSources},
		{"232.1.1.1:49999", []netip.Addr{netip.MustParseAddr("::1")}, mcast.ErrFamily},
		{"232.1.1.1:49999", []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::1")}, mcast.ErrFamily},
		{"[ff3e::8000:1]:49999", src, mcast.ErrFamily},
		{"232.1.1.1:49999", []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}, mcast.ErrFamily},
		{"232.1.1.1:49999", []netip.Addr{netip.MustParseAddr("0.0.0.0")}, nil},
		{"232.1.1.1:49999", []netip.Addr{netip.MustParseAddr("232.1.1.2")}, nil},
		{"232.1.1.1:49999", []netip.Addr{{}}, nil},
	} {
		r, err := mcast.JoinSSM(netip.MustParseAddrPort(tt.group), lo, tt.sources)
		if err == nil {
			r.Close()
			t.Errorf("JoinSSM(%s, lo, %v): got no error, want one", tt.group, tt.sources)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("JoinSSM(%s, lo, %v): got %v, want %v", tt.group, tt.sources, err, tt.is)
		}
	}
}

// joinLo joins (127.0.0.1, group) on lo and closes the receiver at cleanup.
func joinLo(t testing.TB, group netip.AddrPort) *mcast.Receiver {
	t.Helper()
	r, err := mcast.JoinSSM(group, loopback(t), []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatalf("JoinSSM(%s, lo, 127.0.0.1): %v", group, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// dialLo returns a sender to group on lo, closed at cleanup.
func dialLo(t testing.TB, group netip.AddrPort) *mcast.Sender {
	t.Helper()
	s, err := mcast.Dial(group, loopback(t), 1)
	if err != nil {
		t.Fatalf("Dial(%s, lo, 1): %v", group, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readOne reads one datagram, failing the test if none comes within a
// second.
func readOne(t *testing.T, r *mcast.Receiver) ([]byte, netip.Addr) {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	b := make([]byte, mcast.ReadBufferSize)
	n, src, err := r.Read(b)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return b[:n], src
}

// expectNothing checks that r receives nothing for a short while.
func expectNothing(t *testing.T, r *mcast.Receiver) {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	b := make([]byte, mcast.ReadBufferSize)
	n, src, err := r.Read(b)
	if err == nil {
		t.Errorf("Read: got %q from %s, want nothing", b[:n], src)
	}
}

func TestLoopback(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	if got, want := s.LocalAddr().Addr(), netip.MustParseAddr("127.0.0.1"); got != want {
		t.Fatalf("LocalAddr: got %s, want %s", got, want)
	}
	if s.LocalAddr().Port() == 0 {
		t.Errorf("LocalAddr port: got 0, want nonzero")
	}
	const n = 50
	var sent [][]byte
	for i := range n {
		b := make([]byte, 1+i*13)
		for j := range b {
			b[j] = byte(i + j)
		}
		sent = append(sent, b)
		if err := s.Send(b); err != nil {
			t.Fatalf("Send #%d: %v", i, err)
		}
	}
	for i, want := range sent {
		got, src := readOne(t, r)
		if !slices.Equal(got, want) {
			t.Fatalf("datagram #%d: got %d bytes %.8x..., want %d bytes %.8x...", i, len(got), got, len(want), want)
		}
		if src != s.LocalAddr().Addr() {
			t.Errorf("datagram #%d source: got %s, want %s", i, src, s.LocalAddr().Addr())
		}
	}
	// The largest IPv4 UDP payload goes through lo's 64 KiB MTU.
	big := make([]byte, 65507)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := s.Send(big); err != nil {
		t.Fatalf("Send %d bytes: %v", len(big), err)
	}
	if got, _ := readOne(t, r); !slices.Equal(got, big) {
		t.Errorf("big datagram: got %d bytes, want %d bytes %.8x...", len(got), len(big), big)
	}
	if got := r.Foreign(); got != 0 {
		t.Errorf("Foreign: got %d, want 0", got)
	}
}

func TestTwoReceiversOneHost(t *testing.T) {
	group := testGroup()
	r1 := joinLo(t, group)
	r2 := joinLo(t, group)
	s := dialLo(t, group)
	if err := s.Send([]byte("both")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, r := range []*mcast.Receiver{r1, r2} {
		if got, _ := readOne(t, r); string(got) != "both" {
			t.Errorf("receiver %d: got %q, want %q", i+1, got, "both")
		}
	}
}

func TestOtherGroupSamePort(t *testing.T) {
	a := testGroup()
	b := netip.AddrPortFrom(a.Addr().Next(), a.Port())
	ra := joinLo(t, a)
	rb := joinLo(t, b) // so the host does accept group b's datagrams
	sa := dialLo(t, a)
	sb := dialLo(t, b)
	if err := sb.Send([]byte("to b")); err != nil {
		t.Fatalf("Send to b: %v", err)
	}
	if err := sa.Send([]byte("to a")); err != nil {
		t.Fatalf("Send to a: %v", err)
	}
	if got, _ := readOne(t, ra); string(got) != "to a" {
		t.Errorf("receiver of %s: got %q, want %q", a, got, "to a")
	}
	if got, _ := readOne(t, rb); string(got) != "to b" {
		t.Errorf("receiver of %s: got %q, want %q", b, got, "to b")
	}
	expectNothing(t, ra)
}

// TestOtherSource sends from 127.0.0.2 to a group joined for 127.0.0.1 only:
// the kernel's source filter drops it.
func TestOtherSource(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	defer c.Close()
	if err := setMulticastIF(c, loopback(t)); err != nil {
		t.Fatalf("set multicast interface: %v", err)
	}
	if _, err := c.WriteToUDPAddrPort([]byte("foreign"), group); err != nil {
		t.Fatalf("send from 127.0.0.2: %v", err)
	}
	s := dialLo(t, group)
	if err := s.Send([]byte("joined")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got, src := readOne(t, r); string(got) != "joined" {
		t.Errorf("got %q from %s, want %q from %s", got, src, "joined", s.LocalAddr().Addr())
	}
	expectNothing(t, r)
	if got := r.Foreign(); got != 0 {
		t.Errorf("Foreign: got %d, want 0 (the kernel filters)", got)
	}
}

func setMulticastIF(c *net.UDPConn, ifi *net.Interface) error {
	return ipv4.NewPacketConn(c).SetMulticastInterface(ifi)
}

// TestForeignSkipped hands Read datagrams from a source it did not join, as
// if the kernel's filter had let them through.
func TestForeignSkipped(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	r := mcast.NewReceiverFromConn(conn, []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	defer r.Close()
	to := conn.LocalAddr().(*net.UDPAddr)
	send := func(from net.IP, msg string) {
		t.Helper()
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: from}, to)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("send from %s: %v", from, err)
		}
	}
	send(net.IPv4(127, 0, 0, 2), "foreign 1")
	send(net.IPv4(127, 0, 0, 3), "foreign 2")
	send(net.IPv4(127, 0, 0, 1), "joined")
	got, src := readOne(t, r)
	if string(got) != "joined" || src != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("Read: got %q from %s, want %q from 127.0.0.1", got, src, "joined")
	}
	if got := r.Foreign(); got != 2 {
		t.Errorf("Foreign: got %d, want 2", got)
	}
}

func TestTruncated(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	if err := s.Send([]byte("0123456789abcdef")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	b := make([]byte, 10)
	n, _, err := r.Read(b)
	if !errors.Is(err, mcast.ErrTruncated) {
		t.Errorf("Read into 10 bytes: got error %v, want ErrTruncated", err)
	}
	if got, want := string(b[:n]), "0123456789"; got != want {
		t.Errorf("Read into 10 bytes: got %q, want %q", got, want)
	}
}

func TestReadAfterClose(t *testing.T) {
	r := joinLo(t, testGroup())
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	_, _, err := r.Read(make([]byte, mcast.ReadBufferSize))
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: got %v, want net.ErrClosed", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	r := joinLo(t, testGroup())
	done := make(chan error, 1)
	go func() {
		_, _, err := r.Read(make([]byte, mcast.ReadBufferSize))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Read block; it works either way
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Read after Close: got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after Close")
	}
}

func TestSendAfterClose(t *testing.T) {
	s, err := mcast.Dial(testGroup(), loopback(t), 1)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Send([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
	}
}
