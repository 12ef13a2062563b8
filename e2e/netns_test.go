//go:build linux

package e2e

// Multi-host tests: ssmrandom send and recv on a switched network of
// network namespaces (see newTestNet), over IPv4 and over IPv6, each with
// a second sender on the same segment. The IPv4 network:
//
//	            sw: br0 (Linux bridge, multicast snooping off)
//	     p0 |        p1 |         p2 |          p3 |
//	prod eth0    rxa eth0     rxb eth0      atk eth0
//	192.0.2.1    192.0.2.11   192.0.2.12    192.0.2.66
//
// The producer multicasts to 232.0.1.150; both receivers join (192.0.2.1,
// 232.0.1.150) only. The attacker that spoofs the producer's address is
// this test binary, re-executed in its role (TestNetnsHelper).
//
// The IPv6 network, with MLDv2 joins instead of IGMPv3:
//
//	             sw: br0 (Linux bridge, multicast snooping off)
//	      p0 |            p1 |             p2 |
//	prod eth0       other eth0         rx eth0
//	2001:db8::1     2001:db8::2        2001:db8::11
//
// The producer multicasts to ff3e::8000:150; the receiver joins
// (2001:db8::1, ff3e::8000:150). "other" is a second host that sends to
// the same channel from its own address. ssmrandom send leaves the source
// address of an IPv6 sender to the kernel, so a second source needs a
// second host.
//
// The ssmrandom command is the one TestMain built, run under "ip netns
// exec".

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/harness"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// The IPv4 test network's addresses (documentation ranges only), and what
// the families share.
const (
	prodAddr     = "192.0.2.1"
	rxaAddr      = "192.0.2.11"
	rxbAddr      = "192.0.2.12"
	atkAddr      = "192.0.2.66"
	netnsGroup   = "232.0.1.150"
	netnsPort    = 49150 // each subtest uses its own port from here up
	netnsSource  = "producer.example.org"
	netnsFrameSz = 512 // -s of every send
)

// The IPv6 test network's addresses (documentation prefix 2001:db8::/32
// only) and channel.
const (
	prod6Addr    = "2001:db8::1"
	other6Addr   = "2001:db8::2"
	rx6Addr      = "2001:db8::11"
	netns6Group  = "ff3e::8000:150"
	netns6Port   = 49190  // each subtest uses its own port from here up, to 49199
	netns6Budget = "1452" // --max-datagram of IPv6 over a 1500-byte MTU: 1500 less 40 of IPv6, 8 of UDP
)

// family is one address family's test network and what its tests do
// differently.
type family struct {
	name  string
	net   netFamily
	hosts [][2]string // role, address
	// prod is the producer's role; other that of the second sender, which
	// sends with a copy of the producer's key from its own address.
	prod, other string
	// receivers are the roles of the receiving hosts. In the SSM filter
	// test each has a recv joined to the producer; the last one also a
	// recv joined to the other sender, and the first one's eth0 counts
	// the packets of both senders.
	receivers []string
	group     string
	port      int    // the first port; each subtest uses its own from here up
	seed      byte   // netnsData seeds seed+1, seed+2... of the shared subtests
	budget    string // --max-datagram of recv and send; "" for the default
	// more are the family's own subtests, after the shared ones.
	more []familyTest
}

// familyTest is a subtest of one family only.
type familyTest struct {
	name string
	run  func(e *netnsEnv, t *testing.T, ctx context.Context)
}

// families are the networks TestNetns runs its subtests on.
var families = []family{
	{
		name: "IPv4", net: net4,
		hosts: [][2]string{{"prod", prodAddr}, {"rxa", rxaAddr}, {"rxb", rxbAddr}, {"atk", atkAddr}},
		prod:  "prod", other: "atk", receivers: []string{"rxa", "rxb"},
		group: netnsGroup, port: netnsPort, seed: 0,
		more: []familyTest{
			{"spoofed source", func(e *netnsEnv, t *testing.T, ctx context.Context) { e.testSpoofed(t, ctx, true) }},
			{"spoofed source, unpaced flood", func(e *netnsEnv, t *testing.T, ctx context.Context) { e.testSpoofed(t, ctx, false) }},
			{"sealed seeds", (*netnsEnv).testSeed},
		},
	},
	{
		name: "IPv6", net: net6,
		hosts: [][2]string{{"prod", prod6Addr}, {"other", other6Addr}, {"rx", rx6Addr}},
		prod:  "prod", other: "other", receivers: []string{"rx"},
		group: netns6Group, port: netns6Port, seed: 60, budget: netns6Budget,
		more: []familyTest{
			{"datagram budget 1452", (*netnsEnv).test6Budget},
			{"sealed seeds", (*netnsEnv).testSeed},
		},
	},
}

// TestNetns runs, for each address family, on a network of its own: a
// producer whose every byte reaches the receivers, and the kernel's
// source filter (IGMPv3, MLDv2) keeping a second sender of the same group
// and port away from receivers that did not join it; then the family's
// own subtests.
func TestNetns(t *testing.T) {
	harness.NeedNetns(t)
	removeStale(t)
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			id := lockRun(t) // released last, after the namespaces are gone
			start := time.Now()
			var made []string
			t.Run("network", func(t *testing.T) {
				n := buildTestNet(t, id, fam.net, fam.hosts...)
				made = ownNetns(t, id, len(fam.hosts)+1)
				e := &netnsEnv{fam: fam, net: n, bin: ssmrandomBinary(t), dir: t.TempDir()}
				e.keys(t)
				tests := append([]familyTest{
					{"every byte", (*netnsEnv).testEveryByte},
					{"the kernel's SSM filter", (*netnsEnv).testSSMFilter},
				}, fam.more...)
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						// A deadline for every process of the subtest: a
						// failing run ends within 40s too, its processes
						// killed. Passing, each takes a few seconds at most.
						ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
						defer cancel()
						tt.run(e, t, ctx)
					})
				}
			})
			checkNetnsGone(t, id, made)
			t.Logf("took %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// netnsEnv is what the subtests of a family share.
type netnsEnv struct {
	fam   family
	net   *testNet
	bin   string // the ssmrandom command
	dir   string
	key   string // the producer's private key
	trust string // a folder holding the producer's public key
}

// keys makes the producer's key pair with ssmrandom keygen.
func (e *netnsEnv) keys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := startProc(t, ctx, e.net.hosts[e.fam.prod].ns, "keygen", e.bin, "keygen", "-o", filepath.Join(e.dir, "producer"))
	waitExit(t, p, 15*time.Second)
	e.key = filepath.Join(e.dir, "producer.jwk")
	e.trust = filepath.Join(e.dir, "trust")
	if err := os.Mkdir(e.trust, 0o755); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "producer.pub.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.trust, "producer.pub.jwk"), pub, 0o644)
}

// netnsData returns n deterministic bytes that look random, as the
// receivers' health tests want.
func netnsData(seed byte, n int) []byte {
	b := make([]byte, n)
	mrand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// budgetArgs are the --max-datagram flags of the family, if any.
func (e *netnsEnv) budgetArgs() []string {
	if e.fam.budget == "" {
		return nil
	}
	return []string{"--max-datagram", e.fam.budget}
}

// recv starts ssmrandom recv on host role, joined to the given producers
// on the family's channel (with its datagram budget: larger datagrams
// would be dropped as too_big), writing count frames to a new file, and
// waits until it receives. It returns the process and the output file.
func (e *netnsEnv) recv(t *testing.T, ctx context.Context, role, name string, port, count int, producers ...string) (*harness.Proc, string) {
	t.Helper()
	out := filepath.Join(e.dir, fmt.Sprintf("%s-%d.out", name, port))
	writeFile(t, out, nil, 0o644) // a regular file: appended to (a missing one would be made a FIFO)
	argv := []string{e.bin, "recv", "--trust", e.trust, "-o", out, "-g", e.fam.group, "-p", strconv.Itoa(port),
		"-i", "eth0", "--count", strconv.Itoa(count), "--stats-interval", "0", "--log-format", "json"}
	argv = append(argv, e.budgetArgs()...)
	p := startProc(t, ctx, e.net.hosts[role].ns, name, append(argv, producers...)...)
	// "receiving" comes once the channel is joined and the replay guard
	// made: frames made from now on are fresh.
	waitLine(t, p, p.Stderr, `"message":"receiving"`, 10*time.Second)
	return p, out
}

// send starts ssmrandom send on host role to the family's channel with
// TTL (hop limit) 1, with key, reading input (a file, or - for the
// process's stdin), with the further flags args.
func (e *netnsEnv) send(t *testing.T, ctx context.Context, role, name, key, input string, port int, args ...string) *harness.Proc {
	t.Helper()
	argv := []string{e.bin, "send", "-k", key, "-r", input, "-g", e.fam.group, "-p", strconv.Itoa(port),
		"-i", "eth0", "-t", "1", "--source", netnsSource, "--stats-interval", "0", "--log-format", "json"}
	return startProc(t, ctx, e.net.hosts[role].ns, name, append(argv, args...)...)
}

// sendAt starts a sender of netnsFrameSz-byte frames at rate bytes a
// second, with the family's budget, and checks that it says it sends
// from the address of its host, the one the kernel chose.
func (e *netnsEnv) sendAt(t *testing.T, ctx context.Context, role, name, key, input string, port, rate int) *harness.Proc {
	t.Helper()
	args := append([]string{"-s", strconv.Itoa(netnsFrameSz), "--rate", strconv.Itoa(rate)}, e.budgetArgs()...)
	p := e.send(t, ctx, role, name, key, input, port, args...)
	line := waitLine(t, p, p.Stderr, `"message":"sending"`, 10*time.Second)
	if want := e.net.hosts[role].addr; !strings.Contains(line, `"source_addr":"`+want+`"`) {
		t.Errorf("%s: %s; want source_addr %s", p.Name, line, want)
	}
	return p
}

// checkSent waits for a sender and checks that it sent frames frames of
// the given bytes, without errors.
func checkSent(t *testing.T, p *harness.Proc, frames, bytes int) {
	t.Helper()
	waitExit(t, p, 15*time.Second)
	s := summary(t, p, "sent ")
	if s.Frames != uint64(frames) || s.Bytes != uint64(bytes) || s.SendErrors != 0 {
		t.Fatalf("%s: %s; want %d frames, %d bytes, 0 send errors", p.Name, s.Message, frames, bytes)
	}
}

// checkRecv waits for a receiver and checks its summary: frames frames of
// want forwarded, the drops by reason (all others 0), no foreign source,
// and want in its output file.
func checkRecv(t *testing.T, p *harness.Proc, ns, out string, want []byte, drops map[string]uint64) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: UDP counters of its host: %s", p.Name, udpStats(ns))
		}
	})
	waitExit(t, p, 15*time.Second)
	s := summary(t, p, "stopped: ")
	frames := uint64(len(want) / netnsFrameSz)
	var dropped uint64
	for _, n := range drops {
		dropped += n
	}
	if s.Frames != frames || s.Bytes != uint64(len(want)) || s.Datagrams != frames+dropped || s.Rejected != dropped {
		t.Errorf("%s: %d datagrams, %d rejected, %q; want %d datagrams, %d rejected, %d frames (%d bytes) forwarded",
			p.Name, s.Datagrams, s.Rejected, s.Message, frames+dropped, dropped, frames, len(want))
	}
	for reason, n := range s.Dropped {
		if n != drops[reason] {
			t.Errorf("%s: dropped %d as %s, want %d", p.Name, n, reason, drops[reason])
		}
	}
	for reason := range drops {
		if _, ok := s.Dropped[reason]; !ok {
			t.Errorf("%s: no count for reason %s in %v", p.Name, reason, s.Dropped)
		}
	}
	if s.Foreign != 0 {
		t.Errorf("%s: foreign_source %d, want 0: the kernel delivered datagrams of a source not joined", p.Name, s.Foreign)
	}
	sameBytes(t, out, want)
}

// testEveryByte: the producer sends a 64 KiB file in frames of 512 bytes;
// every receiver writes exactly that file and drops nothing.
func (e *netnsEnv) testEveryByte(t *testing.T, ctx context.Context) {
	port := e.fam.port
	data := netnsData(e.fam.seed+1, 64<<10) // 128 frames
	input := filepath.Join(e.dir, "every-byte.bin")
	writeFile(t, input, data, 0o644)
	frames := len(data) / netnsFrameSz

	type started struct {
		p         *harness.Proc
		role, out string
	}
	var rs []started
	for _, role := range e.fam.receivers {
		p, out := e.recv(t, ctx, role, "recv-"+role, port, frames, e.net.hosts[e.fam.prod].addr)
		rs = append(rs, started{p, role, out})
	}
	// 128 KiB/s: 256 frames a second, half a second in all.
	checkSent(t, e.sendAt(t, ctx, e.fam.prod, "send", e.key, input, port, 128<<10), frames, len(data))
	for _, r := range rs {
		checkRecv(t, r.p, e.net.hosts[r.role].ns, r.out, data, nil)
	}
}

// testSSMFilter: the other host, with a copy of the producer's key, sends
// its own frames from its own address to the same group and port, at the
// same time as the producer. Frames of the trusted key, from a later
// epoch: were they delivered, the receivers would forward them and then
// drop the producer's as replays. The receivers joined to the producer
// never see one of them, neither on a host where no socket wants the
// other's source (the interface's filter drops them: IPv4's rxa) nor on
// the host where a second recv on the same port joins the other's source
// and gets all of them and none of the producer's (the per-socket filter
// keeps them apart: IPv4's rxb, IPv6's rx).
func (e *netnsEnv) testSSMFilter(t *testing.T, ctx context.Context) {
	port := e.fam.port + 1
	prodData, otherData := netnsData(e.fam.seed+2, 48<<10), netnsData(e.fam.seed+3, 48<<10)
	prodIn, otherIn := filepath.Join(e.dir, "filter-prod.bin"), filepath.Join(e.dir, "filter-other.bin")
	writeFile(t, prodIn, prodData, 0o644)
	writeFile(t, otherIn, otherData, 0o644)
	copied := filepath.Join(e.dir, "copied.jwk")
	key, err := os.ReadFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, copied, key, 0o600)
	frames := len(prodData) / netnsFrameSz
	prod, other := e.net.hosts[e.fam.prod], e.net.hosts[e.fam.other]

	type started struct {
		p         *harness.Proc
		role, out string
		want      []byte
	}
	var rs []started
	for _, role := range e.fam.receivers {
		p, out := e.recv(t, ctx, role, "recv-"+role, port, frames, prod.addr)
		rs = append(rs, started{p, role, out, prodData})
	}
	last := e.fam.receivers[len(e.fam.receivers)-1]
	p, out := e.recv(t, ctx, last, "recv-"+last+"-"+e.fam.other, port, frames, other.addr)
	rs = append(rs, started{p, last, out, otherData})
	counted := e.net.hosts[e.fam.receivers[0]]
	rxBefore := rxPackets(t, counted.ns, "eth0")

	// 64 KiB/s each: 96 frames in 0.75s, interleaved on the wire. The
	// other host starts first, so that its frames are on the wire before
	// the producer's.
	otherSend := e.sendAt(t, ctx, e.fam.other, "send-"+e.fam.other, copied, otherIn, port, 64<<10)
	prodSend := e.sendAt(t, ctx, e.fam.prod, "send", e.key, prodIn, port, 64<<10)
	checkSent(t, otherSend, frames, len(otherData))
	checkSent(t, prodSend, frames, len(prodData))

	for _, r := range rs {
		checkRecv(t, r.p, e.net.hosts[r.role].ns, r.out, r.want, nil)
	}
	// Both streams did reach the first receiver's eth0: the kernel
	// dropped the other's, not the network.
	if got := rxPackets(t, counted.ns, "eth0") - rxBefore; got < uint64(2*frames) {
		t.Errorf("%s eth0 received %d packets during the test, want at least %d (both senders' frames)", e.fam.receivers[0], got, 2*frames)
	}
}

// Attacker parameters of testSpoofed.
const (
	spoofCapture = 16   // genuine frames the attacker records, then replays
	spoofForged  = 40   // datagrams of each forged kind sent one by one
	spoofFlood   = 3000 // datagrams of the flood
	// spoofBurst is how many datagrams the attacker sends back to back
	// before it pauses for 1ms: about 9000 a second. Unpaced (80000 a
	// second here) the kernel drops datagrams at the receivers' sockets
	// (RcvbufErrors), the producer's among them, and the receivers could
	// not account for every datagram. On a two-CPU machine loss began
	// between 40 and 100 a burst.
	spoofBurst = 10
)

// testSpoofed: the attacker takes the producer's address. It records
// genuine frames, then, while the producer keeps sending, sends from
// 192.0.2.1: replays of the recorded frames, frames signed with its own
// key, frames that claim the producer's key with a bad signature, frames
// of another alg, garbage, oversized datagrams, and a flood of all of
// these. The kernel must deliver all of it (same source, same group).
//
// Paced (see spoofBurst), nothing is lost on the way: the receivers must
// forward exactly the producer's bytes, each once, and count every other
// datagram under its reason. Unpaced, the receivers' sockets overflow and
// the producer's frames are lost with the attacker's: the receivers, run
// without --count and stopped once the producer is done, must still
// forward nothing but the producer's frames, none twice, and
// count no datagram under a reason the attacker did not send.
func (e *netnsEnv) testSpoofed(t *testing.T, ctx context.Context, paced bool) {
	port, count, burst := netnsPort+2, len(netnsSpoofData)/netnsFrameSz, spoofBurst
	if !paced {
		port, count, burst = netnsPort+3, 0, 0
	}
	atkNS := e.net.hosts["atk"].ns
	data := netnsSpoofData
	frames := len(data) / netnsFrameSz
	// The producer reads its input from a pipe: the last frames are
	// written only once the attacker is done, so that every attack
	// datagram reaches the receivers before they have their --count.
	head, tail := data[:len(data)-32*netnsFrameSz], data[len(data)-32*netnsFrameSz:]

	ra, outA := e.recv(t, ctx, "rxa", "recv-a", port, count, prodAddr)
	rb, outB := e.recv(t, ctx, "rxb", "recv-b", port, count, prodAddr)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	atk := startProc(t, ctx, atkNS, "attacker", "env",
		"SSMRANDOM_NETNS_HELPER=attacker",
		"SSMR_GROUP="+netip.AddrPortFrom(netip.MustParseAddr(netnsGroup), uint16(port)).String(),
		"SSMR_IFACE=eth0", "SSMR_PRODUCER="+prodAddr, "SSMR_BURST="+strconv.Itoa(burst),
		exe, "-test.run=^TestNetnsHelper$", "-test.count=1")
	waitLine(t, atk, atk.Stdout, "joined", 10*time.Second)

	// 32 KiB/s: 64 frames a second, 3.5s for the head.
	prod := e.send(t, ctx, "prod", "send", e.key, "-", port, "-s", strconv.Itoa(netnsFrameSz), "--rate", strconv.Itoa(32<<10))
	headDone := make(chan error, 1)
	go func() {
		_, err := prod.Stdin.Write(head)
		headDone <- err
	}()

	waitLine(t, atk, atk.Stdout, "captured", 10*time.Second)
	// Take the producer's address. Only now: with 192.0.2.1 local, the
	// attacker's kernel would drop the producer's datagrams as martians
	// (a local source address), so it records first. (IPv4 has no DAD
	// to skip: ip warns that "nodad" is for IPv6 only.)
	harness.IP(t, "-n", atkNS, "addr", "add", prodAddr+"/32", "dev", "eth0")
	t.Cleanup(func() { harness.TryIP("-n", atkNS, "addr", "del", prodAddr+"/32", "dev", "eth0") })
	start := time.Now()
	if _, err := atk.Stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	waitExit(t, atk, 20*time.Second)
	attackTime := time.Since(start)
	waitLine(t, atk, atk.Stdout, "done", time.Second)
	// The datagrams sent, by the reason each receiver must drop them for.
	drops := map[string]uint64{}
	for _, line := range atk.Stdout.All() {
		if rest, ok := strings.CutPrefix(line, "sent "); ok {
			reason, n, _ := strings.Cut(rest, " ")
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				t.Fatalf("attacker: bad line %q", line)
			}
			drops[reason] += v
		}
	}
	t.Logf("attacker sent %v in %v; %s", drops, attackTime.Round(time.Millisecond), waitLine(t, atk, atk.Stdout, "flood of", time.Second))
	for _, r := range []string{"replay", "unknown_key", "bad_signature", "malformed", "too_big", "bad_alg"} {
		if drops[r] == 0 {
			t.Fatalf("attacker sent no datagram to be dropped as %s: %v", r, drops)
		}
	}

	select {
	case err := <-headDone:
		if err != nil {
			t.Fatalf("producer's input: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("producer's input: head not read within 15s")
	}
	// The producer was still sending when the attacker finished: it had
	// not read all the head yet. (If it had, the attack took over 3.5s;
	// the assertions below still hold, the test just proves less.)
	if _, err := prod.Stdin.Write(tail); err != nil {
		t.Fatalf("producer's input: %v", err)
	}
	prod.Stdin.Close()
	checkSent(t, prod, frames, len(data))

	if paced {
		checkRecv(t, ra, e.net.hosts["rxa"].ns, outA, data, drops)
		checkRecv(t, rb, e.net.hosts["rxb"].ns, outB, data, drops)
		return
	}
	time.Sleep(200 * time.Millisecond) // the last frames' way to the receivers
	checkLossy(t, ra, e.net.hosts["rxa"].ns, outA, data, drops)
	checkLossy(t, rb, e.net.hosts["rxb"].ns, outB, data, drops)
}

// netnsSpoofData is what the producer sends in testSpoofed: 256 frames.
var netnsSpoofData = netnsData(4, 128<<10)

// checkLossy stops a receiver run without --count and checks that what it
// forwarded is only frames of want, none twice, that its
// summary agrees, and that it dropped no datagram for a reason not in
// sent (at most as many as were sent for each).
func checkLossy(t *testing.T, p *harness.Proc, ns, out string, want []byte, sent map[string]uint64) {
	t.Helper()
	p.Signal(syscall.SIGTERM)
	waitExit(t, p, 10*time.Second)
	s := summary(t, p, "stopped: ")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got)%netnsFrameSz != 0 {
		t.Fatalf("%s: wrote %d bytes, not whole frames of %d", p.Name, len(got), netnsFrameSz)
	}
	// Frames need not be in order: had a receiver lost one of the frames
	// the attacker recorded, the attacker's copy would be its first, and
	// rightly forwarded when it came.
	total := len(want) / netnsFrameSz
	index := make(map[string]int, total)
	for k := range total {
		index[string(want[k*netnsFrameSz:(k+1)*netnsFrameSz])] = k
	}
	seen := make(map[int]int) // producer frame → output frame
	for off := 0; off < len(got); off += netnsFrameSz {
		k, ok := index[string(got[off:off+netnsFrameSz])]
		if !ok {
			t.Fatalf("%s: frame %d of the output is none of the producer's", p.Name, off/netnsFrameSz)
		}
		if j, dup := seen[k]; dup {
			t.Fatalf("%s: frames %d and %d of the output are both the producer's frame %d", p.Name, j, off/netnsFrameSz, k)
		}
		seen[k] = off / netnsFrameSz
	}
	forwarded := uint64(len(got) / netnsFrameSz)
	if s.Frames != forwarded || s.Bytes != uint64(len(got)) || forwarded == 0 {
		t.Errorf("%s: %q, and %d frames in its output; want them equal, and not 0", p.Name, s.Message, forwarded)
	}
	for reason, n := range s.Dropped {
		if n > sent[reason] {
			t.Errorf("%s: dropped %d as %s; the attacker sent %d such", p.Name, n, reason, sent[reason])
		}
	}
	if s.Foreign != 0 {
		t.Errorf("%s: foreign_source %d, want 0", p.Name, s.Foreign)
	}
	t.Logf("%s: forwarded %d of %d frames, dropped %v; UDP counters of its host since it was made: %s", p.Name, forwarded, total, s.Dropped, udpStats(ns))
}

// TestNetnsHelper is not a test: it is the attacker testSpoofed runs in
// the attacker's namespace, selected by SSMRANDOM_NETNS_HELPER, and does
// nothing otherwise. It speaks on stdout, one line each: "joined" once it
// has joined (SSMR_PRODUCER, SSMR_GROUP) on SSMR_IFACE, "captured N" once
// it has recorded N genuine datagrams; then it waits for a line on stdin
// (the test gives it the producer's address meanwhile), sends its attack
// from SSMR_PRODUCER (in bursts of SSMR_BURST datagrams, 1ms apart; 0 for
// no pause), and says "sent REASON N" for the datagrams it sent
// that a receiver must drop as REASON, and "done".
func TestNetnsHelper(t *testing.T) {
	if os.Getenv("SSMRANDOM_NETNS_HELPER") != "attacker" {
		return
	}
	group := netip.MustParseAddrPort(os.Getenv("SSMR_GROUP"))
	producer := netip.MustParseAddr(os.Getenv("SSMR_PRODUCER"))
	ifi, err := net.InterfaceByName(os.Getenv("SSMR_IFACE"))
	if err != nil {
		t.Fatal(err)
	}
	burst, err := strconv.Atoi(os.Getenv("SSMR_BURST"))
	if err != nil {
		t.Fatal(err)
	}

	// Record genuine frames.
	r, err := mcast.JoinSSM(group, ifi, []netip.Addr{producer})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	fmt.Println("joined")
	var captured [][]byte
	buf := make([]byte, mcast.ReadBufferSize)
	for len(captured) < spoofCapture {
		n, _, err := r.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		captured = append(captured, bytes.Clone(buf[:n]))
	}
	r.Close()
	fmt.Printf("captured %d\n", len(captured))

	// What the genuine frames give away: the producer's protected header
	// (its kid), its epoch and how far its sequence numbers got.
	header, _, _ := bytes.Cut(captured[0], []byte("."))
	var hdr struct {
		Kid string `json:"kid"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(string(header)); err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Kid == "" {
		t.Fatalf("captured datagram: no kid in header %q", header)
	}
	var last frame.Frame
	for _, d := range captured {
		parts := bytes.Split(d, []byte("."))
		if len(parts) != 3 || !bytes.Equal(parts[0], header) {
			t.Fatalf("captured datagram is not the producer's: %.80q", d)
		}
		p, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
		if err != nil {
			t.Fatal(err)
		}
		if last, err = frame.Parse(p); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("waiting for the go-ahead: %v", err)
	}
	c := multicastFrom(t, producer, ifi)
	defer c.Close()
	// send sends d and counts it under reason, in bursts of burst
	// datagrams 1ms apart (0: no pause).
	sent, n := map[string]int{}, 0
	send := func(reason string, d []byte) {
		if _, err := c.WriteToUDPAddrPort(d, group); err != nil {
			t.Fatalf("send: %v", err)
		}
		sent[reason]++
		if n++; burst > 0 && n%burst == 0 {
			time.Sleep(time.Millisecond)
		}
	}

	rng := mrand.New(mrand.NewChaCha8([32]byte{66}))
	b64 := base64.RawURLEncoding.EncodeToString
	// payload is a fresh, well-formed frame of the producer's stream.
	payload := func(epoch, seq uint64) []byte {
		data := make([]byte, netnsFrameSz)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		f := frame.Frame{Source: netnsSource, Epoch: epoch, Seq: seq, Time: time.Now().UnixMilli(), Data: data}
		return f.Append(nil)
	}
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x66}, ed25519.SeedSize))
	own, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	ownSigned := func() []byte { // well signed, by a key nobody trusts
		d, err := own.Sign(payload(uint64(time.Now().UnixMilli()), uint64(sent["unknown_key"])))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// forged claims the producer's kid for a fresh frame, signed with the
	// attacker's key: it passes every check but the signature.
	forged := func(epoch, seq uint64) []byte {
		input := string(header) + "." + b64(payload(epoch, seq))
		return []byte(input + "." + b64(ed25519.Sign(priv, []byte(input))))
	}
	// tampered is a genuine datagram whose payload now says a fresh,
	// unseen sequence number, under the producer's own signature.
	tampered := func(d []byte, seq uint64) []byte {
		parts := bytes.Split(d, []byte("."))
		return []byte(string(parts[0]) + "." + b64(payload(last.Epoch, seq)) + "." + string(parts[2]))
	}
	// badAlg is the producer's kid under another alg.
	badAlg := func() []byte {
		h := b64([]byte(`{"alg":"HS256","kid":"` + hdr.Kid + `"}`))
		return []byte(h + "." + b64(payload(last.Epoch, last.Seq+500_000)) + "." + b64(make([]byte, 64)))
	}
	garbage := func() []byte {
		d := make([]byte, 100+rng.IntN(1000))
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		return d
	}
	// notFrame is a JWS of the producer's kid whose payload is no frame.
	notFrame := func() []byte {
		input := string(header) + "." + b64([]byte(`{"v":"2.0","hello":"world"}`))
		return []byte(input + "." + b64(ed25519.Sign(priv, []byte(input))))
	}
	tooBig := func() []byte { return bytes.Repeat([]byte("A"), 2000) } // over recv's --max-datagram 1472
	ahead := last.Seq + 100_000                                        // far ahead of the producer, within its epoch

	// (c) Replays of the recorded frames, at once.
	for _, d := range captured {
		send("replay", d)
	}
	// (a) Frames signed with the attacker's own key.
	for range spoofForged {
		send("unknown_key", ownSigned())
	}
	// (b) Frames that claim the producer's key: signed with another key,
	// for the current and for a later epoch; genuine signatures over a
	// changed payload; the right kid under another alg.
	for i := range uint64(spoofForged) {
		send("bad_signature", forged(last.Epoch, ahead+i))
		send("bad_signature", forged(last.Epoch+1+i, 0))
		send("bad_signature", tampered(captured[i%spoofCapture], ahead+spoofForged+i))
		send("bad_alg", badAlg())
	}
	// Garbage of several kinds.
	for range spoofForged {
		send("malformed", garbage())
		send("malformed", notFrame())
		send("too_big", tooBig())
	}
	// (c) The same recorded frames again.
	for _, d := range captured {
		send("replay", d)
	}
	// (d) A flood of all of these.
	pool := map[string][][]byte{}
	for i := range 20 {
		pool["unknown_key"] = append(pool["unknown_key"], ownSigned())
		pool["bad_signature"] = append(pool["bad_signature"], forged(last.Epoch, ahead+2*spoofForged+uint64(i)))
		pool["malformed"] = append(pool["malformed"], garbage(), notFrame())
	}
	pool["replay"] = captured
	kinds := []string{"malformed", "unknown_key", "replay", "bad_signature", "malformed", "unknown_key"}
	floodStart := time.Now()
	for i := range spoofFlood {
		kind := kinds[i%len(kinds)]
		send(kind, pool[kind][rng.IntN(len(pool[kind]))])
	}
	fmt.Printf("flood of %d datagrams in %v\n", spoofFlood, time.Since(floodStart).Round(time.Millisecond))

	reasons := make([]string, 0, len(sent))
	for r := range sent {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Printf("sent %s %d\n", r, sent[r])
	}
	fmt.Println("done")
}

// net6 is the IPv6 network of the tests: each host's eth0 gets its
// address as a /64 without duplicate address detection (nodad: usable at
// once), and the build waits until IPv6 on each host's eth0 has its
// ff00::/8 multicast route, which it adds only once the carrier is up;
// without it a host drops the multicast datagrams it receives
// (Ip6InNoRoutes). The namespaces are named netnsPrefix + id + "-v6" +
// role, so that removeStale also deletes those of a dead run.
var net6 = netFamily{suffix: "-v6", prefix: "64", addrFlags: []string{"nodad"}, ready: func(t *testing.T, role, ns, addr string) {
	harness.WaitUntil(t, role+" eth0 IPv6 multicast route", func() bool {
		return strings.Contains(harness.IP(t, "-n", ns, "-6", "route", "show", "table", "local", "dev", "eth0"), "ff00::/8")
	})
	// nodad: the address is usable at once, never tentative.
	out := harness.IP(t, "-n", ns, "-6", "addr", "show", "dev", "eth0")
	if i := strings.Index(out, addr+"/64"); i < 0 || strings.Contains(strings.SplitN(out[i:], "\n", 2)[0], "tentative") {
		t.Fatalf("%s eth0: %s/64 missing or tentative: %s", role, addr, out)
	}
}}

// test6Budget: with --max-datagram 1452 (IPv6 over a 1500-byte MTU), send
// refuses frames of 1024 bytes, which need a datagram of about 1930 bytes
// (the JWS base64-encodes the frame), as a usage error naming the largest
// size that fits (642 bytes, with the source name of these tests); without
// -s it picks 512, the largest power of two that fits, and a receiver that
// drops datagrams over 1452 bytes gets every frame.
func (e *netnsEnv) test6Budget(t *testing.T, ctx context.Context) {
	const port = netns6Port + 2
	data := netnsData(64, 8*netnsFrameSz)
	input := filepath.Join(e.dir, "budget6.bin")
	writeFile(t, input, data, 0o644)

	big := e.send(t, ctx, "prod", "send-1024", e.key, input, port, "-s", "1024", "--max-datagram", netns6Budget)
	select {
	case <-big.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10s, want a usage error", big.Name)
	}
	var ee *exec.ExitError
	if !errors.As(big.Err(), &ee) || ee.ExitCode() != 2 {
		t.Fatalf("%s: exit status %v, want exit status 2 (usage error)", big.Name, big.Err())
	}
	stderr := strings.Join(big.Stderr.All(), "\n")
	if !strings.Contains(stderr, "ssmrandom: error: frames of 1024 bytes do not fit a datagram of 1452 bytes") {
		t.Errorf("%s: stderr %q, want the error that frames of 1024 bytes do not fit 1452", big.Name, stderr)
	}
	m := regexp.MustCompile(`ssmrandom: hint: use -s/--size (\d+) or less`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("%s: stderr %q, want a hint naming the largest -s/--size", big.Name, stderr)
	}
	if largest, _ := strconv.Atoi(m[1]); largest < netnsFrameSz || largest >= 1024 {
		t.Errorf("%s: hint names -s/--size %d, want from %d to 1023", big.Name, largest, netnsFrameSz)
	} else {
		t.Logf("largest frame that fits 1452 bytes: %d bytes", largest)
	}

	frames := len(data) / netnsFrameSz
	r, out := e.recv(t, ctx, "rx", "recv", port, frames, prod6Addr)
	s := e.send(t, ctx, "prod", "send-default-size", e.key, input, port, "--max-datagram", netns6Budget, "--rate", "0")
	line := waitLine(t, s, s.Stderr, `"message":"sending"`, 10*time.Second)
	if !strings.Contains(line, `"size":512,`) || !strings.Contains(line, `"max_datagram":1452,`) {
		t.Errorf("%s: %s; want size 512, max_datagram 1452", s.Name, line)
	}
	checkSent(t, s, frames, len(data))
	checkRecv(t, r, e.net.hosts["rx"].ns, out, data, nil)
}
