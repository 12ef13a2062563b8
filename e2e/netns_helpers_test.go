//go:build linux

package e2e

// The machinery of the namespace tests (netns_test.go): a small switched
// network of namespaces, and processes run inside them (internal/harness).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// netnsPrefix starts the name of every namespace these tests make:
// netnsPrefix + ID + "-" + ROLE. ID names one run of the test; a lock file
// held by that run (see lockRun) tells live runs from dead ones.
const netnsPrefix = "ssmrnt-"

// lockRun makes a run ID and holds a lock file for it until t's cleanup,
// after the namespaces are gone. A run that dies without its cleanups
// (SIGKILL, a test timeout's panic) leaves its namespaces behind with a
// lock file nobody holds; the next run deletes those first, see
// removeStale.
func lockRun(t *testing.T) string {
	t.Helper()
	var rnd [4]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	path := lockPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	t.Cleanup(func() {
		os.Remove(path)
		f.Close()
	})
	return id
}

func lockPath(id string) string {
	return filepath.Join(os.TempDir(), netnsPrefix+id+".lock")
}

// removeStale deletes the namespaces of earlier runs that died without
// cleaning up: those whose lock file exists and is not locked. A run
// whose lock file is missing (a different TMPDIR) is left alone.
func removeStale(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return // no namespaces at all
	}
	byID := map[string][]string{}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), netnsPrefix)
		if id, _, ok2 := strings.Cut(rest, "-"); ok && ok2 {
			byID[id] = append(byID[id], e.Name())
		}
	}
	for id, names := range byID {
		f, err := os.OpenFile(lockPath(id), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a live run
			continue
		}
		for _, name := range names {
			if _, err := harness.TryIP("netns", "del", name); err != nil {
				t.Logf("removing stale namespace %s: %v", name, err)
			}
		}
		t.Logf("removed %d namespaces left behind by dead run %s", len(names), id)
		os.Remove(lockPath(id))
		f.Close()
	}
}

// listNetns returns the names of the namespaces "ip netns list" shows.
func listNetns(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(harness.IP(t, "netns", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// host is one machine of the test network: a namespace whose eth0 is
// plugged into the switch.
type host struct {
	ns   string
	addr string // eth0's IPv4 address
}

// testNet is the network of the tests: a namespace "sw" with a bridge br0,
// and hosts, each with an eth0 whose veth peer pN is a port of br0. Every
// interface lives in a namespace the test made; the host's own network is
// never touched.
type testNet struct {
	sw    string
	hosts map[string]host
}

// netFamily is what newTestNet does differently for IPv4 and IPv6.
type netFamily struct {
	// suffix goes into namespace names after the run id.
	suffix string
	// prefix is the prefix length of every host's address.
	prefix string
	// addrFlags follow "ip addr add ADDR/PREFIX dev eth0".
	addrFlags []string
	// ready, if not nil, waits until host role in ns can use its address.
	ready func(t *testing.T, role, ns, addr string)
}

// net4 is the IPv4 network of the tests: 192.0.2.0/24.
var net4 = netFamily{suffix: "-", prefix: "24"}

// newTestNet builds the IPv4 network; everything is deleted at t's
// cleanup. The hosts are given as role, address pairs.
func newTestNet(t *testing.T, id string, hosts ...[2]string) *testNet {
	t.Helper()
	return buildTestNet(t, id, net4, hosts...)
}

// buildTestNet builds the network of family fam.
func buildTestNet(t *testing.T, id string, fam netFamily, hosts ...[2]string) *testNet {
	t.Helper()
	n := &testNet{hosts: map[string]host{}}
	newNS := func(role string) string {
		name := netnsPrefix + id + fam.suffix + role
		if _, err := harness.TryIP("netns", "add", name); err != nil {
			harness.CannotRun(t, fmt.Sprintf("cannot create a network namespace: ip netns add: %v", err))
		}
		t.Cleanup(func() {
			if _, err := harness.TryIP("netns", "del", name); err != nil {
				t.Errorf("ip netns del %s: %v", name, err)
			}
		})
		harness.IP(t, "-n", name, "link", "set", "lo", "up")
		return name
	}
	n.sw = newNS("sw")
	// Multicast snooping off: the bridge floods every multicast datagram
	// to every port, as a hub would. With snooping on and no querier on
	// the segment, whether the bridge forwards a group depends on whether
	// it has seen a receiver's IGMPv3 report yet (and on timers), which
	// would make the tests racy. Which source a host gets is then up to
	// the host's kernel, the thing under test. STP is off (the default),
	// so ports forward as soon as their carrier is up.
	harness.IP(t, "-n", n.sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	if out := harness.IP(t, "-n", n.sw, "-d", "link", "show", "br0"); !strings.Contains(out, "mcast_snooping 0") {
		t.Fatalf("br0: multicast snooping still on: %s", out)
	}
	for i, h := range hosts {
		role, addr := h[0], h[1]
		ns, port := newNS(role), fmt.Sprintf("p%d", i)
		harness.IP(t, "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", n.sw)
		harness.IP(t, "-n", n.sw, "link", "set", port, "master", "br0")
		harness.IP(t, "-n", n.sw, "link", "set", port, "up")
		harness.IP(t, append([]string{"-n", ns, "addr", "add", addr + "/" + fam.prefix, "dev", "eth0"}, fam.addrFlags...)...)
		harness.IP(t, "-n", ns, "link", "set", "eth0", "up")
		n.hosts[role] = host{ns: ns, addr: addr}
	}
	harness.IP(t, "-n", n.sw, "link", "set", "br0", "up")
	// A veth carrier comes up asynchronously (linkwatch, up to a second).
	up := func(ns, dev string) func() bool {
		return func() bool {
			out := harness.IP(t, "-n", ns, "link", "show", "dev", dev)
			return strings.Contains(out, "state UP") && !strings.Contains(out, "NO-CARRIER")
		}
	}
	for i, h := range hosts {
		ns, port := n.hosts[h[0]].ns, fmt.Sprintf("p%d", i)
		harness.WaitUntil(t, h[0]+" eth0 carrier", up(ns, "eth0"))
		harness.WaitUntil(t, "switch port "+port+" forwarding", func() bool {
			return strings.Contains(harness.IP(t, "-n", n.sw, "-d", "link", "show", "dev", port), "state forwarding")
		})
		if fam.ready != nil {
			fam.ready(t, h[0], ns, h[1])
		}
	}
	harness.WaitUntil(t, "br0 up", up(n.sw, "br0"))
	return n
}

// rxPackets returns how many packets dev in ns has received.
func rxPackets(t *testing.T, ns, dev string) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	out := harness.IP(t, "-n", ns, "-s", "-j", "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s -j link show %s: %v: %s", dev, err, out)
	}
	return links[0].Stats.RX.Packets
}

// udpStats returns the Udp counters of namespace ns (/proc/net/snmp), for
// failure messages: RcvbufErrors says whether a socket overflowed.
func udpStats(ns string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "cat", "/proc/net/snmp").Output()
	if err != nil {
		return fmt.Sprintf("(cannot read /proc/net/snmp: %v)", err)
	}
	counters := harness.UDPCounters(string(out))
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, counters[name]))
	}
	return strings.Join(parts, " ")
}

// startProc runs argv in namespace ns (none if ""), under ctx, with a
// pipe for its stdin. The process dies with the test (SIGKILL as
// parent-death signal, so that not even a killed test leaves it behind),
// is killed at t's cleanup if still running, and its output is logged
// then if t failed.
func startProc(t *testing.T, ctx context.Context, ns, name string, argv ...string) *harness.Proc {
	t.Helper()
	return startWith(t, ctx, name, harness.Options{Netns: ns, Stdin: true}, argv...)
}

// startWith runs argv with opt under ctx; see startProc.
func startWith(t *testing.T, ctx context.Context, name string, opt harness.Options, argv ...string) *harness.Proc {
	t.Helper()
	p, err := harness.Start(ctx, name, opt, argv...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Kill(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for _, line := range p.Tail(30) {
				t.Log(line)
			}
		}
	})
	return p
}

// waitLine waits up to timeout for a line of l (p's Stdout or Stderr)
// that contains substr, and returns it; it fails t if none comes.
func waitLine(t *testing.T, p *harness.Proc, l *harness.Lines, substr string, timeout time.Duration) string {
	t.Helper()
	line, err := p.WaitLine(l, substr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// waitExit waits up to timeout for p to exit, and fails t unless it
// exited 0.
func waitExit(t *testing.T, p *harness.Proc, timeout time.Duration) {
	t.Helper()
	if err := p.Wait(timeout); err != nil {
		t.Fatal(err)
	}
}

// summary returns p's summary line, recv's "stopped: ..." or send's
// "sent ...", as prefix says.
func summary(t *testing.T, p *harness.Proc, prefix string) harness.Summary {
	t.Helper()
	s, err := p.Summary(prefix, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeFile writes b to a new file, failing t on error.
func writeFile(t *testing.T, path string, b []byte, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, perm); err != nil {
		t.Fatal(err)
	}
}

// sameBytes fails t unless the file at path holds exactly want.
func sameBytes(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at byte %d (frame %d of 512 bytes)", filepath.Base(path), len(got), len(want), i, i/512)
}

// ownNetns returns the namespaces of run id that ip netns list shows, and
// fails t unless there are want of them.
func ownNetns(t *testing.T, id string, want int) []string {
	t.Helper()
	var made []string
	for _, name := range listNetns(t) {
		if strings.HasPrefix(name, netnsPrefix+id+"-") {
			made = append(made, name)
		}
	}
	if len(made) != want {
		t.Fatalf("ip netns list shows %v of this run, want %d namespaces", made, want)
	}
	return made
}

// checkNetnsGone runs the subtest "cleanup", which fails unless none of
// made, the namespaces of run id, is left. Call it after the subtest whose
// cleanups delete them: they have run by then, whether it passed or not.
func checkNetnsGone(t *testing.T, id string, made []string) {
	t.Run("cleanup", func(t *testing.T) {
		if len(made) == 0 {
			t.Skip("no namespaces were made")
		}
		for _, name := range listNetns(t) {
			if strings.HasPrefix(name, netnsPrefix+id+"-") {
				t.Errorf("ip netns list still shows %s", name)
			}
		}
		for _, name := range made {
			if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
				t.Errorf("/run/netns/%s still exists", name)
			}
		}
	})
}

// multicastFrom returns a UDP socket bound to from, an address of this
// namespace (or one taken to spoof it), that multicasts out of ifi with
// TTL 1 and without looping its datagrams back.
func multicastFrom(t *testing.T, from netip.Addr, ifi *net.Interface) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		t.Fatalf("bind to %s: %v", from, err)
	}
	pc := ipv4.NewPacketConn(c)
	for _, err := range []error{pc.SetMulticastInterface(ifi), pc.SetMulticastTTL(1), pc.SetMulticastLoopback(false)} {
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
	}
	return c
}
