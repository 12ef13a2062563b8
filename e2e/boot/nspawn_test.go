//go:build linux

package boot

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// rootIncludes are the packages of the container's Debian root beyond
// minbase: systemd as PID 1, and adduser, which the package depends on.
const rootIncludes = "systemd,systemd-sysv,dbus,adduser"

// rootCache is where built roots are kept between tests and runs, one per
// hash of what makes them (suite, packages, the machine's apt sources).
const rootCache = "/var/cache/ssmrandom-test"

// debianRoot returns a small Debian root with systemd, built with
// mmdebstrap from the machine's own apt sources and kept in rootCache, so
// a CI run builds it once. Tests must not change it: containers run it
// with --volatile=overlay.
func debianRoot(t *testing.T) string {
	t.Helper()
	suite := osRelease(t, "VERSION_CODENAME")
	var sources []string
	for _, pat := range []string{"/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		sources = append(sources, m...)
	}
	sort.Strings(sources)
	h := sha256.New()
	fmt.Fprintf(h, "minbase %s %s\n", suite, rootIncludes)
	for _, s := range sources {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n%s\n", s, b)
	}
	dir := filepath.Join(rootCache, "root-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/systemd/systemd")); err == nil {
		return dir
	}
	if err := os.MkdirAll(rootCache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(rootCache, "building-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append([]string{"--variant=minbase", "--include=" + rootIncludes, suite, filepath.Join(tmp, "root")}, sources...)
	t0 := time.Now()
	run(t, ctx, "mmdebstrap", args...)
	t.Logf("mmdebstrap built %s in %.0f s", dir, time.Since(t0).Seconds())
	if err := os.Rename(filepath.Join(tmp, "root"), dir); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	return dir
}

func osRelease(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("no %s in /etc/os-release", key)
	return ""
}

// buildDeb builds the package with scripts/deb.sh, as make deb does, into
// a temporary folder and returns the folder.
func buildDeb(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "scripts/deb.sh"), binary(t), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/deb.sh: %v\n%s", err, b)
	}
	return out
}

// container is a systemd-nspawn container booted with systemd as PID 1.
type container struct {
	t      *testing.T
	nspawn *process
	leader string // the container's PID 1, as seen from here
}

// boot boots root in a container with its own network (loopback only),
// the root overlaid with a throw-away layer, and bind (read-only) at
// /mnt/ssmrandom; it waits until systemd has finished booting.
func bootContainer(t *testing.T, root, bind string) *container {
	t.Helper()
	name := fmt.Sprintf("ssmrandom-test-%d", os.Getpid())
	p := start(t, "systemd-nspawn", "-b", "-D", root, "-M", name,
		"--volatile=overlay", "--register=no", "--keep-unit", "--console=read-only",
		"--private-network", "--bind-ro="+bind+":/mnt/ssmrandom")
	c := &container{t: t, nspawn: p}
	deadline := time.Now().Add(2 * time.Minute)
	for c.leader == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no container PID 1 within 2 min:\n%s", p.Output())
		}
		select {
		case <-p.done:
			t.Fatalf("systemd-nspawn exited: %v\n%s", p.err, p.Output())
		case <-time.After(200 * time.Millisecond):
		}
		// nspawn's child becomes systemd once the container is set up.
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid))
		for _, pid := range strings.Fields(string(b)) {
			if comm, _ := os.ReadFile("/proc/" + pid + "/comm"); strings.TrimSpace(string(comm)) == "systemd" {
				c.leader = pid
			}
		}
	}
	// Until systemd listens, systemctl cannot connect; then --wait waits
	// for the boot to finish.
	var out string
	var err error
	for {
		out, err = c.exec(2*time.Minute, "systemctl", "is-system-running", "--wait")
		if !strings.Contains(out, "Failed to connect") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := strings.TrimSpace(out); s != "running" && s != "degraded" {
		t.Fatalf("systemctl is-system-running: %q (%v); console:\n%s", s, err, p.Output())
	}
	if strings.TrimSpace(out) == "degraded" {
		failed, _ := c.exec(time.Minute, "systemctl", "--failed", "--no-legend")
		t.Logf("container degraded (not ssmrandom's): %s", failed)
	}
	return c
}

// exec runs a command in the container (all its namespaces) and returns
// its combined output.
func (c *container) exec(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	a := append([]string{"--target", c.leader, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--"}, args...)
	b, err := exec.CommandContext(ctx, "nsenter", a...).CombinedOutput()
	return string(b), err
}

// must runs a shell command in the container and fails the test if it
// fails.
func (c *container) must(script string) string {
	c.t.Helper()
	out, err := c.exec(2*time.Minute, "sh", "-ec", script)
	if err != nil {
		c.t.Fatalf("in the container: %s: %v\n%s", script, err, out)
	}
	return out
}

func (c *container) show(unit, prop string) string {
	c.t.Helper()
	return strings.TrimSpace(c.must("systemctl show -P " + prop + " " + unit))
}

// waitActive waits up to d for unit to be active with a main process
// other than notPID.
func (c *container) waitActive(unit, notPID string, d time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		state, pid := c.show(unit, "ActiveState"), c.show(unit, "MainPID")
		if state == "active" && pid != "0" && pid != notPID {
			return pid
		}
		if time.Now().After(deadline) {
			log, _ := c.exec(time.Minute, "journalctl", "--no-pager", "-u", unit)
			c.t.Fatalf("%s: %s with main PID %s after %v, want active with a new main process; journal:\n%s", unit, state, pid, d, log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitJournal waits up to d for want in unit's journal.
func (c *container) waitJournal(unit, want string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		log, _ := c.exec(time.Minute, "journalctl", "--no-pager", "-o", "cat", "-u", unit)
		if strings.Contains(log, want) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %q in the journal of %s within %v:\n%s", want, unit, d, log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// probe is a drop-in that runs, before the unit's command and inside its
// sandbox (same user, capabilities, mounts, system call filter), writes
// where the sandbox must refuse them although the user's permissions
// allow them (folders the test gave to user ssmrandom), and writes where
// it must allow them. It fails the unit's start if any answer is wrong.
const probeScript = `#!/bin/sh
bad=0
for d in /etc/ssmrandom-probe /var/lib/ssmrandom-probe /home/ssmrandom-probe; do
	if ( : >"$d/written" ) 2>/dev/null; then echo "probe: $d: written, want refused"; bad=1; else echo "probe: $d: refused"; fi
done
if ( : >/tmp/ssmrandom-probe ) 2>/dev/null; then echo "probe: /tmp: written (private)"; else echo "probe: /tmp: refused, want a private writable /tmp"; bad=1; fi
if unshare --user true 2>/dev/null; then echo "probe: unshare --user: allowed, want refused"; bad=1; else echo "probe: unshare --user: refused"; fi
if cat /etc/ssmrandom/host.jwk >/dev/null 2>&1; then echo "probe: /etc/ssmrandom/host.jwk: readable, want refused"; bad=1; else echo "probe: /etc/ssmrandom/host.jwk: refused"; fi
if [ -n "${CREDENTIALS_DIRECTORY:-}" ]; then
	if [ -r "$CREDENTIALS_DIRECTORY/host.jwk" ]; then echo "probe: credential host.jwk: readable"; else echo "probe: credential host.jwk: not readable"; bad=1; fi
fi
echo "probe: done, bad=$bad"
exit $bad
`

// TestUnitsUnderSystemd installs the package in a container booted with
// systemd as PID 1 and checks what systemd-analyze verify cannot: the
// sender and receiver start and stay active and pass frames, the
// receiver reloads its trust on systemctl reload, both are restarted
// after a crash, their sandbox holds, and ssmrandom-seed.service takes a
// seed from a running sender and fails after its timeout without one.
func TestUnitsUnderSystemd(t *testing.T) {
	need(t, "mmdebstrap", "systemd-nspawn", "nsenter", "dpkg-deb", "dpkg-shlibdeps")
	t0 := time.Now()
	root := debianRoot(t)
	tRoot := time.Since(t0)
	bind := t.TempDir()
	if err := os.Chmod(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	debDir := buildDeb(t)
	debs, _ := filepath.Glob(filepath.Join(debDir, "ssmrandom_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("scripts/deb.sh made %d packages, want 1", len(debs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run(t, ctx, "cp", debs[0], filepath.Join(bind, "ssmrandom.deb"))
	write(t, filepath.Join(bind, "probe"), probeScript, 0o755)

	t1 := time.Now()
	c := bootContainer(t, root, bind)
	t.Logf("container: root ready in %.1f s, booted in %.1f s", tRoot.Seconds(), time.Since(t1).Seconds())

	// The package, the keys as README.Debian says, a configuration for
	// loopback, and the probe as a drop-in for each unit.
	c.must(`dpkg -i /mnt/ssmrandom/ssmrandom.deb
ssmrandom keygen -o /etc/ssmrandom/producer
chown ssmrandom:ssmrandom /etc/ssmrandom/producer.jwk
cp /etc/ssmrandom/producer.pub.jwk /etc/ssmrandom/trust/
cat >/etc/default/ssmrandom <<'EOF'
SSMRANDOM_ARGS="-g 232.0.1.213 -p 49213 -i lo"
SSMRANDOM_HOST="127.0.0.1"
SSMRANDOM_RECV_ARGS="--stats-interval 1s"
SSMRANDOM_SEND_ARGS="-r /dev/urandom -t 1 --rate 4096 --members /etc/ssmrandom/members --seed-interval 1s"
EOF
for d in /etc/ssmrandom-probe /var/lib/ssmrandom-probe /home/ssmrandom-probe; do install -d -o ssmrandom -g ssmrandom "$d"; done
install -m 0755 /mnt/ssmrandom/probe /usr/local/bin/ssmrandom-probe
for u in ssmrandom-send ssmrandom-recv ssmrandom-seed; do
	mkdir -p /run/systemd/system/$u.service.d
	printf '[Service]\nExecStartPre=/usr/local/bin/ssmrandom-probe\n' >/run/systemd/system/$u.service.d/probe.conf
done`)
	// The package ships the boot files where bootFiles says, with their
	// modes, and the seed unit and timer.
	for _, f := range bootFiles {
		if got := strings.TrimSpace(c.must("stat -c %a " + f.dst)); got != fmt.Sprintf("%o", f.mode) {
			t.Errorf("%s: mode %s in the package, want %o", f.dst, got, f.mode)
		}
	}
	for _, u := range []string{"ssmrandom-seed.service", "ssmrandom-seed.timer"} {
		c.must("test -f /lib/systemd/system/" + u)
	}
	c.must(`sed -i -e 's/^SSMRANDOM_PRODUCERS=.*/SSMRANDOM_PRODUCERS="127.0.0.1"/' \
	-e 's/^SSMRANDOM_GROUP=.*/SSMRANDOM_GROUP=232.0.1.213/' -e 's/^SSMRANDOM_PORT=.*/SSMRANDOM_PORT=49213/' \
	-e 's/^SSMRANDOM_INTERFACE=.*/SSMRANDOM_INTERFACE=lo/' -e 's/^SSMRANDOM_TIMEOUT=.*/SSMRANDOM_TIMEOUT=10/' /etc/ssmrandom/seed.conf
ssmrandom keygen --host -o /etc/ssmrandom/host >/dev/null
install -d -m 0755 /etc/ssmrandom/members
cp /etc/ssmrandom/host.pub.jwk /etc/ssmrandom/members/
systemctl daemon-reload`)

	// Start: both Type=notify, so systemctl start returns once each has
	// said READY=1 (recv joined, its output open; send sending): active
	// and running at once, no waiting. The probe passed in their sandbox,
	// frames flow.
	t3 := time.Now()
	c.must("systemctl start ssmrandom-recv ssmrandom-send")
	t.Logf("systemctl start ssmrandom-recv ssmrandom-send returned after %.1f s", time.Since(t3).Seconds())
	for _, u := range []string{"ssmrandom-recv.service", "ssmrandom-send.service"} {
		if typ, notify, state, sub := c.show(u, "Type"), c.show(u, "NotifyAccess"), c.show(u, "ActiveState"), c.show(u, "SubState"); typ != "notify" || notify != "main" || state != "active" || sub != "running" {
			t.Errorf("%s: Type=%s NotifyAccess=%s %s (%s) when systemctl start returned, want notify, main, active (running)", u, typ, notify, state, sub)
		}
	}
	if w := c.show("ssmrandom-send.service", "WatchdogUSec"); w != "30s" {
		t.Errorf("ssmrandom-send: WatchdogUSec=%s, want 30s", w)
	}
	c.waitJournal("ssmrandom-send.service", "systemd's watchdog on", 10*time.Second)
	recvPID := c.waitActive("ssmrandom-recv.service", "", 30*time.Second)
	sendPID := c.waitActive("ssmrandom-send.service", "", 30*time.Second)
	for _, u := range []string{"ssmrandom-recv.service", "ssmrandom-send.service"} {
		c.waitJournal(u, "probe: done, bad=0", 10*time.Second)
	}
	c.waitJournal("ssmrandom-recv.service", `"message":"summary: `, 30*time.Second)
	journal := c.must("journalctl --no-pager -o cat -u ssmrandom-recv")
	if !regexp.MustCompile(`"frames":[1-9]`).MatchString(journal) {
		t.Fatalf("recv forwarded no frame:\n%s", journal)
	}
	t.Logf("sandbox probe of ssmrandom-recv:\n%s", grepLines(journal, "probe:"))

	// Reload: recv reads its trust again.
	c.must("systemctl reload ssmrandom-recv")
	c.waitJournal("ssmrandom-recv.service", "trust reloaded: 1 keys", 10*time.Second)
	// RELOADING=1 then READY=1: back to active (running).
	deadline := time.Now().Add(10 * time.Second)
	for st := c.show("ssmrandom-recv.service", "ActiveState"); st != "active"; st = c.show("ssmrandom-recv.service", "ActiveState") {
		if time.Now().After(deadline) {
			t.Fatalf("ssmrandom-recv: %s 10 s after the reload, want active again (READY=1)", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pid := c.show("ssmrandom-recv.service", "MainPID"); pid != recvPID {
		t.Errorf("reload changed recv's main PID from %s to %s", recvPID, pid)
	}

	// A crash: systemd starts each again (RestartSec=5s).
	for u, pid := range map[string]string{"ssmrandom-recv.service": recvPID, "ssmrandom-send.service": sendPID} {
		c.must("systemctl kill -s KILL " + u)
		c.waitActive(u, pid, 20*time.Second)
		if n := c.show(u, "NRestarts"); n != "1" {
			t.Errorf("%s: NRestarts %s after one crash, want 1", u, n)
		}
	}

	// The seed unit: `ssmrandom seed` takes its seed from the running
	// sender (send --members) with the host key that LoadCredential=
	// hands it, credits it and reseeds the kernel; then none without the
	// sender.
	c.must("systemctl start ssmrandom-seed")
	c.waitJournal("ssmrandom-seed.service", "seed taken: seed: credited 256 bits to the kernel and reseeded it", 5*time.Second)
	c.waitJournal("ssmrandom-seed.service", "probe: done, bad=0", 5*time.Second)
	c.waitJournal("ssmrandom-seed.service", "probe: credential host.jwk: readable", 5*time.Second)
	if r := c.show("ssmrandom-seed.service", "Result"); r != "success" {
		t.Errorf("ssmrandom-seed: Result %s, want success", r)
	}
	// The timer: enabled and waiting for its first hour.
	c.must("systemctl enable --now ssmrandom-seed.timer")
	if st := c.show("ssmrandom-seed.timer", "ActiveState"); st != "active" {
		t.Errorf("ssmrandom-seed.timer: %s, want active", st)
	}

	c.must("systemctl stop ssmrandom-send")
	t2 := time.Now()
	if out, err := c.exec(time.Minute, "systemctl", "start", "ssmrandom-seed"); err == nil {
		t.Errorf("ssmrandom-seed started without a sender: %s", out)
	}
	t.Logf("ssmrandom-seed without a sender failed after %.1f s (SSMRANDOM_TIMEOUT=10)", time.Since(t2).Seconds())
	c.waitJournal("ssmrandom-seed.service", "no seed within 10s", 5*time.Second)
	t.Logf("ssmrandom-seed's journal:\n%s", c.must("journalctl --no-pager -o cat -u ssmrandom-seed | grep -v '^{'"))
}
