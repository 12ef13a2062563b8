//go:build linux

package boot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test network: the producer's end of the tap in the test's namespace
// and the VM, in a documentation prefix; an SSM group and a port of the
// test's own.
const (
	producerAddr = "192.0.2.1"
	vmAddr       = "192.0.2.10"
	testGroup    = "232.0.1.212"
	testPort     = 49212
	// seedTimeout is SSMRANDOM_TIMEOUT in the VM's seed.conf: how long a
	// boot without a seed waits. A seed step that succeeded took up to
	// 11 s on a loaded 2-core machine under TCG.
	seedTimeout = 30
)

// seedTaken starts the kernel log line of a boot that took its seed:
// seed-boot's "seed taken: " and then `ssmrandom seed`'s own line, which
// must say seedSays: the seed was credited as 256 bits and the kernel
// reseeded, from the one producer.
const seedTaken = "ssmrandom: seed taken: seed: "

var seedSays = []string{"credited 256 bits to the kernel and reseeded it", "from 1 producer keys"}

// seedInterval is the producers' --seed-interval in the test: a boot
// waits for the next round, up to this long, for its seed.
const seedInterval = "2s"

func seedConf(producers string, timeout int) string {
	return fmt.Sprintf("SSMRANDOM_PRODUCERS=%q\nSSMRANDOM_GROUP=%s\nSSMRANDOM_PORT=%d\nSSMRANDOM_INTERFACE=\nSSMRANDOM_NEED=1\nSSMRANDOM_TIMEOUT=%d\n",
		producers, testGroup, testPort, timeout)
}

// producerKey makes a producer key pair in a temporary folder and returns
// the private key's path and the public key's contents.
func producerKey(t *testing.T) (key string, pub []byte) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "producer")
	if out, err := exec.Command(binary(t), "keygen", "-o", prefix).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(prefix + ".pub.jwk")
	if err != nil {
		t.Fatal(err)
	}
	return prefix + ".jwk", pub
}

// endScript is a test-only init-premount script that runs after
// ssmrandom's: it says the boot went on, waits (at most 60 s) until the
// kernel RNG is ready, as the first program asking for random bytes
// would, and powers the VM off.
const endScript = `#!/bin/sh
PREREQ="ssmrandom"
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
echo "<5>ssmrandom-test: the boot went on" >/dev/kmsg
for p in ipconfig ssmrandom seed-boot; do
	if pgrep "$p" >/dev/null; then echo "<5>ssmrandom-test: $p still running" >/dev/kmsg; fi
done
if timeout 60 head -c 1 /dev/random >/dev/null; then
	echo "<5>ssmrandom-test: /dev/random ready" >/dev/kmsg
else
	echo "<5>ssmrandom-test: /dev/random not ready within 60 s" >/dev/kmsg
fi
poweroff -f
`

// confDir copies the machine's /etc/initramfs-tools for mkinitramfs -d:
// only the virtio network drivers as modules (MODULES=list), and with
// end, the test's end script.
func confDir(t *testing.T, end bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "initramfs-tools")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run(t, ctx, "cp", "-a", "/etc/initramfs-tools", dir)
	conf, err := os.ReadFile(filepath.Join(dir, "initramfs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf = regexp.MustCompile(`(?m)^MODULES=.*$`).ReplaceAll(conf, []byte("MODULES=list"))
	conf = append(conf, "\nBUSYBOX=y\n"...)
	write(t, filepath.Join(dir, "initramfs.conf"), string(conf), 0o644)
	write(t, filepath.Join(dir, "modules"), "virtio_pci\nvirtio_net\n", 0o644)
	if end {
		write(t, filepath.Join(dir, "scripts/init-premount/zz-ssmrandom-test"), endScript, 0o755)
	}
	return dir
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// mkinitramfs builds an image with the package's hook for host h and
// returns its path, mkinitramfs' output and its error; pkg is the tree of
// packageRoot (the host's public key is pkg/etc/ssmrandom/host.pub.jwk).
func mkinitramfs(t *testing.T, h host, end bool) (img, out, pkg string, err error) {
	t.Helper()
	kver, _ := kernel(t)
	pkg = packageRoot(t, h)
	conf := confDir(t, end)
	img = filepath.Join(t.TempDir(), "initrd.img")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	b, err := inPackageRoot(ctx, pkg, "mkinitramfs", "-d", conf, "-o", img, kver).CombinedOutput()
	t.Logf("mkinitramfs: %.1f s", time.Since(t0).Seconds())
	return img, string(b), pkg, err
}

// TestHookRefuses: the hook stops mkinitramfs, saying why, when the host
// key is missing or others may read it, or no producer key is trusted;
// and adds nothing when seed.conf names no producer.
func TestHookRefuses(t *testing.T) {
	need(t, "mkinitramfs", "lsinitramfs", "unshare")
	_, pub := producerKey(t)
	trust := map[string][]byte{"producer.pub.jwk": pub}
	for _, tc := range []struct {
		name string
		h    host
		want string // in mkinitramfs' output; "" for a build that succeeds
	}{
		{"no key", host{conf: seedConf(producerAddr, 5), noKey: true, trust: trust}, "host key /etc/ssmrandom/host.jwk is missing"},
		{"key 0644", host{conf: seedConf(producerAddr, 5), keyMode: 0o644, trust: trust}, "has mode 644, readable by group or others"},
		{"key 0640", host{conf: seedConf(producerAddr, 5), keyMode: 0o640, trust: trust}, "has mode 640, readable by group or others"},
		{"no trust", host{conf: seedConf(producerAddr, 5)}, "no trusted producer key in /etc/ssmrandom/trust"},
		{"not configured", host{conf: seedConf("", 5), noKey: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, out, _, err := mkinitramfs(t, tc.h, false)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("mkinitramfs: %v\n%s", err, out)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				// The boot scripts are always there and do nothing
				// without etc/ssmrandom/seed.conf.
				list := run(t, ctx, "lsinitramfs", img)
				if strings.Contains(list, "etc/ssmrandom") || strings.Contains(list, "bin/ssmrandom") {
					t.Errorf("image of a host without producers holds ssmrandom's files:\n%s", grepLines(list, "ssmrandom"))
				}
				return
			}
			if err == nil {
				t.Fatalf("mkinitramfs succeeded, want it refused with %q:\n%s", tc.want, out)
			}
			if !strings.Contains(out, "E: ssmrandom: ") || !strings.Contains(out, tc.want) {
				t.Fatalf("mkinitramfs failed without saying %q:\n%s", tc.want, out)
			}
			// mkinitramfs makes its output file before the hooks run; a
			// refused build leaves it empty (update-initramfs builds to
			// a new file and keeps the old image).
			if fi, err := os.Stat(img); err == nil && fi.Size() != 0 {
				t.Errorf("a refused build left an image of %d bytes", fi.Size())
			}
		})
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// kline is one kernel log line from the serial console: its printk time
// (seconds since the kernel started) and its text.
type kline struct {
	at   float64
	text string
}

// printkLine is a kernel log line on the console. It need not start the
// console's line: the kernel's lines land after what the initramfs
// printed so far without a newline ("Begin: Running ... [   47.6] ...").
var printkLine = regexp.MustCompile(`\[\s*(\d+\.\d+)\] (.*)$`)

func klines(console string) []kline {
	var ls []kline
	for _, l := range strings.Split(console, "\n") {
		m := printkLine.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[1], 64)
		ls = append(ls, kline{at, m[2]})
	}
	return ls
}

// find returns the first line whose text starts with prefix.
func find(ls []kline, prefix string) (kline, bool) {
	for _, l := range ls {
		if strings.HasPrefix(l.text, prefix) {
			return l, true
		}
	}
	return kline{}, false
}

// vm is one boot: its console and how long QEMU ran.
type vm struct {
	console string
	wall    time.Duration
	lines   []kline
}

// accel is QEMU's accelerator: TCG, unless SSMRANDOM_TEST_KVM=1 and
// /dev/kvm opens. Not by default, as /dev/kvm opening does not make KVM
// usable: on the machines this was written on, QEMU 7.2 with KVM aborted
// with -cpu host and -cpu max ("failed to set MSR 0x10a") and hung
// without a line of output with -cpu qemu64.
func accel() []string {
	if os.Getenv("SSMRANDOM_TEST_KVM") == "1" {
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return []string{"-accel", "kvm", "-cpu", "host"}
		}
	}
	return []string{"-accel", "tcg", "-cpu", "max"}
}

// boot boots the kernel with initrd in QEMU, its network a tap in
// namespace ns, and returns when the VM powers off; it fails the test if
// that takes longer than limit.
func boot(t *testing.T, ns, kimg, initrd, cmdline string, limit time.Duration) vm {
	t.Helper()
	args := []string{"netns", "exec", ns, "qemu-system-x86_64"}
	args = append(args, accel()...)
	args = append(args,
		"-m", "512", "-smp", "1", "-nodefaults", "-no-reboot",
		"-display", "none", "-monitor", "none", "-serial", "stdio",
		"-kernel", kimg, "-initrd", initrd, "-append", cmdline,
		// The network, and no virtio-rng: the only entropy the kernel
		// gets from outside is what ssmrandom brings.
		"-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0")
	t0 := time.Now()
	q := start(t, "ip", args...)
	select {
	case <-q.done:
	case <-time.After(limit):
		q.stop()
		t.Fatalf("the VM did not power off within %v; console:\n%s", limit, q.Output())
	}
	v := vm{console: q.Output(), wall: time.Since(t0)}
	v.lines = klines(v.console)
	if q.err != nil {
		t.Fatalf("qemu: %v; console:\n%s", q.err, v.console)
	}
	return v
}

// TestInitramfsBoot builds an initramfs with the package's hook and boots
// Debian's kernel with it in QEMU, with no entropy source from outside
// (random.trust_cpu=off, random.trust_bootloader=off, no virtio-rng): the
// boot script brings up the network from ip= and takes a seed from a
// producer in the test's namespace. Then the same image with an
// producer that does not have the VM's host key among its members (the
// boot goes on after SSMRANDOM_TIMEOUT, without a seed), and with
// ssmrandom=off (no network step), for the time to the
// kernel's "crng init done" without ssmrandom.
func TestInitramfsBoot(t *testing.T) {
	need(t, "mkinitramfs", "lsinitramfs", "unshare", "ip", "qemu-system-x86_64")
	_, kimg := kernel(t)
	key, pub := producerKey(t)
	h := host{conf: seedConf(producerAddr, seedTimeout), trust: map[string][]byte{"producer.pub.jwk": pub}}
	img, out, pkg, err := mkinitramfs(t, h, true)
	if err != nil {
		t.Fatalf("mkinitramfs: %v\n%s", err, out)
	}
	// The producer's members: the VM's host key, made by keygen --host;
	// and, for the VM that is not a member, another host's only.
	members, others := filepath.Join(t.TempDir(), "members"), filepath.Join(t.TempDir(), "others")
	for _, d := range []string{members, others} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vmPub, err := os.ReadFile(filepath.Join(pkg, "etc/ssmrandom/host.pub.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(members, "vm.pub.jwk"), string(vmPub), 0o644)
	if out, err := exec.Command(binary(t), "keygen", "--host", "-o", filepath.Join(others, "other")).CombinedOutput(); err != nil {
		t.Fatalf("keygen --host: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(others, "other.jwk")); err != nil {
		t.Fatal(err)
	}

	// The image: not readable by others, with the key 0600 inside.
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		t.Errorf("image mode %o, want no access for group and others (UMASK=0077)", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := run(t, ctx, "lsinitramfs", "-l", img)
	for _, want := range []string{
		"-rw------- .* etc/ssmrandom/host.jwk$",
		" etc/ssmrandom/seed.conf$",
		" etc/ssmrandom/trust/producer.pub.jwk$",
		"-rwx.* usr/bin/ssmrandom$",
		"-rwx.* usr/lib/ssmrandom/seed-boot$",
		"-rwx.* usr/bin/setsid$",
		"-rwx.* scripts/init-premount/ssmrandom$",
		"-rwx.* scripts/init-bottom/ssmrandom$",
		"virtio_net.ko",
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(list) {
			t.Errorf("image listing has no line matching %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("lsinitramfs -l:\n%s", grepLines(list, "ssmrandom"))
	}

	ns := fmt.Sprintf("ssmboot-%d", os.Getpid())
	netns(t, ns)
	run(t, ctx, "ip", "-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap")
	run(t, ctx, "ip", "-n", ns, "address", "add", producerAddr+"/24", "dev", "tap0")
	run(t, ctx, "ip", "-n", ns, "link", "set", "tap0", "up")

	base := "console=ttyS0 panic=1 net.ifnames=0 random.trust_cpu=off random.trust_bootloader=off"
	withNet := base + " ip=" + vmAddr + "::" + producerAddr + ":255.255.255.0::eth0:off"
	// producer starts a sender with the members folder in the namespace
	// before QEMU opens the tap (datagrams sent before are dropped),
	// stopped by the caller.
	producer := func(members string) *process {
		p := start(t, "ip", "netns", "exec", ns, binary(t), "send", "-k", key, "--members", members, "--seed-interval", seedInterval,
			"-i", "tap0", "-g", testGroup, "-p", strconv.Itoa(testPort), "-t", "1", "--rate", "16384", "--stats-interval", "0")
		p.waitFor(t, `"message":"sending"`, 30*time.Second)
		return p
	}
	limit := 4 * time.Minute

	// 1. A producer with the VM's host key among its members: the seed is
	// taken, credited as 256 bits, the kernel reseeded.
	p := producer(members)
	seeded := boot(t, ns, kimg, img, withNet, limit)
	p.stop()
	t.Logf("boot with a seed: QEMU ran %.1f s; console (kernel log lines of ssmrandom and random):\n%s", seeded.wall.Seconds(), summary(seeded.lines))
	took, ok := find(seeded.lines, seedTaken)
	if !ok {
		t.Fatalf("no %q on the console:\n%s", seedTaken, seeded.console)
	}
	for _, want := range seedSays {
		if !strings.Contains(took.text, want) {
			t.Errorf("the seed line %q does not say %q", took.text, want)
		}
	}
	if _, ok := find(seeded.lines, "ssmrandom-test: the boot went on"); !ok {
		t.Errorf("the boot did not go on after the seed")
	}
	crng, ok := find(seeded.lines, "random: crng init done")
	if !ok {
		t.Errorf("no 'random: crng init done' on the console")
	}

	// 2. The VM is not a member: the producer seals seeds for another
	// host only. No seed, and the boot goes on after the timeout.
	p = producer(others)
	unseeded := boot(t, ns, kimg, img, withNet, limit)
	p.stop()
	t.Logf("boot of a VM that is not a member: QEMU ran %.1f s; console:\n%s", unseeded.wall.Seconds(), summary(unseeded.lines))
	if l, ok := find(unseeded.lines, "ssmrandom: seed taken"); ok {
		t.Errorf("a VM that is not a member took a seed: %q", l.text)
	}
	if _, ok := find(unseeded.lines, "ssmrandom: ssmrandom: error: no seed after"); !ok {
		t.Errorf("seed's own error line (no seed after ...) is not on the console")
	}
	if _, ok := find(unseeded.lines, "ssmrandom: no seed for the kernel RNG; the boot goes on"); !ok {
		t.Errorf("the missing seed was not logged as such")
	}
	noSeed, ok := find(unseeded.lines, "ssmrandom: no seed within")
	if !ok {
		t.Fatalf("no 'ssmrandom: no seed within' on the console:\n%s", unseeded.console)
	}
	went2, ok := find(unseeded.lines, "ssmrandom-test: the boot went on")
	if !ok {
		t.Fatalf("the boot did not go on after the timeout:\n%s", unseeded.console)
	}
	if went2.at < noSeed.at {
		t.Errorf("the boot went on at %.1f s, before the seed step gave up at %.1f s", went2.at, noSeed.at)
	}

	// 3. DHCP, and no DHCP server: ipconfig's own rounds would take
	// 265 s; the boot script stops the network step at the deadline.
	dhcp := boot(t, ns, kimg, img, base+" ip=dhcp", limit)
	t.Logf("boot with ip=dhcp and no DHCP server: QEMU ran %.1f s; console:\n%s", dhcp.wall.Seconds(), summary(dhcp.lines))
	began, ok := find(dhcp.lines, "ssmrandom: taking a seed")
	if !ok {
		t.Fatalf("no 'ssmrandom: taking a seed' on the console:\n%s", dhcp.console)
	}
	if _, ok := find(dhcp.lines, fmt.Sprintf("ssmrandom: no seed within %ds (stopped)", seedTimeout)); !ok {
		t.Errorf("the network step was not stopped at the deadline:\n%s", dhcp.console)
	}
	went, ok := find(dhcp.lines, "ssmrandom-test: the boot went on")
	if !ok {
		t.Fatalf("the boot did not go on without DHCP:\n%s", dhcp.console)
	}
	// The deadline, 3 s for seed-boot's backstop, 1 s of polling, and
	// slack for a slow TCG guest.
	if d := went.at - began.at; d > seedTimeout+10 {
		t.Errorf("the boot went on %.1f s after the seed step began, want at most %d s", d, seedTimeout+10)
	}
	for _, v := range []vm{seeded, unseeded, dhcp} {
		for _, l := range v.lines {
			if strings.HasPrefix(l.text, "ssmrandom-test: ") && strings.HasSuffix(l.text, "still running") {
				t.Errorf("left running after the seed step: %q", l.text)
			}
		}
	}

	// 4. ssmrandom=off: no network step.
	off := boot(t, ns, kimg, img, base+" ssmrandom=off", limit)
	t.Logf("boot with ssmrandom=off: QEMU ran %.1f s; console:\n%s", off.wall.Seconds(), summary(off.lines))
	if _, ok := find(off.lines, "ssmrandom: no seed: ssmrandom=off"); !ok {
		t.Errorf("ssmrandom=off was not reported:\n%s", off.console)
	}
	offCrng, ok := find(off.lines, "random: crng init done")
	if !ok {
		t.Errorf("no 'random: crng init done' with ssmrandom=off")
	}

	// Absolute printk times move with the machine's load (TCG); the
	// intervals within one boot are steadier.
	t.Logf("kernel start -> crng init done: %.2f s with the seed step (seed credited at %.2f s), %.2f s with ssmrandom=off, %.2f s when not a member",
		crng.at, took.at, offCrng.at, atOf(unseeded.lines, "random: crng init done"))
	t.Logf("seed step: %.2f s from its start to the seed (network up after %.2f s); crng init done %.2f s after the network was up, %.2f s before the first read of /dev/random",
		took.at-atOf(seeded.lines, "ssmrandom: taking a seed"), atOf(seeded.lines, "ssmrandom: network:")-atOf(seeded.lines, "ssmrandom: taking a seed"),
		crng.at-atOf(seeded.lines, "ssmrandom: network:"), atOf(seeded.lines, "ssmrandom-test: the boot went on")-crng.at)
	t.Logf("without a seed the kernel's own RNG was ready %.2f s (ssmrandom=off) and %.2f s (not a member) after the first read of /dev/random",
		offCrng.at-atOf(off.lines, "ssmrandom-test: the boot went on"), atOf(unseeded.lines, "random: crng init done")-went2.at)
}

func atOf(ls []kline, prefix string) float64 {
	l, ok := find(ls, prefix)
	if !ok {
		return -1
	}
	return l.at
}

// summary is the console's kernel log lines that tell the story: the
// RNG's, ssmrandom's and the test's.
func summary(ls []kline) string {
	var b strings.Builder
	for _, l := range ls {
		if strings.HasPrefix(l.text, "random:") || strings.HasPrefix(l.text, "ssmrandom") || strings.Contains(l.text, "Run /init") {
			fmt.Fprintf(&b, "[%9.3f] %s\n", l.at, l.text)
		}
	}
	return b.String()
}
