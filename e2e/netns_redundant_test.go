//go:build linux

package e2e

// Redundant producers: two producers, each with its own key, multicast to
// one group; a receiver joins both channels. Midway, producer B stops, and
// then its host turns hostile and sends forged frames under B's kid and
// garbage. The network (see newTestNet):
//
//	          sw: br0
//	   p0 |       p1 |       p2 |
//	pa eth0    pb eth0    rx eth0
//	192.0.2.1  192.0.2.2  192.0.2.11

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/harness"
)

const (
	redundantA     = "192.0.2.1"
	redundantB     = "192.0.2.2"
	redundantRx    = "192.0.2.11"
	redundantGroup = "232.0.1.154"
	redundantPort  = 49154
)

func TestNetnsRedundant(t *testing.T) {
	harness.NeedNetns(t)
	removeStale(t)
	id := lockRun(t) // released last, after the namespaces are gone
	var made []string
	t.Run("two producers", func(t *testing.T) {
		testRedundant(t, id, &made)
	})
	checkNetnsGone(t, id, made)
}

// testRedundant is TestNetnsRedundant on the network it builds; it sets
// *made to the namespaces it made as soon as they are there.
func testRedundant(t *testing.T, id string, made *[]string) {
	fam := net4
	fam.suffix = "-r-"
	n := buildTestNet(t, id, fam, [2]string{"pa", redundantA}, [2]string{"pb", redundantB}, [2]string{"rx", redundantRx})
	*made = ownNetns(t, id, 4)
	bin, dir := ssmrandomBinary(t), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	trust := filepath.Join(dir, "trust")
	if err := os.Mkdir(trust, 0o755); err != nil {
		t.Fatal(err)
	}
	kid := map[string]string{}
	for _, role := range []string{"pa", "pb"} {
		p := startProc(t, ctx, n.hosts[role].ns, "keygen-"+role, bin, "keygen", "-o", filepath.Join(dir, role))
		waitExit(t, p, 15*time.Second)
		pub, err := os.ReadFile(filepath.Join(dir, role+".pub.jwk"))
		if err != nil {
			t.Fatal(err)
		}
		// keygen prints the kid, and only that, on stdout.
		if out := p.Stdout.All(); len(out) != 1 || len(out[0]) != 43 {
			t.Fatalf("keygen-%s: stdout %q, want one line, the kid", role, out)
		}
		kid[role] = p.Stdout.All()[0]
		writeFile(t, filepath.Join(trust, role+".pub.jwk"), pub, 0o644)
	}

	// A sends 192 frames at 64 a second (3 s); B 32 frames (half a
	// second), and stops.
	dataA, dataB := netnsData(21, 192*netnsFrameSz), netnsData(22, 32*netnsFrameSz)
	inA, inB := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
	writeFile(t, inA, dataA, 0o644)
	writeFile(t, inB, dataB, 0o644)
	framesA, framesB := len(dataA)/netnsFrameSz, len(dataB)/netnsFrameSz

	out := filepath.Join(dir, "rx.out")
	writeFile(t, out, nil, 0o644)
	rx := startProc(t, ctx, n.hosts["rx"].ns, "recv", bin, "recv", "--trust", trust, "-o", out,
		"-g", redundantGroup, "-p", strconv.Itoa(redundantPort), "-i", "eth0",
		"--count", strconv.Itoa(framesA+framesB), "--stats-interval", "0", "--log-format", "json",
		redundantA, redundantB)
	waitLine(t, rx, rx.Stderr, `"message":"receiving"`, 10*time.Second)

	send := func(role, input string) *harness.Proc {
		return startProc(t, ctx, n.hosts[role].ns, "send-"+role, bin, "send", "-k", filepath.Join(dir, role+".jwk"),
			"-r", input, "-s", strconv.Itoa(netnsFrameSz), "--rate", strconv.Itoa(32<<10),
			"-g", redundantGroup, "-p", strconv.Itoa(redundantPort), "-i", "eth0", "-t", "1",
			"--source", role+".example.org", "--stats-interval", "0", "--log-format", "json")
	}
	sendA, sendB := send("pa", inA), send("pb", inB)
	checkSent(t, sendB, framesB, len(dataB))
	// B is gone; its host now sends forged frames under B's kid, and
	// garbage, from B's own address while A keeps sending.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hostile := startProc(t, ctx, n.hosts["pb"].ns, "hostile", "env",
		"SSMRANDOM_NETNS_HELPER=hostile", "SSMR_KID="+kid["pb"],
		"SSMR_GROUP="+netip.AddrPortFrom(netip.MustParseAddr(redundantGroup), redundantPort).String(),
		"SSMR_FROM="+redundantB, "SSMR_IFACE=eth0",
		exe, "-test.run=^TestNetnsHostileHelper$", "-test.count=1")
	waitExit(t, hostile, 20*time.Second)
	forged, garbage := hostileCount(t, hostile, "bad_signature"), hostileCount(t, hostile, "malformed")
	checkSent(t, sendA, framesA, len(dataA))

	waitExit(t, rx, 15*time.Second)
	s := summary(t, rx, "stopped: ")
	want := map[string]uint64{"bad_signature": forged, "malformed": garbage}
	for reason, n := range s.Dropped {
		if n != want[reason] {
			t.Errorf("recv: dropped %d as %s, want %d", n, reason, want[reason])
		}
	}
	if s.Frames != uint64(framesA+framesB) || s.Foreign != 0 {
		t.Errorf("recv: %s, foreign_source %d; want %d frames forwarded, none foreign", s.Message, s.Foreign, framesA+framesB)
	}

	// Each producer's frames arrive whole, in order, once each,
	// interleaved with the other's.
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var gotA, gotB []byte
	for f := range slicesChunk(got, netnsFrameSz) {
		switch {
		case bytes.Contains(dataA, f):
			gotA = append(gotA, f...)
		case bytes.Contains(dataB, f):
			gotB = append(gotB, f...)
		default:
			t.Fatalf("recv wrote a frame that neither producer sent: %x...", f[:16])
		}
	}
	if !bytes.Equal(gotA, dataA) || !bytes.Equal(gotB, dataB) {
		t.Errorf("recv: got %d bytes of A's and %d of B's, or out of order; want %d and %d in order", len(gotA), len(gotB), len(dataA), len(dataB))
	}

	// The per-producer counts: B's last frame is older than A's, since B
	// stopped first; the forgeries under its kid are not counted as B's.
	ps := s
	byKid := map[string]int{}
	for i, p := range ps.Producers {
		byKid[p.Kid] = i
	}
	for role, frames := range map[string]int{"pa": framesA, "pb": framesB} {
		i, ok := byKid[kid[role]]
		if !ok {
			t.Fatalf("recv summary: no producer %s (%s) in %+v", role, kid[role], ps.Producers)
		}
		p := ps.Producers[i]
		if !p.Trusted || p.Verified != uint64(frames) || p.Forwarded != uint64(frames) || p.Bytes != uint64(frames*netnsFrameSz) {
			t.Errorf("recv summary for %s: %+v; want %d frames verified and forwarded", role, p, frames)
		}
	}
	if a, b := ps.Producers[byKid[kid["pa"]]].LastAge, ps.Producers[byKid[kid["pb"]]].LastAge; b <= a {
		t.Errorf("last frame age: A %.3fs, B %.3fs; want B's older, since B stopped first", a, b)
	}
}

// slicesChunk yields b in pieces of n bytes.
func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) >= n {
			if !yield(b[:n]) {
				return
			}
			b = b[n:]
		}
	}
}

// hostileCount returns the number the hostile helper said it sent for reason.
func hostileCount(t *testing.T, p *harness.Proc, reason string) uint64 {
	t.Helper()
	line := waitLine(t, p, p.Stdout, "sent "+reason+" ", time.Second)
	var n uint64
	if _, err := fmt.Sscanf(line, "sent "+reason+" %d", &n); err != nil || n == 0 {
		t.Fatalf("hostile: bad line %q", line)
	}
	return n
}

// TestNetnsHostileHelper is the hostile former producer of
// TestNetnsRedundant, run as a separate process in its namespace: from
// SSMR_FROM, it sends 300 fresh frames that claim kid SSMR_KID but carry
// a signature of another key, and 100 datagrams of garbage, in bursts of
// 4 two milliseconds apart (2,000 a second, which the receiver's socket
// buffer holds even on a loaded machine under the race detector: this
// test is about what is forwarded and counted, while make bench-e2e
// measures floods), and says "sent REASON N" for each kind.
func TestNetnsHostileHelper(t *testing.T) {
	if os.Getenv("SSMRANDOM_NETNS_HELPER") != "hostile" {
		return
	}
	group := netip.MustParseAddrPort(os.Getenv("SSMR_GROUP"))
	ifi, err := net.InterfaceByName(os.Getenv("SSMR_IFACE"))
	if err != nil {
		t.Fatal(err)
	}
	c := multicastFrom(t, netip.MustParseAddr(os.Getenv("SSMR_FROM")), ifi)
	defer c.Close()
	b64 := base64.RawURLEncoding.EncodeToString
	header := b64([]byte(`{"alg":"EdDSA","kid":"` + os.Getenv("SSMR_KID") + `"}`))
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x77}, ed25519.SeedSize))
	rng := mrand.New(mrand.NewChaCha8([32]byte{77}))
	epoch := uint64(time.Now().UnixMilli())
	n := 0
	send := func(d []byte) {
		if _, err := c.WriteToUDPAddrPort(d, group); err != nil {
			t.Fatalf("send: %v", err)
		}
		if n++; n%4 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	const forged, garbage = 300, 100
	for i := range forged {
		data := make([]byte, netnsFrameSz)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		f := frame.Frame{Source: "pb.example.org", Epoch: epoch, Seq: uint64(i), Time: time.Now().UnixMilli(), Data: data}
		input := header + "." + b64(f.Append(nil))
		send([]byte(input + "." + b64(ed25519.Sign(priv, []byte(input)))))
	}
	for i := range garbage {
		g := make([]byte, 64+i)
		for j := range g {
			g[j] = byte(rng.Uint32())
		}
		send(g)
	}
	fmt.Printf("sent bad_signature %d\nsent malformed %d\n", forged, garbage)
}
