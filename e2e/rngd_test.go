//go:build linux

package e2e

// Integration tests of recv feeding a real rngd (rng-tools5, rngd 5)
// through the FIFO recv makes, as a receiver host runs them. They need
// root (rngd feeds the kernel pool) and rngd; they skip without either,
// and fail instead when CI is set.
//
// rngd always runs as
//
//	rngd -f -r FIFO -p PIDFILE -d 1 -n 1 -o /dev/urandom
//
// -f keeps it in the foreground (our child, in its own process group);
// -d 1 -n 1 turn off its RDRAND and TPM sources so it reads only our FIFO;
// -p keeps it away from /var/run/rngd.pid (rngd 5 writes no pid file with
// -f, but the flag costs nothing). -o /dev/urandom: after each block that
// passes its FIPS tests rngd adds it with ioctl(RNDADDENTROPY) and then
// polls its output device for POLLOUT before reading on; with the default
// /dev/random, kernels >= 5.18 never report POLLOUT once the CRNG is
// ready, so rngd would stop reading after its first good 2500-byte block
// and these tests would see a FIFO that fills up. /dev/urandom takes the
// same ioctl into the same pool and polls ready at once, so rngd keeps
// reading (see bench/rngd/README.md).
//
// Each test uses its own SSM channel on lo, (127.0.0.1, 232.0.1.12x) and
// port 4912x, distinct from the testscripts' (232.0.1.101-107, 150, 199).
//
// Every process is started (internal/harness) in its own process group
// with Pdeathsig SIGKILL, and a t.Cleanup kills the group (only if the
// process has not been reaped yet, so never someone else's) and waits for
// it: no rngd, recv or send outlives the test, whether it passes or fails.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// rngdTimeout bounds every wait in these tests, so a hang fails the test
// (each test takes a few seconds; 20 s is the budget).
const rngdTimeout = 10 * time.Second

// fipsBlockBytes is how many bytes rngd 5 FIPS-tests at a time; it gives
// up on a source after 25 failed blocks.
const fipsBlockBytes = 2500

// needRngd returns the paths of rngd and of the ssmrandom binary (built
// with the race detector if the tests run with it), or skips the test
// when it cannot run (fails when CI is set).
func needRngd(t *testing.T) (rngd, ssmrandom string) {
	t.Helper()
	if os.Geteuid() != 0 {
		harness.CannotRun(t, "rngd tests need root: rngd adds entropy to the kernel pool")
	}
	rngd, err := exec.LookPath("rngd")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/rngd"); err2 != nil {
			harness.CannotRun(t, "rngd tests need rngd (Debian package rng-tools5): "+err.Error())
		}
		rngd = "/usr/sbin/rngd"
	}
	return rngd, raceBinary(t)
}

// rngdProc is a process started by a test: its stdout and stderr go to
// one harness.Lines, Stdout.
type rngdProc struct {
	*harness.Proc
	t *testing.T
}

// start starts a process in its own process group and registers a
// cleanup that kills the group and waits for it, and logs its output if
// the test failed.
func start(t *testing.T, name, path string, args ...string) *rngdProc {
	t.Helper()
	p := startWith(t, context.Background(), name, harness.Options{Dir: t.TempDir(), Group: true, Combined: true}, append([]string{path}, args...)...)
	return &rngdProc{Proc: p, t: t}
}

// out returns what the process wrote so far.
func (p *rngdProc) out() string { return p.Stdout.String() }

// signal sends sig to the process's group and waits for it to exit,
// failing the test if it had already exited or does not exit in time.
func (p *rngdProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if !p.Running() {
		p.t.Fatalf("%s exited before %v: %v\n%s", p.Name, sig, p.Err(), p.out())
	}
	p.Signal(sig)
	p.wait()
}

// wait waits for the process to exit on its own.
func (p *rngdProc) wait() {
	p.t.Helper()
	select {
	case <-p.Done():
	case <-time.After(rngdTimeout):
		p.t.Fatalf("%s did not exit within %s\n%s", p.Name, rngdTimeout, p.out())
	}
}

// exitedBySignal reports whether the process was ended by sig.
func (p *rngdProc) exitedBySignal(sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// rchar returns how many bytes the process has read so far, all read(2)
// calls together (/proc/PID/io). Once rngd has started, its only reads
// are from the FIFO.
func (p *rngdProc) rchar() uint64 {
	p.t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/io")
	if err != nil {
		p.t.Fatalf("%s: %v", p.Name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar: "); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				p.t.Fatalf("%s: /proc/PID/io: %v", p.Name, err)
			}
			return n
		}
	}
	p.t.Fatalf("%s: no rchar in /proc/PID/io:\n%s", p.Name, b)
	return 0
}

// wchan returns the kernel function the process sleeps in, e.g.
// "anon_pipe_read" (or "pipe_read" on older kernels) for a blocked read of
// a FIFO; "" if the kernel does not say.
func (p *rngdProc) wchan() string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/wchan")
	if s := string(b); s != "0" {
		return s
	}
	return ""
}

// rngdSetup makes a key pair in a temp dir, starts recv with the extra
// flags on (127.0.0.1, group):port writing to the FIFO dir/rnd-pipe, and
// waits until the FIFO exists (recv makes it only after joining).
func rngdSetup(t *testing.T, ssmrandom, group, port string, recvFlags ...string) (dir, fifo string, recv *rngdProc) {
	t.Helper()
	dir = t.TempDir()
	keys := filepath.Join(dir, "keys", "producer")
	if out, err := exec.Command(ssmrandom, "keygen", "-o", keys).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	fifo = filepath.Join(dir, "rnd-pipe")
	args := append([]string{"recv", "--trust", keys + ".pub.jwk", "-o", fifo, "-g", group, "-p", port, "-i", "lo"}, recvFlags...)
	recv = start(t, "recv", ssmrandom, append(args, "127.0.0.1")...)
	deadline := time.Now().Add(rngdTimeout)
	for {
		fi, err := os.Lstat(fifo)
		if err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			break
		}
		if !recv.Running() || time.Now().After(deadline) {
			t.Fatalf("recv made no FIFO at %s (running: %v, %v)\n%s", fifo, recv.Running(), recv.Err(), recv.out())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return dir, fifo, recv
}

// startRngd starts rngd on the FIFO only, writing to /dev/urandom (see the
// file comment for why).
func startRngd(t *testing.T, rngd, dir, fifo string) *rngdProc {
	t.Helper()
	return start(t, "rngd", rngd, "-f", "-r", fifo, "-p", filepath.Join(dir, "rngd.pid"), "-d", "1", "-n", "1", "-o", "/dev/urandom")
}

// startSend starts a sender of input at rate bytes/s in 512-byte frames
// to (127.0.0.1, group):port; extra flags follow.
func startSend(t *testing.T, ssmrandom, dir, input, group, port, rate string, extra ...string) *rngdProc {
	t.Helper()
	args := []string{"send", "-k", filepath.Join(dir, "keys", "producer.jwk"), "-r", input, "-g", group, "-p", port, "-i", "lo", "-s", "512", "--rate", rate}
	return start(t, "send", ssmrandom, append(args, extra...)...)
}

// stopRecv stops recv with SIGINT, checks that it exited 0, and returns
// its final "stopped: ..." line.
func stopRecv(t *testing.T, recv *rngdProc) harness.Summary {
	t.Helper()
	recv.signal(syscall.SIGINT)
	if recv.Err() != nil {
		t.Fatalf("recv after SIGINT: got %v, want exit status 0\n%s", recv.Err(), recv.out())
	}
	s, err := harness.FindSummary(recv.Stdout.All(), "stopped: ")
	if err != nil {
		t.Fatalf("recv logged no \"stopped: ...\" line:\n%s", recv.out())
	}
	t.Logf("recv: %s; dropped %v", s.Message, s.Dropped)
	return s
}

// readsFor returns how many bytes rngd read from the FIFO during d, and
// fails the test if rngd exited meanwhile.
func readsFor(t *testing.T, rngd *rngdProc, d time.Duration) uint64 {
	t.Helper()
	before := rngd.rchar()
	time.Sleep(d)
	after := rngd.rchar()
	if !rngd.Running() {
		t.Fatalf("rngd exited while fed a good producer: %v\n%s", rngd.Err(), rngd.out())
	}
	return after - before
}

// TestRngdReadsTrustedFeed: rngd reads a trusted producer's verified bytes
// from recv's FIFO, keeps reading (no FIPS failures, no EOF), and may be
// restarted while recv runs.
func TestRngdReadsTrustedFeed(t *testing.T) {
	rngdPath, ssmrandom := needRngd(t)
	const group, port = "232.0.1.120", "49120"
	dir, fifo, recv := rngdSetup(t, ssmrandom, group, port, "--stats-interval", "1s")
	rngd := startRngd(t, rngdPath, dir, fifo)
	// 64 KiB/s: 128 frames of 512 bytes a second, well within what rngd
	// tests and recv verifies, so the FIFO should not fill.
	const rate = 65536
	send := startSend(t, ssmrandom, dir, "/dev/urandom", group, port, strconv.Itoa(rate))

	// rngd reads the feed: over one second it reads about 64 KiB. We want
	// a quarter of that, so a slow machine still passes; an rngd that
	// stopped after its first block (the /dev/random trap) reads 0.
	time.Sleep(300 * time.Millisecond) // rngd's start-up reads are done
	if n := readsFor(t, rngd, time.Second); n < rate/4 {
		t.Fatalf("rngd read %d bytes from the FIFO in 1s of a %d bytes/s feed, want at least %d", n, rate, rate/4)
	} else {
		t.Logf("rngd read %d bytes from the FIFO in 1s", n)
	}

	// Restart rngd while recv runs: recv holds the FIFO open read-write,
	// so the old rngd going away is no EOF or SIGPIPE for anyone, the
	// FIFO stays, and a new rngd on the same path reads on. rngd 5 has no
	// SIGTERM handler: it dies of the signal.
	rngd.signal(syscall.SIGTERM)
	if !rngd.exitedBySignal(syscall.SIGTERM) {
		t.Errorf("first rngd after SIGTERM: got %v, want killed by SIGTERM", rngd.Err())
	}
	if !recv.Running() || !send.Running() {
		t.Fatalf("recv (running: %v) or send (running: %v) exited when rngd was restarted", recv.Running(), send.Running())
	}
	rngd2 := startRngd(t, rngdPath, dir, fifo)
	time.Sleep(300 * time.Millisecond)
	if n := readsFor(t, rngd2, time.Second); n < rate/4 {
		t.Fatalf("restarted rngd read %d bytes from the FIFO in 1s of a %d bytes/s feed, want at least %d", n, rate, rate/4)
	} else {
		t.Logf("restarted rngd read %d bytes from the FIFO in 1s", n)
	}

	// Stop in order: sender, rngd (before recv, whose exit closes the
	// FIFO's last writer: rngd would see EOF), recv.
	send.signal(syscall.SIGINT)
	rngd2.signal(syscall.SIGTERM)
	if out := rngd2.out() + rngd.out(); strings.Contains(out, "FIPS") {
		t.Errorf("rngd printed FIPS failures for a good producer:\n%s", out)
	}
	s := stopRecv(t, recv)
	// Frames were forwarded (about 128 a second for ~2.6 s; we want at
	// least one second's worth), and rngd drained the FIFO: frames dropped
	// because it was full are none, or few compared with those forwarded.
	if s.Frames < rate/512 {
		t.Errorf("recv forwarded %d frames, want at least %d", s.Frames, rate/512)
	}
	if full := s.Dropped["output_full"]; full*10 > s.Frames {
		t.Errorf("recv dropped %d frames as output_full and forwarded %d, want output_full under a tenth", full, s.Frames)
	}
	if s.Rejected != s.Dropped["output_full"] {
		t.Errorf("recv dropped %d datagrams (%v), want only output_full drops, if any", s.Rejected, s.Dropped)
	}
}

// TestRngdBrokenProducerHealthOn: a trusted producer whose source is
// broken (all zeros, signed all the same) is stopped by recv's health
// tests, so rngd never gets a byte: it simply stays blocked in read(2) on
// the FIFO, so it runs no FIPS tests and does not fail any.
func TestRngdBrokenProducerHealthOn(t *testing.T) {
	rngdPath, ssmrandom := needRngd(t)
	const group, port = "232.0.1.121", "49121"
	dir, fifo, recv := rngdSetup(t, ssmrandom, group, port) // --health on is the default
	rngd := startRngd(t, rngdPath, dir, fifo)

	// Wait until rngd sleeps reading the (empty) FIFO, then note its reads.
	deadline := time.Now().Add(rngdTimeout)
	for !strings.Contains(rngd.wchan(), "pipe_read") {
		if !rngd.Running() || time.Now().After(deadline) {
			t.Fatalf("rngd not blocked reading the FIFO (wchan %q, running %v)\n%s", rngd.wchan(), rngd.Running(), rngd.out())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := rngd.rchar()

	// 128 frames of zeros, 64 KiB, about one second.
	const frames = 128
	send := startSend(t, ssmrandom, dir, "/dev/zero", group, port, "65536", "--health", "off", "--count", strconv.Itoa(frames))
	send.wait()
	if send.Err() != nil {
		t.Fatalf("send: %v\n%s", send.Err(), send.out())
	}
	time.Sleep(300 * time.Millisecond) // recv has taken the last datagrams

	// rngd is still there, still blocked on the FIFO, and read nothing.
	if !rngd.Running() {
		t.Fatalf("rngd exited: %v\n%s", rngd.Err(), rngd.out())
	}
	if w := rngd.wchan(); !strings.Contains(w, "pipe_read") {
		t.Errorf("rngd's wchan: got %q, want it blocked in pipe_read", w)
	}
	if got := rngd.rchar() - before; got != 0 {
		t.Errorf("rngd read %d bytes while the broken producer sent, want 0", got)
	}
	rngd.signal(syscall.SIGTERM)
	if out := rngd.out(); out != "" {
		t.Errorf("rngd printed %q, want nothing", out)
	}

	// recv forwarded nothing: every frame verified (trusted key) and was
	// dropped as unhealthy, with an error line for the failed test.
	s := stopRecv(t, recv)
	if s.Frames != 0 || s.Bytes != 0 {
		t.Errorf("recv forwarded %d frames (%d bytes) of zeros, want 0", s.Frames, s.Bytes)
	}
	if s.Dropped["unhealthy"] != frames || s.Rejected != frames {
		t.Errorf("recv dropped %d datagrams, %d as unhealthy (%v), want %d, all unhealthy", s.Rejected, s.Dropped["unhealthy"], s.Dropped, frames)
	}
	if out := recv.out(); !strings.Contains(out, `"level":"error"`) || !strings.Contains(out, "failed a health test") {
		t.Errorf("recv logged no error line for the failed health test:\n%s", out)
	}
}

// TestRngdBrokenProducerHealthOff: with recv's health tests off, the
// zeros reach rngd, whose FIPS 140-2 tests fail every 2500-byte block;
// after 25 failures rngd disables its only source and exits on its own.
// recv, holding the FIFO open, runs on: the FIFO fills and further frames
// are dropped as output_full.
func TestRngdBrokenProducerHealthOff(t *testing.T) {
	rngdPath, ssmrandom := needRngd(t)
	const group, port = "232.0.1.122", "49122"
	dir, fifo, recv := rngdSetup(t, ssmrandom, group, port, "--health", "off")
	rngd := startRngd(t, rngdPath, dir, fifo)

	// 256 KiB/s: the 25 failed blocks (62.5 KB) take a quarter second.
	began := time.Now()
	send := startSend(t, ssmrandom, dir, "/dev/zero", group, port, "262144", "--health", "off")
	rngd.wait()
	t.Logf("rngd exited %s after the sender started: %v; it printed:\n%s", time.Since(began).Round(time.Millisecond), rngd.Err(), rngd.out())
	if out := rngd.out(); !strings.Contains(out, "too many FIPS failures") {
		t.Errorf("rngd's output: got %q, want \"too many FIPS failures\"", out)
	}
	if rngd.Err() != nil {
		t.Errorf("rngd's exit: got %v, want status 0 (it gives up, it does not crash)", rngd.Err())
	}

	// recv is not hurt by its reader going away: no SIGPIPE, no error;
	// with nobody reading, the 64 KiB pipe buffer fills within a second
	// at this rate and the rest is dropped as output_full.
	time.Sleep(time.Second)
	if !recv.Running() {
		t.Fatalf("recv exited when rngd did: %v\n%s", recv.Err(), recv.out())
	}
	send.signal(syscall.SIGINT)
	s := stopRecv(t, recv)
	if s.Bytes < 25*fipsBlockBytes {
		t.Errorf("recv forwarded %d bytes, want at least the %d rngd needs to give up", s.Bytes, 25*fipsBlockBytes)
	}
	if s.Dropped["unhealthy"] != 0 {
		t.Errorf("recv with --health off dropped %d frames as unhealthy, want 0", s.Dropped["unhealthy"])
	}
	if s.Dropped["output_full"] == 0 {
		t.Errorf("recv dropped no frames as output_full after rngd exited, want some (%v)", s.Dropped)
	}
	if out := recv.out(); !strings.Contains(out, "health tests are OFF") {
		t.Errorf("recv did not warn that health tests are off:\n%s", out)
	}
}
