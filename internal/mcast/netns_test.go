package mcast_test

// Namespace tests: real SSM between two "hosts", two network namespaces
// joined by a veth pair whose ends both live in namespaces the test creates
// (the host's own interfaces are never touched). The test re-executes its
// own binary under "ip netns exec" to run a sender or receiver there; see
// TestNetnsHelper.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/nordunet/ssmrandom/internal/harness"
	"github.com/nordunet/ssmrandom/internal/mcast"
)

// newNetns creates a network namespace with lo up and deletes it at
// cleanup. Failing to create the first one means namespaces are not
// available here: the test is skipped (failed under CI).
func newNetns(t *testing.T) string {
	t.Helper()
	var rnd [4]byte
	rand.Read(rnd[:])
	name := "mcast-test-" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		harness.CannotRun(t, fmt.Sprintf("cannot create a network namespace: ip netns add: %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	harness.IP(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// netnsPair is two namespaces joined by a veth pair, "vtx" in the
// sender's and "vrx" in the receiver's.
type netnsPair struct {
	send, recv string // namespace names
}

// addresses of the test network: the sender's, a second (foreign) source
// on the sender's host, and the receiver's.
type netAddrs struct {
	prefix                  int
	sender, foreign, recver netip.Addr
	group                   netip.AddrPort
}

func newNetnsPair(t *testing.T, a netAddrs) netnsPair {
	t.Helper()
	p := netnsPair{send: newNetns(t), recv: newNetns(t)}
	harness.IP(t, "-n", p.send, "link", "add", "name", "vtx", "type", "veth", "peer", "name", "vrx", "netns", p.recv)
	addr := func(ns, dev string, ip netip.Addr, bits int) {
		args := []string{"-n", ns, "addr", "add", netip.PrefixFrom(ip, bits).String(), "dev", dev}
		if ip.Is6() {
			args = append(args, "nodad")
		}
		harness.IP(t, args...)
	}
	addr(p.send, "vtx", a.sender, a.prefix)
	addr(p.recv, "vrx", a.recver, a.prefix)
	// The foreign source sits on the sender's lo, so that it is never the
	// address Dial picks for vtx.
	addr(p.send, "lo", a.foreign, a.foreign.BitLen())
	harness.IP(t, "-n", p.send, "link", "set", "vtx", "up")
	harness.IP(t, "-n", p.recv, "link", "set", "vrx", "up")
	// The carrier comes up asynchronously (linkwatch, up to a second), and
	// only then does IPv6 add the ff00::/8 multicast route without which
	// the receiving side drops the datagrams (Ip6InNoRoutes).
	for _, end := range [][2]string{{p.send, "vtx"}, {p.recv, "vrx"}} {
		harness.WaitUntil(t, end[1]+" carrier up", func() bool {
			out := harness.IP(t, "-n", end[0], "link", "show", "dev", end[1])
			return strings.Contains(out, "state UP") && !strings.Contains(out, "NO-CARRIER")
		})
		if a.sender.Is6() {
			harness.WaitUntil(t, end[1]+" IPv6 multicast route", func() bool {
				return strings.Contains(harness.IP(t, "-n", end[0], "-6", "route", "show", "table", "local", "dev", end[1]), "ff00::/8")
			})
		}
	}
	return p
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	lines chan string // its stdout, line by line; closed at EOF
}

// startHelper runs this test binary in namespace ns as helper role with
// the given environment. The process is killed at cleanup if still running.
func startHelper(t *testing.T, ctx context.Context, ns, role string, env ...string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find test binary: %v", err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, exe, "-test.run=^TestNetnsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"MCAST_HELPER=" + role}, env...)...)
	cmd.Stderr = &testWriter{t: t, prefix: role + ": "}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("helper %s: %v", role, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", role, err)
	}
	h := &helper{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return h
}

// next returns the helper's next output line that starts with one of its
// protocol words, failing t if none comes by the deadline.
func (h *helper) next(t *testing.T, deadline <-chan time.Time) (word, rest string) {
	t.Helper()
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper %s: exited early: %v", h.cmd.Args[3:], h.cmd.Wait())
			}
			word, rest, _ := strings.Cut(line, " ")
			switch word {
			case "joined", "got", "foreign", "sent":
				return word, rest
			}
			// Other lines come from the testing package: PASS, or why
			// the helper failed.
			if line != "PASS" {
				t.Logf("helper %s: %s", h.cmd.Args[3:], line)
			}
		case <-deadline:
			t.Fatalf("helper %s: timed out", h.cmd.Args[3:])
		}
	}
}

// wait waits for the helper to exit successfully.
func (h *helper) wait(t *testing.T) {
	t.Helper()
	for range h.lines {
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper %s: %v", h.cmd.Args[3:], err)
	}
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s%s", w.prefix, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestNetnsHelper is not a test: it is the sender or receiver the
// namespace tests run in a namespace, selected by MCAST_HELPER, and does
// nothing otherwise. It speaks on stdout, one line each:
//
//	receiver: "joined", then "got SRC HEX" per datagram, then "foreign N"
//	sender:   "sent SRC" after sending
func TestNetnsHelper(t *testing.T) {
	role := os.Getenv("MCAST_HELPER")
	if role == "" {
		return
	}
	group := netip.MustParseAddrPort(os.Getenv("MCAST_GROUP"))
	ifi, err := mcast.ResolveInterface(os.Getenv("MCAST_IFACE"))
	if err != nil {
		t.Fatal(err)
	}
	count, err := strconv.Atoi(os.Getenv("MCAST_COUNT"))
	if err != nil {
		t.Fatal(err)
	}
	switch role {
	case "receiver":
		src := netip.MustParseAddr(os.Getenv("MCAST_SOURCE"))
		r, err := mcast.JoinSSM(group, ifi, []netip.Addr{src})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		fmt.Println("joined")
		// The first half with Read, the rest with ReadBatch.
		b := make([]byte, mcast.ReadBufferSize)
		for range count / 2 {
			n, src, err := r.Read(b)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("got %s %x\n", src, b[:n])
		}
		in := newBatch(8, 2000)
		for got := count / 2; got < count; {
			n, err := batch{in.bufs[:min(8, count-got)], in.ns, in.srcs}.read(r)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				fmt.Printf("got %s %x\n", in.srcs[i], in.bufs[i][:in.ns[i]])
			}
			got += n
		}
		fmt.Printf("foreign %d\n", r.Foreign())
	case "sender":
		s, err := mcast.Dial(group, ifi, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// The first half with Send, the rest with WriteBatch.
		var rest [][]byte
		for i := range count {
			if i >= count/2 {
				rest = append(rest, payload(os.Getenv("MCAST_TAG"), i))
			} else if err := s.Send(payload(os.Getenv("MCAST_TAG"), i)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.WriteBatch(rest); n != len(rest) || err != nil {
			t.Fatalf("WriteBatch: got %d, %v; want %d, nil", n, err, len(rest))
		}
		fmt.Printf("sent %s\n", s.LocalAddr().Addr())
	case "rawsender":
		// Sends from MCAST_SOURCE, which Dial cannot choose.
		src := netip.MustParseAddr(os.Getenv("MCAST_SOURCE"))
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if src.Is4() {
			err = ipv4.NewPacketConn(c).SetMulticastInterface(ifi)
		} else {
			err = ipv6.NewPacketConn(c).SetMulticastInterface(ifi)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range count {
			if _, err := c.WriteToUDPAddrPort(payload(os.Getenv("MCAST_TAG"), i), group); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Printf("sent %s\n", src)
	default:
		t.Fatalf("unknown MCAST_HELPER %q", role)
	}
}

func payload(tag string, i int) []byte {
	return []byte(fmt.Sprintf("%s datagram %d", tag, i))
}

func TestNetnsSSM(t *testing.T) {
	for _, tt := range []struct {
		name  string
		addrs netAddrs
	}{
		{"IPv4", netAddrs{
			prefix:  24,
			sender:  netip.MustParseAddr("198.51.100.1"),
			foreign: netip.MustParseAddr("203.0.113.3"),
			recver:  netip.MustParseAddr("198.51.100.2"),
			group:   netip.MustParseAddrPort("232.0.1.100:49999"),
		}},
		{"IPv6", netAddrs{
			prefix:  64,
			sender:  netip.MustParseAddr("2001:db8:1::1"),
			foreign: netip.MustParseAddr("2001:db8:2::3"),
			recver:  netip.MustParseAddr("2001:db8:1::2"),
			group:   netip.MustParseAddrPort("[ff3e::8000:100]:49999"),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			harness.NeedNetns(t)
			testNetnsSSM(t, tt.addrs)
		})
	}
}

// testNetnsSSM checks, across two namespaces, that a receiver gets what the
// sender sends in order, that a second receiver on the same host and port
// joined to another source gets that source's datagrams, and that the
// kernel keeps each receiver's datagrams to its own source.
func testNetnsSSM(t *testing.T, a netAddrs) {
	p := newNetnsPair(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deadline := time.After(20 * time.Second)
	const n = 20
	env := func(kv ...string) []string {
		return append([]string{
			"MCAST_GROUP=" + a.group.String(),
			"MCAST_COUNT=" + strconv.Itoa(n),
		}, kv...)
	}

	rMain := startHelper(t, ctx, p.recv, "receiver", env("MCAST_IFACE=vrx", "MCAST_SOURCE="+a.sender.String())...)
	rForeign := startHelper(t, ctx, p.recv, "receiver", env("MCAST_IFACE=vrx", "MCAST_SOURCE="+a.foreign.String())...)
	for _, r := range []*helper{rMain, rForeign} {
		if w, rest := r.next(t, deadline); w != "joined" {
			t.Fatalf("receiver: got %q %q, want joined", w, rest)
		}
	}

	// Foreign datagrams first: on the one veth link they would arrive
	// before the sender's.
	startHelper(t, ctx, p.send, "rawsender", env("MCAST_IFACE=vtx", "MCAST_SOURCE="+a.foreign.String(), "MCAST_TAG=foreign")...).wait(t)
	s := startHelper(t, ctx, p.send, "sender", env("MCAST_IFACE=vtx", "MCAST_TAG=main")...)
	if w, rest := s.next(t, deadline); w != "sent" || rest != a.sender.String() {
		t.Fatalf("sender: got %q %q, want sent %s", w, rest, a.sender)
	}
	s.wait(t)

	for _, tt := range []struct {
		r   *helper
		src netip.Addr
		tag string
	}{
		{rMain, a.sender, "main"},
		{rForeign, a.foreign, "foreign"},
	} {
		for i := range n {
			w, rest := tt.r.next(t, deadline)
			want := fmt.Sprintf("%s %x", tt.src, payload(tt.tag, i))
			if w != "got" || rest != want {
				t.Fatalf("receiver for %s, datagram %d: got %s %s, want got %s", tt.src, i, w, decode(rest), decode(want))
			}
		}
		if w, rest := tt.r.next(t, deadline); w != "foreign" || rest != "0" {
			t.Errorf("receiver for %s: got %s %s, want foreign 0", tt.src, w, rest)
		}
		tt.r.wait(t)
	}
}

// decode makes a "got SRC HEX" line readable in failure messages.
func decode(s string) string {
	src, h, _ := strings.Cut(s, " ")
	b, err := hex.DecodeString(h)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%s %q", src, b)
}
