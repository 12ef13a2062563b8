package sink_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sink"
)

// unprivEnv, when set to 1 in a re-executed test binary, selects the
// checks that [TestKernelUnprivileged] runs as an unprivileged user.
const unprivEnv = "SSMRANDOM_SINK_TEST_UNPRIVILEGED"

// nobody is the uid and gid the unprivileged checks run as.
const nobody = 65534

// wantEPERM is the whole error OpenKernel must return without CAP_SYS_ADMIN.
const wantEPERM = "sink: kernel: RNDADDENTROPY needs CAP_SYS_ADMIN (run as root or give the service CAP_SYS_ADMIN): operation not permitted"

// cannotRun skips t with reason, or fails it when CI is set.
func cannotRun(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (not skipping: CI is set)", reason)
	}
	t.Skip(reason)
}

// needRoot skips t (fails it under CI) unless the test runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		cannotRun(t, "RNDADDENTROPY needs root (CAP_SYS_ADMIN); run the tests as root")
	}
}

// openKernel opens the kernel sink with credit, closing it at cleanup.
func openKernel(t testing.TB, credit int) sink.Kernel {
	t.Helper()
	s, err := sink.OpenKernel(credit)
	if err != nil {
		t.Fatalf("OpenKernel(%d): %v", credit, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// entropyAvail reads /proc/sys/kernel/random/entropy_avail.
func entropyAvail(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/random/entropy_avail")
	if err != nil {
		t.Fatalf("read entropy_avail: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("parse entropy_avail: %v", err)
	}
	return n
}

func TestKernelWrite(t *testing.T) {
	needRoot(t)
	s := openKernel(t, 0)
	if got, want := s.String(), "kernel pool (credit 0 bits/byte)"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	for _, n := range []int{1, 64, 4096, 4097, 65536} {
		p := stream(n, n)
		if got, err := s.Write(p); err != nil || got != n {
			t.Errorf("Write(%d bytes): got %d, %v, want %d, nil", n, got, err, n)
		}
	}
}

func TestKernelWriteCredited(t *testing.T) {
	needRoot(t)
	s := openKernel(t, 8)
	if got, want := s.String(), "kernel pool (credit 8 bits/byte)"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	before := entropyAvail(t)
	p := stream(0, 10000) // three chunks, the last one short
	if got, err := s.Write(p); err != nil || got != len(p) {
		t.Fatalf("Write(%d bytes): got %d, %v, want %d, nil", len(p), got, err, len(p))
	}
	after := entropyAvail(t)
	// On Linux 5.18 and later entropy_avail is 256 once the kernel's RNG is
	// initialised and credit changes nothing, so growth is not asserted.
	t.Logf("entropy_avail before %d, after crediting %d bytes at 8 bits/byte: %d", before, len(p), after)
}

// TestKernelReseed credits 32 bytes at 8 bits a byte, as the seed command
// does with a host's seed, then makes the kernel reseed.
func TestKernelReseed(t *testing.T) {
	needRoot(t)
	s := openKernel(t, 8)
	if n, err := s.Write(stream(1, 32)); n != 32 || err != nil {
		t.Fatalf("Write(32 bytes): got %d, %v, want 32, nil", n, err)
	}
	for range 2 {
		if err := s.Reseed(); err != nil {
			t.Fatalf("Reseed: got %v, want nil", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Reseed(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reseed after Close: got %v, want os.ErrClosed", err)
	}
}

func TestKernelWriteEmpty(t *testing.T) {
	needRoot(t)
	s := openKernel(t, 8)
	for _, p := range [][]byte{nil, {}} {
		if n, err := s.Write(p); n != 0 || err != nil {
			t.Errorf("Write(%#v): got %d, %v, want 0, nil", p, n, err)
		}
	}
}

func TestOpenKernelBadCredit(t *testing.T) {
	for _, credit := range []int{-1, 9, 64} {
		s, err := sink.OpenKernel(credit)
		if err == nil {
			s.Close()
			t.Errorf("OpenKernel(%d): got nil error, want one", credit)
			continue
		}
		if want := "credit of " + strconv.Itoa(credit) + " bits per byte is not between 0 and 8"; !strings.Contains(err.Error(), want) {
			t.Errorf("OpenKernel(%d): got %q, want it to contain %q", credit, err, want)
		}
		if !strings.HasPrefix(err.Error(), "sink: kernel: ") {
			t.Errorf("OpenKernel(%d): got %q, want prefix %q", credit, err, "sink: kernel: ")
		}
	}
}

func TestKernelCloseThenWrite(t *testing.T) {
	needRoot(t)
	s, err := sink.OpenKernel(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, err := s.Write([]byte{1}); n != 0 || !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: got %d, %v, want 0 and os.ErrClosed", n, err)
	}
	if err := s.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: got %v, want os.ErrClosed", err)
	}
}

func TestKernelWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	needRoot(t)
	s := openKernel(t, 8)
	for _, n := range []int{16, 10000} {
		p := make([]byte, n)
		if got := testing.AllocsPerRun(100, func() {
			if _, err := s.Write(p); err != nil {
				t.Fatal(err)
			}
		}); got != 0 {
			t.Errorf("Write(%d bytes): got %v allocations, want 0", n, got)
		}
	}
}

// TestKernelUnprivileged re-executes the test binary as nobody to check
// that OpenKernel, not the first Write, reports the missing capability.
func TestKernelUnprivileged(t *testing.T) {
	needRoot(t)
	// The go command builds the test binary in a directory only its owner
	// may enter, so copy it where nobody can run it.
	dir, err := os.MkdirTemp("", "sink-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sink.test")
	if err := copyFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestKernelUnprivilegedHelper$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", nobody, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestKernelUnprivilegedHelper") {
		t.Fatalf("helper as uid %d did not run:\n%s", nobody, out)
	}
	t.Logf("helper as uid %d:\n%s", nobody, out)
}

// TestKernelUnprivilegedHelper holds the checks that TestKernelUnprivileged
// runs as nobody; in a normal run it returns at once.
func TestKernelUnprivilegedHelper(t *testing.T) {
	if os.Getenv(unprivEnv) != "1" {
		return
	}
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root; want an unprivileged user")
	}
	for _, credit := range []int{0, 8} {
		s, err := sink.OpenKernel(credit)
		if err == nil {
			s.Close()
			t.Fatalf("OpenKernel(%d) as uid %d: got nil error, want EPERM", credit, os.Geteuid())
		}
		if s != nil {
			t.Errorf("OpenKernel(%d): got Sink %v with the error, want nil", credit, s)
		}
		if err.Error() != wantEPERM {
			t.Errorf("OpenKernel(%d): got %q, want %q", credit, err, wantEPERM)
		}
		if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, syscall.EPERM) {
			t.Errorf("OpenKernel(%d): got %v, want it to match fs.ErrPermission and syscall.EPERM", credit, err)
		}
		t.Logf("uid %d, credit %d: %v", os.Geteuid(), credit, err)
	}
}

// copyFile copies src to a new file dst with mode perm.
func copyFile(dst, src string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(perm); err != nil { // whatever the umask
		out.Close()
		return err
	}
	return out.Close()
}

func BenchmarkKernelWrite(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("RNDADDENTROPY needs root")
	}
	s := openKernel(b, 0)
	p := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := s.Write(p); err != nil {
			b.Fatal(err)
		}
	}
}
