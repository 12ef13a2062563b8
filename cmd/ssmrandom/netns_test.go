//go:build linux

package main

// Multi-host tests: ssmrandom send and recv on a switched network of
// network namespaces, with a hostile host on the same segment. The
// network (see newTestNet):
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
// The ssmrandom command is built with go build (see ssmrandomBinary) and
// run under "ip netns exec".

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// The test network's addresses (documentation ranges only) and channel.
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

func TestNetns(t *testing.T) {
	netnsNeedRoot(t)
	removeStale(t)
	id := lockRun(t) // released last, after the namespaces are gone
	var made []string

	t.Run("network", func(t *testing.T) {
		n := newTestNet(t, id, [2]string{"prod", prodAddr}, [2]string{"rxa", rxaAddr},
			[2]string{"rxb", rxbAddr}, [2]string{"atk", atkAddr})
		made = ownNetns(t, id, 5)
		e := &netnsEnv{net: n, bin: ssmrandomBinary(t), dir: t.TempDir()}
		e.keys(t)
		t.Run("both receivers get every byte", e.testEveryByte)
		t.Run("the kernel's SSM filter", e.testSSMFilter)
		t.Run("spoofed source", func(t *testing.T) { e.testSpoofed(t, true) })
		t.Run("spoofed source, unpaced flood", func(t *testing.T) { e.testSpoofed(t, false) })
	})

	checkNetnsGone(t, id, made)
}

// netnsEnv is what the subtests share.
type netnsEnv struct {
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
	p := startProc(t, ctx, e.net.hosts["prod"].ns, "keygen", e.bin, "keygen", "-o", filepath.Join(e.dir, "producer"))
	p.wait(t, 15*time.Second)
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

// recv starts ssmrandom recv on host role, joined to the given
// producers, writing count frames to a new file, and waits until it
// receives. It returns the process and the output file.
func (e *netnsEnv) recv(t *testing.T, ctx context.Context, role, name string, port, count int, producers ...string) (*proc, string) {
	t.Helper()
	out := filepath.Join(e.dir, fmt.Sprintf("%s-%d.out", name, port))
	writeFile(t, out, nil, 0o644) // a regular file: appended to (a missing one would be made a FIFO)
	argv := []string{e.bin, "recv", "--trust", e.trust, "-o", out, "-g", netnsGroup, "-p", strconv.Itoa(port),
		"-i", "eth0", "--count", strconv.Itoa(count), "--stats-interval", "0", "--log-format", "json"}
	p := startProc(t, ctx, e.net.hosts[role].ns, name, append(argv, producers...)...)
	// "receiving" comes once the channel is joined and the replay guard
	// made: frames made from now on are fresh.
	p.waitLine(t, &p.stderr, `"message":"receiving"`, 10*time.Second)
	return p, out
}

// send starts ssmrandom send on host role with key, reading input (a
// file, or - for the process's stdin).
func (e *netnsEnv) send(t *testing.T, ctx context.Context, role, name, key, input string, port, rate int) *proc {
	t.Helper()
	return startProc(t, ctx, e.net.hosts[role].ns, name, e.bin, "send", "-k", key, "-r", input,
		"-s", strconv.Itoa(netnsFrameSz), "--rate", strconv.Itoa(rate), "-g", netnsGroup, "-p", strconv.Itoa(port),
		"-i", "eth0", "-t", "1", "--source", netnsSource, "--stats-interval", "0", "--log-format", "json")
}

// checkSent waits for a sender and checks that it sent frames frames of
// the given bytes, without errors.
func checkSent(t *testing.T, p *proc, frames, bytes int) {
	t.Helper()
	p.wait(t, 15*time.Second)
	var s sendSummary
	p.summary(t, `"message":"sent `, &s)
	if s.Frames != uint64(frames) || s.Bytes != uint64(bytes) || s.SendErrors != 0 {
		t.Fatalf("%s: %s; want %d frames, %d bytes, 0 send errors", p.name, s.Message, frames, bytes)
	}
}

// checkRecv waits for a receiver and checks its summary: frames frames of
// want forwarded, the drops by reason (all others 0), no foreign source,
// and want in its output file.
func checkRecv(t *testing.T, p *proc, ns, out string, want []byte, drops map[string]uint64) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: UDP counters of its host: %s", p.name, udpStats(ns))
		}
	})
	p.wait(t, 15*time.Second)
	var s recvSummary
	p.summary(t, `"message":"stopped: `, &s)
	frames := uint64(len(want) / netnsFrameSz)
	var dropped uint64
	for _, n := range drops {
		dropped += n
	}
	if s.Frames != frames || s.Bytes != uint64(len(want)) || s.Datagrams != frames+dropped || s.Rejected != dropped {
		t.Errorf("%s: %d datagrams, %d rejected, %q; want %d datagrams, %d rejected, %d frames (%d bytes) forwarded",
			p.name, s.Datagrams, s.Rejected, s.Message, frames+dropped, dropped, frames, len(want))
	}
	for reason, n := range s.Dropped {
		if n != drops[reason] {
			t.Errorf("%s: dropped %d as %s, want %d", p.name, n, reason, drops[reason])
		}
	}
	for reason := range drops {
		if _, ok := s.Dropped[reason]; !ok {
			t.Errorf("%s: no count for reason %s in %v", p.name, reason, s.Dropped)
		}
	}
	if s.Foreign != 0 {
		t.Errorf("%s: foreign_source %d, want 0: the kernel delivered datagrams of a source not joined", p.name, s.Foreign)
	}
	sameBytes(t, out, want)
}

// testEveryByte: the producer sends a file; both receivers write exactly
// that file, and drop nothing.
func (e *netnsEnv) testEveryByte(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const port = netnsPort
	data := netnsData(1, 64<<10) // 128 frames
	input := filepath.Join(e.dir, "every-byte.bin")
	writeFile(t, input, data, 0o644)
	frames := len(data) / netnsFrameSz

	ra, outA := e.recv(t, ctx, "rxa", "recv-a", port, frames, prodAddr)
	rb, outB := e.recv(t, ctx, "rxb", "recv-b", port, frames, prodAddr)
	// 128 KiB/s: 256 frames a second, half a second in all.
	checkSent(t, e.send(t, ctx, "prod", "send", e.key, input, port, 128<<10), frames, len(data))
	checkRecv(t, ra, e.net.hosts["rxa"].ns, outA, data, nil)
	checkRecv(t, rb, e.net.hosts["rxb"].ns, outB, data, nil)
}

// testSSMFilter: the attacker host, with a copy of the producer's key,
// sends its own frames from its own address to the same group and port,
// at the same time as the producer. Frames of the trusted key, from a
// later epoch: were they delivered, the receivers would forward them and
// then drop the producer's as replays. The receivers joined to the
// producer never see one of them, neither at rxa (no socket there wants
// the attacker's source: the interface's filter drops them) nor at rxb,
// where a second recv on the same port joins the attacker's source and
// gets all of them (the per-socket filter keeps them apart).
func (e *netnsEnv) testSSMFilter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const port = netnsPort + 1
	prodData, atkData := netnsData(2, 48<<10), netnsData(3, 48<<10)
	prodIn, atkIn := filepath.Join(e.dir, "filter-prod.bin"), filepath.Join(e.dir, "filter-atk.bin")
	writeFile(t, prodIn, prodData, 0o644)
	writeFile(t, atkIn, atkData, 0o644)
	stolen := filepath.Join(e.dir, "stolen.jwk")
	key, err := os.ReadFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, stolen, key, 0o600)
	frames := len(prodData) / netnsFrameSz

	ra, outA := e.recv(t, ctx, "rxa", "recv-a", port, frames, prodAddr)
	rb, outB := e.recv(t, ctx, "rxb", "recv-b", port, frames, prodAddr)
	ctl, outCtl := e.recv(t, ctx, "rxb", "recv-b-attacker", port, frames, atkAddr)
	rxBefore := rxPackets(t, e.net.hosts["rxa"].ns, "eth0")

	// 64 KiB/s each: 96 frames in 0.75s, interleaved on the wire.
	atk := e.send(t, ctx, "atk", "send-attacker", stolen, atkIn, port, 64<<10)
	prod := e.send(t, ctx, "prod", "send", e.key, prodIn, port, 64<<10)
	checkSent(t, atk, frames, len(atkData))
	checkSent(t, prod, frames, len(prodData))

	checkRecv(t, ra, e.net.hosts["rxa"].ns, outA, prodData, nil)
	checkRecv(t, rb, e.net.hosts["rxb"].ns, outB, prodData, nil)
	checkRecv(t, ctl, e.net.hosts["rxb"].ns, outCtl, atkData, nil)
	// Both streams did reach rxa's eth0: the kernel dropped the
	// attacker's, not the network.
	if got := rxPackets(t, e.net.hosts["rxa"].ns, "eth0") - rxBefore; got < uint64(2*frames) {
		t.Errorf("rxa eth0 received %d packets during the test, want at least %d (both senders' frames)", got, 2*frames)
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
func (e *netnsEnv) testSpoofed(t *testing.T, paced bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
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
	atk.waitLine(t, &atk.stdout, "joined", 10*time.Second)

	// 32 KiB/s: 64 frames a second, 3.5s for the head.
	prod := e.send(t, ctx, "prod", "send", e.key, "-", port, 32<<10)
	headDone := make(chan error, 1)
	go func() {
		_, err := prod.stdin.Write(head)
		headDone <- err
	}()

	atk.waitLine(t, &atk.stdout, "captured", 10*time.Second)
	// Take the producer's address. Only now: with 192.0.2.1 local, the
	// attacker's kernel would drop the producer's datagrams as martians
	// (a local source address), so it records first. (IPv4 has no DAD
	// to skip: ip warns that "nodad" is for IPv6 only.)
	ipRun(t, "-n", atkNS, "addr", "add", prodAddr+"/32", "dev", "eth0")
	t.Cleanup(func() { ipTry("-n", atkNS, "addr", "del", prodAddr+"/32", "dev", "eth0") })
	start := time.Now()
	if _, err := atk.stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	atk.wait(t, 20*time.Second)
	attackTime := time.Since(start)
	atk.waitLine(t, &atk.stdout, "done", time.Second)
	// The datagrams sent, by the reason each receiver must drop them for.
	drops := map[string]uint64{}
	for _, line := range atk.stdout.Lines() {
		if rest, ok := strings.CutPrefix(line, "sent "); ok {
			reason, n, _ := strings.Cut(rest, " ")
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				t.Fatalf("attacker: bad line %q", line)
			}
			drops[reason] += v
		}
	}
	t.Logf("attacker sent %v in %v; %s", drops, attackTime.Round(time.Millisecond), atk.waitLine(t, &atk.stdout, "flood of", time.Second))
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
	if _, err := prod.stdin.Write(tail); err != nil {
		t.Fatalf("producer's input: %v", err)
	}
	prod.stdin.Close()
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
func checkLossy(t *testing.T, p *proc, ns, out string, want []byte, sent map[string]uint64) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 10*time.Second)
	var s recvSummary
	p.summary(t, `"message":"stopped: `, &s)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got)%netnsFrameSz != 0 {
		t.Fatalf("%s: wrote %d bytes, not whole frames of %d", p.name, len(got), netnsFrameSz)
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
			t.Fatalf("%s: frame %d of the output is none of the producer's", p.name, off/netnsFrameSz)
		}
		if j, dup := seen[k]; dup {
			t.Fatalf("%s: frames %d and %d of the output are both the producer's frame %d", p.name, j, off/netnsFrameSz, k)
		}
		seen[k] = off / netnsFrameSz
	}
	forwarded := uint64(len(got) / netnsFrameSz)
	if s.Frames != forwarded || s.Bytes != uint64(len(got)) || forwarded == 0 {
		t.Errorf("%s: %q, and %d frames in its output; want them equal, and not 0", p.name, s.Message, forwarded)
	}
	for reason, n := range s.Dropped {
		if n > sent[reason] {
			t.Errorf("%s: dropped %d as %s; the attacker sent %d such", p.name, n, reason, sent[reason])
		}
	}
	if s.Foreign != 0 {
		t.Errorf("%s: foreign_source %d, want 0", p.name, s.Foreign)
	}
	t.Logf("%s: forwarded %d of %d frames, dropped %v; UDP counters of its host since it was made: %s", p.name, forwarded, total, s.Dropped, udpStats(ns))
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
	buf := make([]byte, mcast.MaxDatagram)
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
		p, err := f.Append(nil), f.Check()
		if err != nil {
			t.Fatal(err)
		}
		return p
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
