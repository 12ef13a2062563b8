package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ssmrandom": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
		"seedrecv":  func() { os.Exit(seedRecvMain()) },
		"seedcheck": func() { os.Exit(seedCheckMain()) },
	})
}

// TestScript runs the scripts in testdata: the CLI end to end, on loopback
// SSM. Each script uses its own group and port so they may run in parallel.
//
// Scripts that need root say "[!root] skip"; with CI set, not being root
// fails the test instead.
func TestScript(t *testing.T) {
	if os.Getenv("CI") != "" && os.Geteuid() != 0 {
		t.Fatal("CI is set but the tests do not run as root: scripts that need root would skip")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// $REPO: the module's root, for scripts that check its files.
			root, err := filepath.Abs(filepath.Join("..", ".."))
			env.Setenv("REPO", root)
			return err
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitjoin":    cmdWaitJoin,
			"waitread":    cmdWaitRead,
			"mkframe":     cmdMkframe,
			"sendraw":     cmdSendraw,
			"resend":      cmdResend,
			"httpget":     cmdHTTPGet,
			"sendtext":    cmdSendtext,
			"dashmetrics": cmdDashMetrics,
			"sealround":   cmdSealRound,
			"nosecret":    cmdNoSecret,
			"memberfeed":  cmdMemberFeed,
		},
	})
}

// cmdWaitJoin waits until some socket on this host has joined the SSM
// channel (SOURCE, GROUP), as /proc/net/mcfilter shows, so a script sends
// only once its receiver listens.
//
//	waitjoin GROUP SOURCE
func cmdWaitJoin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitjoin GROUP SOURCE")
	}
	group, err1 := netip.ParseAddr(args[0])
	source, err2 := netip.ParseAddr(args[1])
	if err1 != nil || err2 != nil || !group.Is4() || !source.Is4() {
		ts.Fatalf("waitjoin: want two IPv4 addresses")
	}
	// The kernel prints each address as a host-order word in hex.
	hex := func(a netip.Addr) string {
		b := a.As4()
		return fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(b[:]))
	}
	want := []string{hex(group), hex(source)}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if joined("/proc/net/mcfilter", want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("waitjoin: no socket joined (%s, %s) within 10s", source, group)
}

// cmdWaitRead waits until every UDP socket bound to PORT on this host has
// read all it was sent (an empty receive queue in /proc/net/udp, twice in
// a row 50 ms apart), so a script counts a receiver's drops only once it
// has seen every datagram, however slow the machine.
//
//	waitread PORT
func cmdWaitRead(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitread PORT")
	}
	port, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		ts.Fatalf("waitread: bad port %q", args[0])
	}
	want := fmt.Sprintf(":%04X", port)
	empty := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if queued(want) {
			empty = 0
		} else if empty++; empty == 2 {
			time.Sleep(200 * time.Millisecond) // the last datagram read, now handled
			return
		}
	}
	ts.Fatalf("waitread: sockets on port %d still had datagrams queued after 10s", port)
}

// queued reports whether a UDP socket whose local address ends in port
// (":HHHH") has bytes in its receive queue.
func queued(port string) bool {
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 5 || !strings.HasSuffix(f[1], port) {
				continue
			}
			if _, rx, ok := strings.Cut(f[4], ":"); ok && strings.Trim(rx, "0") != "" {
				return true
			}
		}
	}
	return false
}

// joined reports whether the mcfilter table has a row with group and source.
func joined(path string, want []string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && fields[2] == want[0] && fields[3] == want[1] {
			return true
		}
	}
	return false
}

// cmdMkframe writes one signed datagram, the way send makes them, so that
// scripts can send frames that send never would (tampered ones).
//
//	mkframe [-seq N] [-epoch MS] [-age D] [-tamper data|payload|signature|header] KEYFILE DATAFILE OUT
//
// -age dates the frame D before now (a negative D: after now); -epoch sets
// the epoch (default: now).
// -tamper data changes one bit of the entropy bytes and keeps the original
// signature: a well-formed frame whose signature does not verify. The
// others change one base64url character of that part of the datagram.
func cmdMkframe(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("mkframe", flag.ContinueOnError)
	seq := fs.Uint64("seq", 0, "sequence number")
	epoch := fs.Uint64("epoch", 0, "epoch, Unix milliseconds (default: now)")
	age := fs.Duration("age", 0, "how long ago the frame was made")
	tamper := fs.String("tamper", "", "change one bit of the data, or one character of the payload, signature or header")
	if neg || fs.Parse(args) != nil || fs.NArg() != 3 {
		ts.Fatalf("usage: mkframe [-seq N] [-epoch MS] [-age D] [-tamper data|payload|signature|header] KEYFILE DATAFILE OUT")
	}
	signer, err := sign.LoadSigner(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(fs.Arg(1)))
	ts.Check(err)
	now := time.Now().UnixMilli()
	if *epoch == 0 {
		*epoch = uint64(now)
	}
	f := frame.Frame{Source: "producer.example.org", Epoch: *epoch, Seq: *seq, Time: now - age.Milliseconds(), Data: data}
	payload, err := f.Append(nil), f.Check()
	ts.Check(err)
	dgram, err := signer.Sign(payload)
	ts.Check(err)
	first, last := strings.IndexByte(string(dgram), '.'), strings.LastIndexByte(string(dgram), '.')
	flip := func(i int) { // a different base64url character
		if dgram[i] == 'A' {
			dgram[i] = 'B'
		} else {
			dgram[i] = 'A'
		}
	}
	switch *tamper {
	case "":
	case "data":
		f.Data[0] ^= 1
		changed, err := f.Append(nil), f.Check()
		ts.Check(err)
		dgram = []byte(string(dgram[:first+1]) + base64.RawURLEncoding.EncodeToString(changed) + string(dgram[last:]))
	case "header": // inside "alg": the same change whatever the kid
		flip(5)
	case "payload":
		flip((first + last) / 2)
	case "signature":
		flip(last + 10)
	default:
		ts.Fatalf("mkframe: unknown -tamper %q", *tamper)
	}
	ts.Check(os.WriteFile(ts.MkAbs(fs.Arg(2)), dgram, 0o644))
}

// cmdSendraw sends each file as one datagram to GROUP:PORT out of lo.
//
//	sendraw GROUP:PORT FILE...
func cmdSendraw(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sendraw GROUP:PORT FILE...")
	}
	s := dialLo(ts, args[0])
	defer s.Close()
	for _, name := range args[1:] {
		b, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		ts.Check(s.Send(b))
	}
}

// cmdResend sends FILE as one datagram to GROUP:PORT out of lo every 50 ms
// until OUT holds at least SIZE bytes, for at most 10 s: a script's way to
// wait until a receiver forwards a frame it refused before (a key that a
// reload of --trust has just added). Copies after the first forwarded are
// dropped as replays.
//
//	resend GROUP:PORT FILE OUT SIZE
func cmdResend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: resend GROUP:PORT FILE OUT SIZE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	size, err := strconv.ParseInt(args[3], 10, 64)
	ts.Check(err)
	s := dialLo(ts, args[0])
	defer s.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(ts.MkAbs(args[2])); err == nil && fi.Size() >= size {
			return
		}
		ts.Check(s.Send(b))
	}
	ts.Fatalf("resend: %s did not reach %d bytes within 10s", args[2], size)
}

// cmdHTTPGet fetches URL, retrying for up to 10 s until it answers 200
// (or CODE), and puts the body on the script's stdout.
//
//	httpget [-status CODE] URL
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	want := http.StatusOK
	if len(args) == 3 && args[0] == "-status" {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		want, args = n, args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: httpget [-status CODE] URL")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(args[0])
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == want {
			ts.Stdout().Write(body)
			return
		}
		last = fmt.Errorf("status %s, want %d, %v", resp.Status, want, err)
	}
	ts.Fatalf("httpget %s: %v", args[0], last)
}

// dialLo returns a sender to GROUP:PORT, as a script gives it, out of lo
// with TTL 1: the socket of the commands that send datagrams.
func dialLo(ts *testscript.TestScript, groupPort string) *mcast.Sender {
	group, err := netip.ParseAddrPort(groupPort)
	ts.Check(err)
	lo, err := net.InterfaceByName("lo")
	ts.Check(err)
	s, err := mcast.Dial(group, lo, 1)
	ts.Check(err)
	return s
}

// cmdSealRound builds one seed round (docs/protocol.md §9) of the
// producer key KEYFILE for the members in MEMBERS, as seal.Builder makes
// it, and sends its datagrams to GROUP:PORT out of lo, N times (-repeat,
// each a new round numbered on, 200 ms apart: a receiver that joined
// late still gets one). -age dates the rounds D before now. -out FILE
// also writes the first datagram to FILE.
//
//	sealround [-repeat N] [-age D] [-out FILE] KEYFILE MEMBERS GROUP:PORT
func cmdSealRound(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("sealround", flag.ContinueOnError)
	repeat := fs.Int("repeat", 1, "rounds to send")
	age := fs.Duration("age", 0, "how long ago the rounds were made")
	out := fs.String("out", "", "write the first datagram to `FILE`")
	if neg || fs.Parse(args) != nil || fs.NArg() != 3 || *repeat < 1 || *repeat > 100 {
		ts.Fatalf("usage: sealround [-repeat N] [-age D] [-out FILE] KEYFILE MEMBERS GROUP:PORT")
	}
	signer, err := sign.LoadSigner(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	set, _, err := seal.LoadMembers(ts.MkAbs(fs.Arg(1)))
	ts.Check(err)
	b, err := seal.NewBuilder(signer, seal.Config{Workers: 1})
	ts.Check(err)
	s := dialLo(ts, fs.Arg(2))
	defer s.Close()
	epoch := uint64(time.Now().UnixMilli())
	var seq uint64
	for r := range *repeat {
		if r > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		dgs, err := b.Build(set.All(), seal.Round{Epoch: epoch, Seq: seq, Time: time.Now().Add(-*age).UnixMilli(), Round: uint64(r)})
		ts.Check(err)
		seq += uint64(len(dgs))
		for i, d := range dgs {
			if r == 0 && i == 0 && *out != "" {
				ts.Check(os.WriteFile(ts.MkAbs(*out), d, 0o644))
			}
			ts.Check(s.Send(d))
		}
	}
}

// tagger is a seal.Signer that tags under key, as a producer with members
// does (docs/protocol.md §10.2).
type tagger struct {
	*sign.Signer
	key *membertag.Key
}

func (s tagger) Len(n int) int                     { return s.Signer.TaggedLen(n) }
func (s tagger) Append(dst, payload []byte) []byte { return s.Signer.AppendTagged(dst, payload, s.key) }

// cmdMemberFeed plays a producer with members (docs/protocol.md §10) to
// GROUP:PORT out of lo: it sends round 0 of a new epoch, untagged, whose
// entries carry a fresh member key, then -frames frames of 32 random bytes
// tagged under the member key from 200 ms later, 5 ms apart, with -bad frames tagged under
// another key for that round in the middle (after the first half of the
// good ones: a member that saw a good tag drops them as bad_tag).
//
//	memberfeed [-bad N] [-frames N] [-key FILE] KEYFILE MEMBERS GROUP:PORT
func cmdMemberFeed(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("memberfeed", flag.ContinueOnError)
	bad := fs.Int("bad", 0, "frames with a bad tag")
	frames := fs.Int("frames", 1, "frames with a good tag")
	keyOut := fs.String("key", "", "write the member key to `FILE`, for nosecret")
	if neg || fs.Parse(args) != nil || fs.NArg() != 3 || *bad < 0 || *frames < 0 {
		ts.Fatalf("usage: memberfeed [-bad N] [-frames N] [-key FILE] KEYFILE MEMBERS GROUP:PORT")
	}
	signer, err := sign.LoadSigner(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	set, _, err := seal.LoadMembers(ts.MkAbs(fs.Arg(1)))
	ts.Check(err)
	var secret, other [membertag.KeySize]byte
	_, err = rand.Read(secret[:])
	ts.Check(err)
	_, err = rand.Read(other[:])
	ts.Check(err)
	if *keyOut != "" {
		ts.Check(os.WriteFile(ts.MkAbs(*keyOut), secret[:], 0o600))
	}
	epoch := uint64(time.Now().UnixMilli())
	key, wrong := membertag.NewKey(&secret, epoch, 0), membertag.NewKey(&other, epoch, 0)
	b, err := seal.NewBuilder(tagger{signer, nil}, seal.Config{Workers: 1, MemberKey: true})
	ts.Check(err)
	s := dialLo(ts, fs.Arg(2))
	defer s.Close()
	dgs, err := b.Build(set.All(), seal.Round{Epoch: epoch, Time: time.Now().UnixMilli(), MemberKey: secret})
	ts.Check(err)
	for _, d := range dgs {
		ts.Check(s.Send(d))
	}
	// As a producer's switch 256 numbers after its round does (protocol
	// §10.2): the member's workers open its entry before the first tagged
	// frame comes, even in a race-detector build.
	time.Sleep(200 * time.Millisecond)
	seq := uint64(len(dgs))
	for i := range *bad + *frames {
		time.Sleep(5 * time.Millisecond)
		f := frame.Frame{Source: "memberfeed", Epoch: epoch, Seq: seq, Time: time.Now().UnixMilli(), Data: make([]byte, 32)}
		_, err := rand.Read(f.Data)
		ts.Check(err)
		k := key
		if i >= *frames/2 && i < *frames/2+*bad {
			k = wrong
		}
		ts.Check(s.Send(signer.AppendTagged(nil, f.Append(nil), k)))
		seq++
	}
}

// cmdNoSecret checks SEEDFILE, a seed as seed -o FILE writes it (32
// bytes, mode 0600), and that no FILE holds it: not its bytes, nor its
// hex or base64 in any case or alphabet.
//
//	nosecret SEEDFILE FILE...
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecret SEEDFILE FILE...")
	}
	seed, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(seed) != 32 || fi.Mode().Perm() != 0o600 {
		ts.Fatalf("%s: got %d bytes, mode %04o; want 32 bytes, mode 0600", args[0], len(seed), fi.Mode().Perm())
	}
	forms := map[string]string{"bytes": string(seed), "hex": hex.EncodeToString(seed),
		"base64": base64.RawStdEncoding.EncodeToString(seed), "base64url": base64.RawURLEncoding.EncodeToString(seed)}
	for _, name := range args[1:] {
		b, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		for form, text := range forms {
			if strings.Contains(strings.ToLower(string(b)), strings.ToLower(text)) || strings.Contains(string(b), text[:len(text)-2]) {
				ts.Fatalf("%s holds the seed of %s (%s)", name, args[0], form)
			}
		}
	}
}
