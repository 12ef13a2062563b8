// Command rngd measures how good rngd (Debian's rng-tools5, "rngd 5") is at
// catching bad entropy. For each of a fixed list of sources it starts rngd on
// a fresh FIFO, writes the source's bytes into the FIFO and reports whether
// rngd's FIPS 140-2 tests disabled the source, how many bytes rngd read
// until then, how long it took and what rngd printed. The output is a
// Markdown table on stdout; progress goes to stderr.
//
// Usage (as root, rngd must be able to use RNDADDENTROPY):
//
//	go run ./bench/rngd [-timeout 20s] [-cap 16777216] [-only NAME]
//
// See README.md in this directory for what the numbers mean.
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nordunet/ssmrandom/internal/harness"
)

const (
	// pipeSize is the FIFO buffer size set with F_SETPIPE_SZ (the kernel's
	// minimum, one page), so that at most this many bytes written are not
	// yet read by rngd at any moment.
	pipeSize = 4096

	// chunkSize is how many bytes are written to the FIFO per write call.
	chunkSize = 4096

	// fipsBlock is how many bytes rngd 5 reads and FIPS-tests at a time
	// (20000 bits, the FIPS 140-2 test size).
	fipsBlock = 2500

	// replaySize is the size of the captured feed the replay source sends
	// twice.
	replaySize = 1 << 20

	// drainWait is how long a source that ended is given for rngd to read
	// and test what is left in the FIFO.
	drainWait = 2 * time.Second
)

// fill writes the next len(p) bytes of a source into p and returns how many
// it wrote; fewer than len(p) means the source has ended.
type fill func(p []byte) int

// source is one entropy source under test.
type source struct {
	name string // the -only name
	desc string // the table's source column
	gen  func() (fill, error)
}

// config holds the flags.
type config struct {
	rngd    string        // rngd binary
	out     string        // rngd -o
	timeout time.Duration // per source
	cap     int64         // bytes per source
	stall   time.Duration // no progress for this long means rngd stopped reading
	only    string
}

// result is what one source's run found.
type result struct {
	caught   bool
	why      string // why the run stopped
	written  int64  // bytes written into the FIFO
	consumed int64  // bytes rngd read from the FIFO
	elapsed  time.Duration
	said     string // rngd's output, one line per message
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rngd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.rngd, "rngd", "rngd", "rngd `binary` to test")
	fs.StringVar(&cfg.out, "out", "/dev/urandom", "rngd's output `device` (rngd -o); see README.md for why not /dev/random")
	fs.DurationVar(&cfg.timeout, "timeout", 20*time.Second, "time limit per source")
	fs.Int64Var(&cfg.cap, "cap", 16<<20, "most `bytes` written per source")
	fs.DurationVar(&cfg.stall, "stall", 2*time.Second, "stop a source when rngd has read nothing for this long")
	fs.StringVar(&cfg.only, "only", "", "run only the source `NAME` (one of "+strings.Join(names(), ", ")+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || cfg.timeout <= 0 || cfg.cap <= 0 || cfg.stall <= 0 {
		fmt.Fprintf(stderr, "rngd-bench: error: bad arguments (want flags only; -timeout, -cap, -stall > 0)\n")
		return 2
	}
	srcs := sources()
	if cfg.only != "" {
		var sel []source
		for _, s := range srcs {
			if s.name == cfg.only {
				sel = append(sel, s)
			}
		}
		if sel == nil {
			fmt.Fprintf(stderr, "rngd-bench: error: no source %q\nrngd-bench: hint: -only takes one of %s\n", cfg.only, strings.Join(names(), ", "))
			return 2
		}
		srcs = sel
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg, srcs, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "rngd-bench: error: %v\n", err)
		return 1
	}
	return 0
}

// bench checks the preconditions, runs every source and prints the table.
func bench(ctx context.Context, cfg config, srcs []source, stdout, stderr io.Writer) error {
	path, err := exec.LookPath(cfg.rngd)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: rngd feeds what passes its tests to the kernel with RNDADDENTROPY")
	}
	// rngd credits what it accepts as entropy. Once the kernel's CRNG is
	// ready, credits change nothing; before, they could declare it ready on
	// the strength of our fake "entropy". getrandom with GRND_NONBLOCK
	// fails with EAGAIN exactly while the CRNG is not ready.
	if _, err := unix.Getrandom(make([]byte, 1), unix.GRND_NONBLOCK); err != nil {
		return fmt.Errorf("kernel CRNG not ready (getrandom: %v): refusing to feed it test data", err)
	}
	version, err := exec.CommandContext(ctx, path, "-V").Output()
	if err != nil {
		return fmt.Errorf("%s -V: %v", path, err)
	}
	line, _, _ := strings.Cut(string(version), "\n")
	pkg := ""
	if v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "rng-tools5").Output(); err == nil && len(v) > 0 {
		pkg = ", Debian rng-tools5 " + string(v)
	}
	var uts unix.Utsname
	kernel := "?"
	if unix.Uname(&uts) == nil {
		kernel = unix.ByteSliceToString(uts.Release[:])
	}
	fmt.Fprintf(stdout, "`rngd -V`: %s (%s%s), Linux %s\n\n", strings.TrimSpace(line), path, pkg, kernel)
	fmt.Fprintf(stdout, "Command, per source, $DIR a fresh temp dir: `%s`\n\n", strings.Join(append([]string{path}, rngdArgs(cfg, "$DIR")...), " "))
	fmt.Fprintf(stdout, "Limits per source: %v, %d bytes, stop when rngd reads nothing for %v. FIFO buffer %d bytes (F_SETPIPE_SZ).\n\n",
		cfg.timeout, cfg.cap, cfg.stall, pipeSize)

	fmt.Fprintln(stdout, "| source | caught by rngd | bytes until caught (or tested) | time | rngd said |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---|")
	for _, s := range srcs {
		fmt.Fprintf(stderr, "rngd-bench: %s ...\n", s.name)
		g, err := s.gen()
		if err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		r, err := runOne(ctx, cfg, path, g)
		if err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		caught := "no"
		if r.caught {
			caught = "**yes**"
		}
		said := r.said
		if said == "" {
			said = "(nothing)"
		}
		fmt.Fprintf(stdout, "| %s | %s (%s) | %d (%.1f blocks of %d) | %v | %s |\n",
			s.desc, caught, r.why, r.consumed, float64(r.consumed)/fipsBlock, fipsBlock, r.elapsed.Round(100*time.Microsecond), said)
	}
	fmt.Fprintf(stdout, "\nBytes are what rngd read from the FIFO: bytes written minus what was still in the FIFO when the run stopped.\n")
	return nil
}

// rngdArgs is rngd's command line after the binary, for temp dir dir.
func rngdArgs(cfg config, dir string) []string {
	return []string{
		"-f",                                     // foreground
		"-r", filepath.Join(dir, "entropy.fifo"), // our source
		"-p", filepath.Join(dir, "rngd.pid"), // not /var/run/rngd.pid
		"-d", "1", // no RDRAND/RDSEED source
		"-n", "1", // no TPM source
		"-o", cfg.out,
	}
}

// runOne runs rngd on a fresh FIFO fed from g. rngd is killed and the temp
// dir removed before it returns, whatever happens.
func runOne(ctx context.Context, cfg config, rngd string, g fill) (res result, err error) {
	dir, err := os.MkdirTemp("", "rngd-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "entropy.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return res, fmt.Errorf("mkfifo: %v", err)
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	// Its own process group, killed as a whole, and killed if we die
	// first; stdout and stderr in one harness.Lines, in order.
	p, err := harness.Start(context.Background(), "rngd", harness.Options{Group: true, Combined: true},
		append([]string{rngd}, rngdArgs(cfg, dir)...)...)
	if err != nil {
		return res, err
	}
	exited := p.Done()
	kill := func() {
		if err := p.Kill(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "rngd-bench:", err)
		}
	}
	var f *os.File
	defer func() {
		kill() // first, so that rngd never sees the FIFO's end of file
		if f != nil {
			f.Close()
		}
	}()

	// Open the FIFO without blocking: ENXIO until rngd has opened it.
	var fd int
	for {
		fd, err = unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.ENXIO) {
			return res, fmt.Errorf("open fifo: %v", err)
		}
		select {
		case <-exited:
			return res, fmt.Errorf("rngd exited before opening the fifo: %v: %q", p.Err(), p.Stdout.String())
		case <-ctx.Done():
			return res, fmt.Errorf("rngd did not open the fifo: %v", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, pipeSize); err != nil {
		unix.Close(fd)
		return res, fmt.Errorf("F_SETPIPE_SZ: %v", err)
	}
	// Non-blocking fd: os.NewFile puts it in the poller, so write
	// deadlines work.
	f = os.NewFile(uintptr(fd), fifo)
	// Unblock a pending write at once on timeout or interrupt.
	defer context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Now()) })()

	buf := make([]byte, chunkSize)
	start := time.Now()
	deadline, _ := ctx.Deadline()
loop:
	for {
		if res.written >= cfg.cap {
			res.why = "cap reached"
			break
		}
		n := min(int64(len(buf)), cfg.cap-res.written)
		m := g(buf[:n])
		if m == 0 {
			res.why = drain(ctx, f, exited)
			break
		}
		wd := time.Now().Add(cfg.stall)
		if deadline.Before(wd) {
			wd = deadline
		}
		if err := f.SetWriteDeadline(wd); err != nil {
			return res, err
		}
		if ctx.Err() != nil { // after SetWriteDeadline: see AfterFunc above
			res.why = "timeout"
			break
		}
		k, err := f.Write(buf[:m])
		res.written += int64(k)
		switch {
		case err == nil:
		case errors.Is(err, syscall.EPIPE):
			res.why = "rngd exited"
			break loop
		case errors.Is(err, os.ErrDeadlineExceeded):
			res.why = fmt.Sprintf("rngd stopped reading for %v", cfg.stall)
			if ctx.Err() != nil || !time.Now().Before(deadline) {
				res.why = "timeout"
			}
			break loop
		default:
			return res, fmt.Errorf("write fifo: %v", err)
		}
		if m < int(n) {
			res.why = drain(ctx, f, exited)
			break
		}
		select {
		case <-ctx.Done():
			res.why = "timeout"
			break loop
		default:
		}
	}
	stopped := time.Now()
	if parent.Err() != nil {
		return res, fmt.Errorf("interrupted: %v", context.Cause(parent))
	}

	if res.why == "rngd exited" {
		// Let rngd's output reach us.
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
		}
	}
	// The FIFO's buffer outlives its reader while we hold the write end:
	// what is still in it was never read by rngd.
	unread, err := pending(f)
	if err != nil {
		return res, err
	}
	res.consumed = res.written - int64(unread)

	select {
	case <-exited:
		stopped = p.Ended()
		status := "exit ?"
		var ee *exec.ExitError
		switch {
		case p.Err() == nil:
			status = "exit 0"
		case errors.As(p.Err(), &ee):
			status = ee.ProcessState.String()
		}
		res.said = said(p.Stdout.String(), status)
		res.caught = strings.Contains(p.Stdout.String(), "FIPS failures")
		if res.why != "rngd exited" {
			res.why += ", then rngd exited"
		}
	default:
		kill()
		res.said = said(p.Stdout.String(), "")
	}
	res.elapsed = stopped.Sub(start)
	return res, nil
}

// drain waits until rngd has read everything left in the FIFO (or exited,
// or drainWait passed) and says why the run stopped.
func drain(ctx context.Context, f *os.File, exited <-chan struct{}) string {
	t := time.NewTimer(drainWait)
	defer t.Stop()
	for {
		if n, err := pending(f); err != nil || n == 0 {
			// rngd may still be testing its last block.
			time.Sleep(100 * time.Millisecond)
			return "source ended, rngd read all of it"
		}
		select {
		case <-exited:
			return "rngd exited"
		case <-ctx.Done():
			return "timeout"
		case <-t.C:
			return "source ended, rngd stopped reading"
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// pending returns how many bytes are in the FIFO, not yet read.
func pending(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) // TIOCINQ is FIONREAD
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		return 0, fmt.Errorf("FIONREAD: %v", err)
	}
	return n, nil
}

// said formats rngd's output lines and exit status for a table cell.
func said(out, status string) string {
	var lines []string
	for l := range strings.SplitSeq(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, "“"+strings.ReplaceAll(l, "|", `\|`)+"”")
		}
	}
	if status != "" {
		lines = append(lines, "("+status+")")
	} else if len(lines) > 0 {
		lines = append(lines, "(still running, killed)")
	}
	return strings.Join(lines, " ")
}

// sources returns the sources under test, in table order. Every PRNG has a
// fixed seed; crypto/rand data differs between runs but not in kind.
func sources() []source {
	return []source{
		{"zeros", "all zeros", constant(0x00)},
		{"a5", "repeated byte 0xA5", constant(0xA5)},
		{"counter", "counter 0,1,…,255,0,…", counter},
		{"bias55", "biased bits, P(1) = 0.55 (PCG, fixed seed)", biased(0.55)},
		{"bias51", "biased bits, P(1) = 0.51 (PCG, fixed seed)", biased(0.51)},
		{"repeat4k", "4 KiB of crypto/rand, repeated", repeated(4096)},
		{"aesctr", "AES-256-CTR keystream, all-zero key and IV", aesCTR},
		{"replay", "1 MiB of crypto/rand, sent twice (then ends)", replay},
		{"crand", "control: crypto/rand", cryptoRand},
	}
}

func names() []string {
	var ns []string
	for _, s := range sources() {
		ns = append(ns, s.name)
	}
	return ns
}

func constant(b byte) func() (fill, error) {
	return func() (fill, error) {
		return func(p []byte) int {
			for i := range p {
				p[i] = b
			}
			return len(p)
		}, nil
	}
}

func counter() (fill, error) {
	var c byte
	return func(p []byte) int {
		for i := range p {
			p[i] = c
			c++
		}
		return len(p)
	}, nil
}

// biased returns bytes built from independent bits that are 1 with
// probability p1, most significant bit first.
func biased(p1 float64) func() (fill, error) {
	return func() (fill, error) {
		r := rand.New(rand.NewPCG(1, 2))
		threshold := uint32(p1 * (1 << 32))
		return func(p []byte) int {
			for i := range p {
				var b byte
				for range 8 {
					b <<= 1
					if r.Uint32() < threshold {
						b |= 1
					}
				}
				p[i] = b
			}
			return len(p)
		}, nil
	}
}

// cycle returns a fill that sends block over and over, times times
// (forever if times is 0).
func cycle(block []byte, times int) fill {
	off, round := 0, 0
	return func(p []byte) int {
		n := 0
		for n < len(p) {
			if times > 0 && round == times {
				break
			}
			k := copy(p[n:], block[off:])
			n += k
			off += k
			if off == len(block) {
				off = 0
				round++
			}
		}
		return n
	}
}

func repeated(size int) func() (fill, error) {
	return func() (fill, error) {
		block := make([]byte, size)
		if _, err := crand.Read(block); err != nil {
			return nil, err
		}
		return cycle(block, 0), nil
	}
}

func replay() (fill, error) {
	capture := make([]byte, replaySize)
	if _, err := crand.Read(capture); err != nil {
		return nil, err
	}
	return cycle(capture, 2), nil
}

func aesCTR() (fill, error) {
	block, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		return nil, err
	}
	ctr := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	return func(p []byte) int {
		clear(p)
		ctr.XORKeyStream(p, p)
		return len(p)
	}, nil
}

func cryptoRand() (fill, error) {
	return func(p []byte) int {
		_, _ = crand.Read(p) // never fails (Go ≥ 1.24 crashes instead)
		return len(p)
	}, nil
}
