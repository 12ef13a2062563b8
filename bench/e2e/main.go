// Command e2e is an end-to-end benchmark of ssmrandom on loopback. It builds
// the ssmrandom binary, makes key pairs in a temporary directory and runs
// real send and recv processes over IPv4 SSM on lo:
//
//  1. rising send rates: how many frames a second recv verifies, what is
//     lost and why, and the receiver's CPU per frame and peak RSS;
//  2. forged floods: datagrams signed by an unknown key, and datagrams of a
//     trusted kid with a bad signature, sent as fast as this process can
//     while a genuine producer sends 100 frames a second: the receiver's
//     cost and whether the genuine frames still get through;
//  3. the sender's own signing rate against raw ed25519.Sign;
//  4. paced forged floods, 2,000 datagrams/s up to as fast as this process
//     sends, against a member receiver (recv --host-key) and a non-member,
//     of this binary and of the previous version's (-base): genuine frames
//     kept, kernel drops, CPU per datagram, private memory.
//
// The output is Markdown on stdout; progress goes to stderr. Table 4's
// rows also go to the CSV file -csv names, which scripts/plot-flood.py
// draws.
//
// Usage, from anywhere in the module:
//
//	go run ./bench/e2e [-duration 3s] [-drain 1s] [-rates 1000,2000,5000,10000,20000,0] [-bin PATH]
//	    [-tables 1,2,3,4] [-base PATH] [-flood-rates 2000,...,0] [-flood-duration 5s] [-csv FILE]
//
// See README.md in this directory for how to read the tables.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/harness"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/sign"
)

const (
	// frameSize is the entropy bytes per frame (send -s), the default for
	// the default --max-datagram.
	frameSize = 512

	// groupBase and portBase start the groups and ports this benchmark may
	// use: 232.0.1.160 to 232.0.1.179 and 49160 to 49179, one pair per run.
	groupBase = 160
	portBase  = 49160
	numGroups = 20

	// readyTimeout bounds how long a process may take to log that it is
	// sending or receiving.
	readyTimeout = 10 * time.Second

	// stopTimeout is how long a process has to exit after SIGINT before it
	// is killed.
	stopTimeout = 5 * time.Second

	// watchdog ends the whole benchmark, killing every child, if it runs
	// longer than this.
	watchdog = 4 * time.Minute

	// forgedCount is how many distinct forged datagrams the flood cycles
	// through (distinct sequence numbers, so that the replay window never
	// answers for the signature check).
	forgedCount = 10000

	// genuineRate is the genuine producer's frames per second during a
	// flood.
	genuineRate = 100

	// signCalls is how many ed25519.Sign calls the raw signing rate is
	// timed over.
	signCalls = 20000

	// signRounds splits signCalls (and verifyCalls) into rounds; the
	// fastest round counts.
	signRounds = 4

	// verifyCalls is how many ed25519.Verify calls the raw verification
	// rate is timed over.
	verifyCalls = 5000

	// bigMessage is the second raw signing input size, in bytes.
	bigMessage = 1200

	// sendGrace is how long past -duration a sender with a --count may
	// run before it is stopped with SIGINT: a sender that cannot keep its
	// rate would otherwise stretch the run.
	sendGrace = 2 * time.Second

	// maxLogLines caps the stderr lines kept per child process.
	maxLogLines = 1000
)

// config holds the flags.
type config struct {
	bin      string        // prebuilt ssmrandom binary, or "" to build one
	duration time.Duration // send time per run
	drain    time.Duration // wait after the sender stops, before stopping recv
	rates    []int         // target frames per second; 0 is unlimited
	tables   map[int]bool  // which tables to run

	base          string        // the previous version's binary, for table 4's "before" rows
	floodRates    []int         // table 4's forged datagrams/s; 0 is as fast as it goes
	floodDuration time.Duration // table 4's flood time per run
	csv           string        // table 4's CSV file, or ""
}

func main() {
	var cfg config
	var rates string
	flag.StringVar(&cfg.bin, "bin", "", "use this ssmrandom `binary` instead of building one")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "send for this long per run")
	flag.DurationVar(&cfg.drain, "drain", time.Second, "wait this long after a sender stops before stopping recv")
	flag.StringVar(&rates, "rates", "1000,2000,5000,10000,20000,0", "target send `rates` in frames/s, comma separated; 0 is unlimited")
	var tables, floodRates string
	flag.StringVar(&tables, "tables", "1,2,3,4", "run these `tables`, comma separated: 1 rising rates, 2 floods, 3 signing rate, 4 paced floods")
	flag.StringVar(&cfg.base, "base", "", "table 4: also flood the previous version's ssmrandom `binary` (the \"before\" rows)")
	flag.StringVar(&floodRates, "flood-rates", "2000,5000,10000,20000,50000,100000,0", "table 4: forged `rates` in datagrams/s, comma separated; 0 is as fast as the flooder goes")
	flag.DurationVar(&cfg.floodDuration, "flood-duration", 5*time.Second, "table 4: flood this long per run")
	flag.StringVar(&cfg.csv, "csv", "", "table 4: also write its rows to this CSV `file`")
	flag.Parse()
	var err error
	if cfg.rates, err = intList(rates); err != nil {
		usage("bad -rates: %v", err)
	}
	if cfg.floodRates, err = intList(floodRates); err != nil {
		usage("bad -flood-rates: %v", err)
	}
	ts, err := intList(tables)
	if err != nil {
		usage("bad -tables: %v", err)
	}
	cfg.tables = map[int]bool{}
	for _, t := range ts {
		if t < 1 || t > 4 {
			usage("bad -tables: no table %d", t)
		}
		cfg.tables[t] = true
	}
	if cfg.duration <= 0 || cfg.duration > 30*time.Second || cfg.drain < 0 {
		usage("-duration takes up to 30s, -drain a duration of 0 or more")
	}
	if cfg.floodDuration <= 0 || cfg.floodDuration > 30*time.Second {
		usage("-flood-duration takes up to 30s")
	}

	// Every way out kills the children and removes the temp dir: a normal
	// return, an error, a panic in main, SIGINT/SIGTERM and the watchdog.
	// A panic elsewhere or kill -9 still kills the children (Pdeathsig).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping\n", s)
		cleanup()
		os.Exit(130)
	}()
	limit := watchdog
	if cfg.tables[4] {
		// Up to three receivers per rate, each run well under this.
		limit += time.Duration(3*len(cfg.floodRates)) * (cfg.floodDuration + 10*time.Second)
	}
	time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "e2e: still running after %v: giving up\n", limit)
		cleanup()
		os.Exit(1)
	})
	defer func() {
		if r := recover(); r != nil {
			cleanup()
			panic(r)
		}
	}()
	err = run(cfg)
	cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
}

// bench is the state shared by the runs.
type bench struct {
	cfg      config
	dir      string // temp dir: binary and keys
	bin      string
	keyA     string // private key file of the trusted producer
	pubA     string // its public key file, recv's --trust
	keyB     string // private key file of an untrusted producer
	hostKey  string // private host key file of table 4's member (recv --host-key)
	members  string // folder with its public key (send --members)
	nextPair int    // next group/port pair

	nextPaced int // next group/port pair of table 4
}

// cleanupState is what cleanup must undo.
var cleanupState struct {
	sync.Mutex
	dir string
}

var cleanupOnce sync.Once

// cleanup kills every child still running and removes the temp dir. It
// runs at most once.
func cleanup() {
	cleanupOnce.Do(func() {
		killAll()
		cleanupState.Lock()
		if cleanupState.dir != "" {
			os.RemoveAll(cleanupState.dir)
		}
		cleanupState.Unlock()
	})
}

func run(cfg config) error {
	dir, err := os.MkdirTemp("", "ssmrandom-e2e-")
	if err != nil {
		return err
	}
	cleanupState.Lock()
	cleanupState.dir = dir
	cleanupState.Unlock()
	b := &bench{cfg: cfg, dir: dir, bin: cfg.bin}
	if b.bin == "" {
		if b.bin, err = build(dir); err != nil {
			return err
		}
	}
	for _, name := range []string{"a", "b"} {
		out, err := exec.Command(b.bin, "keygen", "-o", filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("keygen: %v: %s", err, out)
		}
	}
	b.keyA, b.pubA, b.keyB = filepath.Join(dir, "a.jwk"), filepath.Join(dir, "a.pub.jwk"), filepath.Join(dir, "b.jwk")
	// A host key for table 4's member: its public half alone in the
	// producer's members folder.
	b.members = filepath.Join(dir, "members")
	if err := os.Mkdir(b.members, 0o700); err != nil {
		return err
	}
	if out, err := exec.Command(b.bin, "keygen", "--host", "-o", filepath.Join(dir, "host")).CombinedOutput(); err != nil {
		return fmt.Errorf("keygen --host: %v: %s", err, out)
	}
	b.hostKey = filepath.Join(dir, "host.jwk")
	if err := os.Rename(filepath.Join(dir, "host.pub.jwk"), filepath.Join(b.members, "host.pub.jwk")); err != nil {
		return err
	}

	printMachine()

	pacedFailed := 0
	if cfg.tables[1] {
		progress("rising rates")
		rows := make([]rateRow, 0, len(cfg.rates))
		for _, r := range cfg.rates {
			row, err := b.rateRun(r)
			if err != nil {
				return fmt.Errorf("rate %s: %w", rateName(r), err)
			}
			rows = append(rows, row)
		}
		printRates(cfg, rows)
	}

	if cfg.tables[2] {
		progress("floods")
		var floods []floodRow
		for _, k := range []floodKind{floodNone, floodUnknownKey, floodBadSignature} {
			row, err := b.floodRun(k)
			if err != nil {
				return fmt.Errorf("flood %s: %w", k, err)
			}
			floods = append(floods, row)
		}
		printFloods(cfg, floods)
	}

	if cfg.tables[3] {
		progress("sender signing rate")
		sr, err := b.signRun()
		if err != nil {
			return fmt.Errorf("signing rate: %w", err)
		}
		printSign(cfg, sr)
	}

	if cfg.tables[4] {
		progress("paced floods")
		bins, err := b.pacedBins()
		if err != nil {
			return err
		}
		rows, failed := b.pacedRuns(bins)
		printPaced(cfg, bins, rows, failed)
		if cfg.csv != "" {
			if err := writePacedCSV(cfg.csv, rows); err != nil {
				return err
			}
		}
		pacedFailed = len(failed)
	}
	fmt.Printf("Load average at the end: %s (other work on the machine skews every number above).\n", loadavg())
	if pacedFailed > 0 {
		return fmt.Errorf("%d paced flood runs failed (table 4)", pacedFailed)
	}
	return nil
}

// intList parses a comma-separated list of integers of 0 or more.
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a whole number of 0 or more", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// usage prints a usage error and exits 2.
func usage(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	os.Exit(2)
}

// build compiles ./cmd/ssmrandom of the enclosing module into dir.
func build(dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "ssmrandom")
	progress("building " + bin)
	if err := harness.Build(ctx, bin); err != nil {
		return "", fmt.Errorf("%w; run from the repository or pass -bin", err)
	}
	// Written back now: until then the binary's pages are dirty in the
	// page cache, and a process that maps them alone counts them as its
	// Private_Dirty (table 4).
	f, err := os.Open(bin)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return bin, f.Sync()
}

// pair returns the next unused group and port.
func (b *bench) pair() (netip.AddrPort, error) {
	if b.nextPair >= numGroups {
		return netip.AddrPort{}, fmt.Errorf("more than %d runs: out of groups", numGroups)
	}
	n := b.nextPair
	b.nextPair++
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{232, 0, 1, byte(groupBase + n)}), uint16(portBase+n)), nil
}

// ---- child processes ----

// children are the processes started and not yet reaped.
var children struct {
	sync.Mutex
	m map[*proc]bool
}

// killAll kills the process group of every child still running.
func killAll() {
	children.Lock()
	defer children.Unlock()
	for p := range children.m {
		p.Signal(syscall.SIGKILL)
	}
}

// proc is a started ssmrandom process (internal/harness), its stdout and
// stderr in one harness.Lines, Stdout.
type proc struct {
	*harness.Proc
	limit    context.Context // done when its time limit runs out
	readyMsg string          // the log line's "message" that says it is at work
	readyAt  time.Time       // when it said so, once waitReady returned
}

// start runs the binary with args in its own process group, killed when
// limit runs out or this process dies. readyMsg is the log message (the
// JSON "message") that says the process is at work.
func (b *bench) start(name string, limit time.Duration, readyMsg string, args ...string) (*proc, error) {
	return b.startBin(b.bin, name, limit, readyMsg, args...)
}

// startBin is start with the binary bin.
func (b *bench) startBin(bin, name string, limit time.Duration, readyMsg string, args ...string) (*proc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	children.Lock()
	hp, err := harness.Start(ctx, name, harness.Options{Group: true, Combined: true, MaxLines: maxLogLines}, append([]string{bin}, args...)...)
	if err != nil {
		children.Unlock()
		cancel()
		return nil, err
	}
	p := &proc{Proc: hp, limit: ctx, readyMsg: readyMsg}
	if children.m == nil {
		children.m = map[*proc]bool{}
	}
	children.m[p] = true
	children.Unlock()
	go func() {
		<-hp.Done()
		cancel()
		children.Lock()
		delete(children.m, p)
		children.Unlock()
	}()
	return p, nil
}

// waitReady waits until p logs its ready message.
func (p *proc) waitReady() error {
	marker := `"message":"` + p.readyMsg + `"`
	if _, err := p.WaitLine(p.Stdout, marker, readyTimeout); err != nil {
		if errors.Is(err, harness.ErrTimeout) {
			p.stop()
			return p.failure(fmt.Sprintf("not ready after %v", readyTimeout))
		}
		return p.failure("exited before it was ready")
	}
	_, p.readyAt, _ = p.Stdout.FindTime(marker)
	return nil
}

// wait waits for p to exit and reports an unclean exit.
func (p *proc) wait() error {
	<-p.Done()
	if errors.Is(p.limit.Err(), context.DeadlineExceeded) {
		return p.failure("killed at its time limit")
	}
	if err := p.Err(); err != nil {
		return p.failure(err.Error())
	}
	return nil
}

// stop sends SIGINT, then SIGKILL to the group after stopTimeout, and
// waits for the exit.
func (p *proc) stop() error {
	if err := p.Stop(syscall.SIGINT, stopTimeout); errors.Is(err, harness.ErrTimeout) {
		return p.failure(fmt.Sprintf("did not stop within %v of SIGINT", stopTimeout))
	}
	return p.wait()
}

// failure is an error naming p, with its last log lines.
func (p *proc) failure(what string) error {
	lines := p.Stdout.All()
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Errorf("%s %s; its last output:\n  %s", p.Name, what, strings.Join(lines, "\n  "))
}

// summary returns the last log line whose message starts with prefix.
func (p *proc) summary(prefix string) (harness.Summary, error) {
	s, err := harness.FindSummary(p.Stdout.All(), prefix)
	if err != nil {
		return s, p.failure(fmt.Sprintf("logged no %q line", prefix))
	}
	return s, nil
}

// ---- receiver ----

// recvRun is a running receiver.
type recvRun struct {
	p    *proc
	udp0 udpStats
}

// recvResult is what a receiver did.
type recvResult struct {
	sum        harness.Summary
	use        harness.Usage
	rcvbufErrs uint64 // UDP RcvbufErrors in this network namespace during the run
}

// startRecv starts a receiver trusting key A on g, with default --workers.
func (b *bench) startRecv(g netip.AddrPort) (*recvRun, error) {
	limit := 3*b.cfg.duration + b.cfg.drain + 30*time.Second
	p, err := b.start("recv", limit, "receiving", "recv", "--trust", b.pubA, "-o", os.DevNull,
		"-g", g.Addr().String(), "-p", strconv.Itoa(int(g.Port())), "-i", "lo",
		"--log-format", "json", "--stats-interval", "0", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(); err != nil {
		return nil, err
	}
	return &recvRun{p: p, udp0: readUDP()}, nil
}

// finish waits the drain time, stops the receiver and collects its counts.
func (r *recvRun) finish(drain time.Duration) (recvResult, error) {
	time.Sleep(drain)
	if err := r.p.stop(); err != nil {
		return recvResult{}, err
	}
	sum, err := r.p.summary("stopped:")
	if err != nil {
		return recvResult{}, err
	}
	return recvResult{sum: sum, use: r.p.Usage(), rcvbufErrs: readUDP().rcvbufErrors - r.udp0.rcvbufErrors}, nil
}

// ---- sender ----

// sendRun is a finished ssmrandom send.
type sendRun struct {
	sum    harness.Summary
	use    harness.Usage
	active time.Duration // from its "sending" line to its exit
	cut    bool          // stopped by SIGINT before its --count frames were sent
}

// send runs ssmrandom send with key on g at fps frames/s (0: no limit)
// for count frames (0: no limit), and stops it with SIGINT if it still runs
// stopAfter after it logged "sending". The returned function waits for it
// and collects its counts.
func (b *bench) send(key string, g netip.AddrPort, fps int, count int, stopAfter time.Duration) (*proc, func() (sendRun, error), error) {
	args := []string{"send", "-k", key, "-r", "/dev/urandom", "-g", g.Addr().String(), "-p", strconv.Itoa(int(g.Port())),
		"-i", "lo", "-t", "1", "-s", strconv.Itoa(frameSize), "--rate", strconv.Itoa(fps * frameSize),
		"--log-format", "json", "--stats-interval", "0"}
	if count > 0 {
		args = append(args, "--count", strconv.Itoa(count))
	}
	limit := 3*b.cfg.duration + 20*time.Second
	p, err := b.start("send", limit, "sending", args...)
	if err != nil {
		return nil, nil, err
	}
	if err := p.waitReady(); err != nil {
		return nil, nil, err
	}
	finish := func() (sendRun, error) {
		cut := false
		select {
		case <-p.Done():
			if err := p.wait(); err != nil {
				return sendRun{}, err
			}
		case <-time.After(time.Until(p.readyAt.Add(stopAfter))):
			cut = count > 0
			if err := p.stop(); err != nil {
				return sendRun{}, err
			}
		}
		sum, err := p.summary("sent ")
		if err != nil {
			return sendRun{}, err
		}
		return sendRun{sum: sum, use: p.Usage(), active: p.Ended().Sub(p.readyAt), cut: cut}, nil
	}
	return p, finish, nil
}

// ---- 1. rising rates ----

// rateRow is one run of the rising-rates table.
type rateRow struct {
	target int // frames/s, 0 for unlimited
	send   sendRun
	recv   recvResult
}

func (b *bench) rateRun(fps int) (rateRow, error) {
	progress("  target " + rateName(fps))
	g, err := b.pair()
	if err != nil {
		return rateRow{}, err
	}
	r, err := b.startRecv(g)
	if err != nil {
		return rateRow{}, err
	}
	count := fps * int(b.cfg.duration/time.Millisecond) / 1000
	stopAfter := b.cfg.duration
	if count > 0 {
		stopAfter += sendGrace
	}
	_, finish, err := b.send(b.keyA, g, fps, count, stopAfter)
	if err != nil {
		r.p.stop()
		return rateRow{}, err
	}
	s, err := finish()
	if err != nil {
		r.p.stop()
		return rateRow{}, err
	}
	rr, err := r.finish(b.cfg.drain)
	if err != nil {
		return rateRow{}, err
	}
	return rateRow{target: fps, send: s, recv: rr}, nil
}

// ---- 2. floods ----

// floodKind is what the flood sends.
type floodKind int

const (
	floodNone         floodKind = iota // no flood: the genuine producer alone
	floodUnknownKey                    // valid frames signed by a key recv does not trust
	floodBadSignature                  // frames of the trusted kid with one signature bit flipped
)

func (k floodKind) String() string {
	return [...]string{"none (baseline)", "unknown key", "bad signature, trusted kid"}[k]
}

// floodRow is one run of the flood table.
type floodRow struct {
	kind     floodKind
	sent     uint64        // flood datagrams sent
	sendErrs uint64        // flood sends that failed
	active   time.Duration // how long the flood ran
	genuine  sendRun
	recv     recvResult
}

func (b *bench) floodRun(kind floodKind) (floodRow, error) {
	progress("  flood: " + kind.String())
	g, err := b.pair()
	if err != nil {
		return floodRow{}, err
	}
	r, err := b.startRecv(g)
	if err != nil {
		return floodRow{}, err
	}
	fail := func(err error) (floodRow, error) { r.p.stop(); return floodRow{}, err }
	// The forged frames are made after recv started, so that they are not
	// older than the receiver (that would make them stale, not forged).
	var dgrams [][]byte
	switch kind {
	case floodUnknownKey:
		dgrams, err = forge(b.keyB, b.pubA, false)
	case floodBadSignature:
		dgrams, err = forge(b.keyA, b.pubA, true)
	}
	if err != nil {
		return fail(err)
	}
	count := genuineRate * int(b.cfg.duration/time.Millisecond) / 1000
	_, finish, err := b.send(b.keyA, g, genuineRate, count, b.cfg.duration+sendGrace)
	if err != nil {
		return fail(err)
	}
	row := floodRow{kind: kind}
	if kind == floodNone {
		time.Sleep(b.cfg.duration)
	} else if row.sent, row.sendErrs, row.active, err = flood(g, dgrams, b.cfg.duration); err != nil {
		return fail(err)
	}
	if row.genuine, err = finish(); err != nil {
		return fail(err)
	}
	if row.recv, err = r.finish(b.cfg.drain); err != nil {
		return floodRow{}, err
	}
	return row, nil
}

// forge makes forgedCount datagrams of frameSize random bytes signed with
// the key in keyFile, with distinct sequence numbers of an epoch an hour
// ahead (so that no window of a genuine producer refuses them before the
// signature check). With flip, one bit of each signature's s is flipped.
// Each is checked against the keyring in trustFile: unknown key, or bad
// signature with flip.
func forge(keyFile, trustFile string, flip bool) ([][]byte, error) {
	signer, err := sign.LoadSigner(keyFile)
	if err != nil {
		return nil, err
	}
	ring, _, err := sign.LoadTrust(trustFile)
	if err != nil {
		return nil, err
	}
	want := sign.ErrUnknownKey
	if flip {
		want = sign.ErrBadSignature
	}
	now := time.Now().UnixMilli()
	f := frame.Frame{Source: "forger", Epoch: uint64(now) + 3_600_000, Time: now, Data: make([]byte, frameSize)}
	out := make([][]byte, forgedCount)
	sig := make([]byte, ed25519.SignatureSize)
	for i := range out {
		f.Seq = uint64(i)
		crand.Read(f.Data)
		d, err := signer.Sign(f.Append(nil))
		if err != nil {
			return nil, err
		}
		if flip {
			enc := d[len(d)-sign.SignatureLen:]
			if _, err := base64.RawURLEncoding.Decode(sig, enc); err != nil {
				return nil, err
			}
			sig[32] ^= 1 // the low bit of s: still canonical, still a full verification
			base64.RawURLEncoding.Encode(enc, sig)
		}
		if i == 0 {
			if _, _, err := ring.Verify(d); !errors.Is(err, want) {
				return nil, fmt.Errorf("forged datagram: got %v, want %v", err, want)
			}
		}
		out[i] = d
	}
	return out, nil
}

// flood sends dgrams round and round to g on lo for d, as fast as one
// goroutine can, and returns how many were sent and how many sends failed.
func flood(g netip.AddrPort, dgrams [][]byte, d time.Duration) (sent, failed uint64, active time.Duration, err error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return 0, 0, 0, err
	}
	s, err := mcast.Dial(g, lo, 1)
	if err != nil {
		return 0, 0, 0, err
	}
	defer s.Close()
	start := time.Now()
	for i := 0; ; i++ {
		if i%256 == 0 && time.Since(start) >= d {
			break
		}
		if s.Send(dgrams[i%len(dgrams)]) != nil {
			failed++
		} else {
			sent++
		}
	}
	return sent, failed, time.Since(start), nil
}

// ---- 3. signing rate ----

// signResult is the sender's signing rate against raw signatures.
type signResult struct {
	send       sendRun
	inputLen   int           // bytes signed per frame: header, '.', base64 payload
	raw        time.Duration // per ed25519.Sign of inputLen bytes
	rawBig     time.Duration // per ed25519.Sign of bigMessage bytes
	appendCost time.Duration // per sign.Signer.Append of a frame's payload
	verify     time.Duration // per ed25519.Verify of inputLen bytes
}

func (b *bench) signRun() (signResult, error) {
	g, err := b.pair()
	if err != nil {
		return signResult{}, err
	}
	// Nobody joins g: the sender alone, as fast as it goes.
	_, finish, err := b.send(b.keyA, g, 0, 0, b.cfg.duration)
	if err != nil {
		return signResult{}, err
	}
	var res signResult
	if res.send, err = finish(); err != nil {
		return signResult{}, err
	}

	// Measured with nothing else of ours running, on one goroutine.
	signer, err := sign.LoadSigner(b.keyA)
	if err != nil {
		return signResult{}, err
	}
	host, err := os.Hostname()
	if err != nil || !frame.ValidSource(host) {
		host = "localhost"
	}
	now := time.Now().UnixMilli()
	f := frame.Frame{Source: host, Epoch: uint64(now), Time: now, Data: make([]byte, frameSize)}
	crand.Read(f.Data)
	payload := f.Append(nil)
	d, err := signer.Sign(payload)
	if err != nil {
		return signResult{}, err
	}
	res.inputLen = bytes.LastIndexByte(d, '.')
	_, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return signResult{}, err
	}
	signOf := func(n int) func(int) {
		msg := make([]byte, n)
		crand.Read(msg)
		return func(i int) { msg[0] = byte(i); ed25519.Sign(priv, msg) }
	}
	res.raw = fastest(signCalls, signOf(res.inputLen))
	res.rawBig = fastest(signCalls, signOf(bigMessage))
	buf := make([]byte, 0, len(d))
	res.appendCost = fastest(signCalls, func(i int) {
		payload[len(payload)-3] = 'A' + byte(i%26) // inside the base64 data
		buf = signer.Append(buf[:0], payload)
	})
	msg, pub := d[:res.inputLen], signer.Public()
	sig := make([]byte, ed25519.SignatureSize)
	if _, err := base64.RawURLEncoding.Decode(sig, d[res.inputLen+1:]); err != nil {
		return signResult{}, err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return signResult{}, errors.New("ed25519.Verify refused a good signature")
	}
	res.verify = fastest(verifyCalls, func(int) { ed25519.Verify(pub, msg, sig) })
	return res, nil
}

// fastest calls f calls times in signRounds rounds and returns the time
// per call of the fastest round: other work on the machine only slows a
// round down.
func fastest(calls int, f func(i int)) time.Duration {
	n := calls / signRounds
	best := time.Duration(1<<63 - 1)
	for range signRounds {
		start := time.Now()
		for i := range n {
			f(i)
		}
		best = min(best, time.Since(start)/time.Duration(n))
	}
	return best
}

// sleepOvershoot measures what time.Sleep(50µs) takes here.
func sleepOvershoot() string {
	const n = 200
	var total time.Duration
	for range n {
		t := time.Now()
		time.Sleep(50 * time.Microsecond)
		total += time.Since(t)
	}
	return fmt.Sprintf("time.Sleep(50µs) takes %v on average", (total / n).Round(time.Microsecond))
}

// ---- /proc ----

// udpStats are counters of the Udp line of /proc/net/snmp.
type udpStats struct{ rcvbufErrors uint64 }

// readUDP reads /proc/net/snmp; zero if it cannot.
func readUDP() udpStats {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return udpStats{}
	}
	return udpStats{rcvbufErrors: harness.UDPCounters(string(b))["RcvbufErrors"]}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// ---- output ----

func progress(msg string) { fmt.Fprintln(os.Stderr, "e2e:", msg) }

func rateName(fps int) string {
	if fps == 0 {
		return "unlimited"
	}
	return strconv.Itoa(fps)
}

// perSec is n over d, per second.
func perSec(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// per is d divided by n, in microseconds; "-" for n = 0.
func per(d time.Duration, n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/float64(n))
}

// cores is CPU time over wall time.
func cores(cpu, wall time.Duration) string {
	if wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/wall.Seconds())
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

// reasons lists the nonzero drop counts.
func reasons(d map[string]uint64) string {
	var parts []string
	for k, v := range d {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// lost is sent − received, which may be negative if counts disagree.
func lost(sent, received uint64) int64 { return int64(sent) - int64(received) }

func printMachine() {
	fmt.Printf("# ssmrandom end-to-end loopback benchmark\n\n")
	fmt.Printf("| | |\n|---|---|\n")
	fmt.Printf("| CPU | %s |\n| cores | %d (GOMAXPROCS %d) |\n| Go | %s %s/%s |\n| kernel | %s |\n| load average at start | %s |\n| date | %s |\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel(), loadavg(),
		time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("Sender, receiver and (in the flood runs) this benchmark's flood loop all run on the same %d cores, "+
		"over IPv4 SSM on lo (groups 232.0.1.160-179, ports 49160-49179, a fresh pair per run). "+
		"recv runs with its default --workers (%d) and -o %s; frames carry %d bytes.\n\n", runtime.NumCPU(), runtime.NumCPU(), os.DevNull, frameSize)
}

func printRates(cfg config, rows []rateRow) {
	fmt.Printf("## 1. Rising send rates\n\n")
	fmt.Printf("Each run: recv, then `ssmrandom send --rate FPS×%d` for %v of frames (`--count FPS×%v`; unlimited: SIGINT after %v), "+
		"then %v for recv to drain before its SIGINT. \"Send time\" is from the sender's `sending` log line to its exit; "+
		"verified frames/s is recv's `frames` over that time. Lost = sent − recv `datagrams` (never read off the socket); "+
		"UDP rcvbuf errors is the namespace-wide RcvbufErrors of /proc/net/snmp during the run. "+
		"CPU is user+system from getrusage of the exited process; recv's per verified frame includes its start-up and idle time.\n\n",
		frameSize, cfg.duration, cfg.duration.Seconds(), cfg.duration, cfg.drain)
	fmt.Println("| target frames/s | sent | send time | sent frames/s | verified | verified frames/s | lost | dropped by recv | UDP rcvbuf errors | recv CPU µs/frame | recv cores | send CPU µs/frame | send cores | recv peak RSS MiB |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
	var short []string
	for _, r := range rows {
		sent := strconv.FormatUint(r.send.sum.Frames, 10)
		if r.send.cut {
			sent += " (cut)"
		}
		fps := perSec(r.send.sum.Frames, r.send.active)
		if r.target > 0 && fps < 0.9*float64(r.target) {
			short = append(short, fmt.Sprintf("%d (%.0f)", r.target, fps))
		}
		fmt.Printf("| %s | %s | %.2f s | %.0f | %d | %.0f | %d | %s | %d | %s | %s | %s | %s | %s |\n",
			rateName(r.target), sent, r.send.active.Seconds(), fps,
			r.recv.sum.Frames, perSec(r.recv.sum.Frames, r.send.active), lost(r.send.sum.Frames, r.recv.sum.Datagrams),
			reasons(r.recv.sum.Dropped), r.recv.rcvbufErrs,
			per(r.recv.use.CPU, r.recv.sum.Frames), cores(r.recv.use.CPU, r.send.active),
			per(r.send.use.CPU, r.send.sum.Frames), cores(r.send.use.CPU, r.send.active),
			mib(r.recv.use.MaxRSS))
	}
	fmt.Println()
	fmt.Printf("recv cores and send cores are CPU time over the send time: together at most the machine's %d cores. "+
		"\"(cut)\": the sender had not sent its --count frames %v after it started and was stopped with SIGINT.\n\n", runtime.NumCPU(), cfg.duration+sendGrace)
	if len(short) > 0 {
		fmt.Printf("**The sender missed its target by more than 10%% at %s frames/s (achieved rate in brackets).** "+
			"send paces with golang.org/x/time/rate with a burst of 20 ms of frames, which makes up for timer overshoot "+
			"(on this machine time.Sleep(50µs) takes %s); a target it still misses is past what the sender can sign "+
			"on a machine it shares with the receiver: compare the unlimited row.\n\n", strings.Join(short, ", "), sleepOvershoot())
	}
}

func printFloods(cfg config, rows []floodRow) {
	fmt.Printf("## 2. Forged floods\n\n")
	fmt.Printf("recv trusts key A. A genuine producer (`ssmrandom send -k A`, %d frames/s, %d frames) runs while this benchmark "+
		"sends %d pre-made forged datagrams round and round for %v from one goroutine (mcast.Dial on lo), as fast as it can: "+
		"frames signed by key B, which recv does not trust (rejected on the kid, no signature check), or frames of key A's kid with "+
		"one bit of the signature's s flipped (a full Ed25519 verification each; distinct sequence numbers of a new epoch, so "+
		"the replay window never rejects them first). CPU per datagram is recv's user+system time over every datagram it read, "+
		"genuine and forged; recv cores is that CPU time over the flood's %v.\n\n", genuineRate, genuineRate*int(cfg.duration/time.Millisecond)/1000,
		forgedCount, cfg.duration, cfg.duration)
	fmt.Println("| flood | flood sent | flood datagrams/s | recv datagrams | lost | dropped by recv | UDP rcvbuf errors | recv CPU µs/datagram | recv cores | recv peak RSS MiB | genuine sent | genuine forwarded |")
	fmt.Println("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		sent := r.sent + r.genuine.sum.Frames
		fwd := fmt.Sprintf("%d (%.1f%%)", r.recv.sum.Frames, 100*float64(r.recv.sum.Frames)/max(1, float64(r.genuine.sum.Frames)))
		floodSent := fmt.Sprintf("%d", r.sent)
		if r.sendErrs > 0 {
			floodSent += fmt.Sprintf(" (+%d failed)", r.sendErrs)
		}
		fmt.Printf("| %s | %s | %.0f | %d | %d | %s | %d | %s | %s | %s | %d | %s |\n",
			r.kind, floodSent, perSec(r.sent, r.active), r.recv.sum.Datagrams, lost(sent, r.recv.sum.Datagrams),
			reasons(r.recv.sum.Dropped), r.recv.rcvbufErrs, per(r.recv.use.CPU, r.recv.sum.Datagrams),
			cores(r.recv.use.CPU, cfg.duration), mib(r.recv.use.MaxRSS), r.genuine.sum.Frames, fwd)
	}
	fmt.Println()
}

func printSign(cfg config, r signResult) {
	fmt.Printf("## 3. Sender signing rate\n\n")
	fmt.Printf("`ssmrandom send --rate 0 -s %d` alone (nobody joined) for %v, against signing timed in this process on one goroutine "+
		"(one core) after the sender exited: %d calls each (%d for Verify), the time per call of the fastest of %d rounds. "+
		"A frame's signing input (JWS header, '.', base64url payload) is %d bytes.\n\n",
		frameSize, cfg.duration, signCalls, verifyCalls, signRounds, r.inputLen)
	fmt.Println("| what | frames/s | µs/frame |")
	fmt.Println("|---|---:|---:|")
	row := func(what string, d time.Duration) {
		fmt.Printf("| %s | %.0f | %.1f |\n", what, 1/d.Seconds(), float64(d.Nanoseconds())/1000)
	}
	row(fmt.Sprintf("raw ed25519.Sign, %d-byte message", r.inputLen), r.raw)
	row(fmt.Sprintf("raw ed25519.Sign, %d-byte message", bigMessage), r.rawBig)
	row("sign.Signer.Append (header, base64, Sign, base64)", r.appendCost)
	row(fmt.Sprintf("raw ed25519.Verify, %d-byte message (for comparison with recv)", r.inputLen), r.verify)
	sendPer := time.Duration(0)
	if r.send.sum.Frames > 0 {
		sendPer = r.send.active / time.Duration(r.send.sum.Frames)
	}
	if sendPer > 0 {
		row("ssmrandom send --rate 0 (wall time per frame)", sendPer)
	}
	fmt.Println()
	fps := perSec(r.send.sum.Frames, r.send.active)
	fmt.Printf("The sender sent %d frames in %.2f s: **%.0f frames/s = %.2f × raw ed25519.Sign/s on one core** (%d-byte input). "+
		"It used %s cores (user+system over its run; its reader goroutine reads /dev/urandom alongside the signing loop, "+
		"and the kernel usually charges loopback delivery to it), %s µs of CPU per frame.\n\n",
		r.send.sum.Frames, r.send.active.Seconds(), fps, fps*r.raw.Seconds(), r.inputLen,
		cores(r.send.use.CPU, r.send.use.Life), per(r.send.use.CPU, r.send.sum.Frames))
}
