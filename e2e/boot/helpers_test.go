//go:build linux

package boot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// need skips the test, or fails it when CI is set, unless it runs as root
// and every command in cmds is found.
func need(t *testing.T, cmds ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (mounts, network namespaces, mkinitramfs, QEMU taps)")
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			skipOrFail(t, fmt.Sprintf("%s not found: .ci/run installs it (package list in doc.go)", c))
		}
	}
}

func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set: a skip is a failure)", reason)
	}
	t.Skip(reason)
}

// repoRoot is the checkout this package is in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary builds ./cmd/ssmrandom once per test run, as make build does,
// and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ssmrandom-boot-bin-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(buildDir, "ssmrandom"), "./cmd/ssmrandom")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "ssmrandom")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// run runs name with args under ctx and returns its combined output,
// failing the test on an error.
func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// packageFile is one file of the package tree: where the repository keeps
// it and where the package installs it.
type packageFile struct {
	src  string // relative to the repository root
	dst  string // absolute, as installed
	mode os.FileMode
}

// bootFiles are the files of boot-time delivery that the package installs
// besides the binary and the units (scripts/deb.sh must ship exactly these).
var bootFiles = []packageFile{
	{"packaging/seed/seed-boot", "/usr/lib/ssmrandom/seed-boot", 0o755},
	{"packaging/seed/seed.conf", "/etc/ssmrandom/seed.conf", 0o644},
	{"packaging/initramfs-tools/hooks/ssmrandom", "/usr/share/initramfs-tools/hooks/ssmrandom", 0o755},
	{"packaging/initramfs-tools/scripts/init-premount/ssmrandom", "/usr/share/initramfs-tools/scripts/init-premount/ssmrandom", 0o755},
	{"packaging/initramfs-tools/scripts/init-bottom/ssmrandom", "/usr/share/initramfs-tools/scripts/init-bottom/ssmrandom", 0o755},
	{"packaging/initramfs-tools/conf-hooks.d/ssmrandom", "/usr/share/initramfs-tools/conf-hooks.d/ssmrandom", 0o644},
	{"packaging/dracut/90ssmrandom/module-setup.sh", "/usr/lib/dracut/modules.d/90ssmrandom/module-setup.sh", 0o755},
	{"packaging/dracut/90ssmrandom/ssmrandom-start.sh", "/usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-start.sh", 0o755},
	{"packaging/dracut/90ssmrandom/ssmrandom-online.sh", "/usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-online.sh", 0o755},
	{"packaging/dracut/90ssmrandom/ssmrandom-check.sh", "/usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-check.sh", 0o755},
}

// host is a made-up host's /etc/ssmrandom for a test: its seed.conf, its
// key and its trusted producer keys.
type host struct {
	conf    string // seed.conf's text
	keyMode os.FileMode
	noKey   bool
	trust   map[string][]byte // file name -> contents in trust/
}

// packageRoot lays out a tree with usr/ and etc/ as the package installs
// them (the built binary, bootFiles) plus h's /etc/ssmrandom, to be laid
// over the machine's /usr and /etc by inPackageRoot.
func packageRoot(t *testing.T, h host) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(dst string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	put("usr/bin/ssmrandom", bin, 0o755)
	for _, f := range bootFiles {
		if strings.HasPrefix(f.dst, "/etc/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f.src))
		if err != nil {
			t.Fatal(err)
		}
		put(f.dst, data, f.mode)
	}
	put("etc/ssmrandom/seed.conf", []byte(h.conf), 0o644)
	if !h.noKey {
		mode := h.keyMode
		if mode == 0 {
			mode = 0o600
		}
		// The host key as keygen --host makes it; its public half is
		// at etc/ssmrandom/host.pub.jwk in the returned tree, for the
		// producer's members folder.
		if err := os.MkdirAll(filepath.Join(dir, "etc/ssmrandom"), 0o755); err != nil {
			t.Fatal(err)
		}
		prefix := filepath.Join(dir, "etc/ssmrandom/host")
		if out, err := exec.Command(binary(t), "keygen", "--host", "-o", prefix).CombinedOutput(); err != nil {
			t.Fatalf("keygen --host: %v\n%s", err, out)
		}
		if err := os.Chmod(prefix+".jwk", mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/ssmrandom/trust"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range h.trust {
		put("etc/ssmrandom/trust/"+name, data, 0o644)
	}
	return dir
}

// inPackageRoot is a command that runs name with args in a private mount
// namespace where pkg/usr and pkg/etc are laid over the machine's /usr
// and /etc (read-only overlays): the hook and the module run from where
// the package installs them, and the machine is left untouched.
func inPackageRoot(ctx context.Context, pkg, name string, args ...string) *exec.Cmd {
	const script = `set -e
mount -t overlay ssmrandom-test -o "lowerdir=$1/usr:/usr" /usr
mount -t overlay ssmrandom-test -o "lowerdir=$1/etc:/etc" /etc
shift
exec "$@"`
	a := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", pkg, name}, args...)
	return exec.CommandContext(ctx, "unshare", a...)
}

// kernel is the newest Debian kernel in /boot with its modules installed:
// its version and the path of its image.
func kernel(t *testing.T) (version, image string) {
	t.Helper()
	imgs, _ := filepath.Glob("/boot/vmlinuz-*")
	for _, img := range imgs {
		v := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		if _, err := os.Stat(filepath.Join("/lib/modules", v, "modules.dep")); err == nil && v > version {
			version, image = v, img
		}
	}
	if image == "" {
		skipOrFail(t, "no kernel in /boot with modules in /lib/modules: .ci/run installs linux-image-amd64")
	}
	return version, image
}

// netns makes a network namespace for the test and removes it (and with
// it every device in it) when the test ends.
func netns(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "ip", "netns", "del", name).Run() // left from a killed run
	run(t, ctx, "ip", "netns", "add", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v %s", name, err, out)
		}
	})
	run(t, ctx, "ip", "-n", name, "link", "set", "lo", "up")
}

// process is a background command whose output is kept, stopped when
// the test ends.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output is what the process wrote so far, stdout and stderr.
func (p *process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start starts name with args in a process group of its own; when the
// test ends it is sent SIGTERM, then SIGKILL after 5 s, group and all.
func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Stdout = p
	p.cmd.Stderr = p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop ends the process group: SIGTERM, then SIGKILL after 5 s.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// waitFor waits up to d for want in p's output.
func (p *process) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Output(), want) {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before saying %q:\n%s", p.cmd.Path, p.err, want, p.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not say %q within %v:\n%s", p.cmd.Path, want, d, p.Output())
		}
	}
}
