//go:build linux

package main

// Multi-host test over IPv6 SSM: ssmrandom send and recv on a switched
// network of namespaces, as in netns_test.go, with MLDv2 joins instead of
// IGMPv3. The network (see newTestNet6):
//
//	             sw: br0 (Linux bridge, multicast snooping off)
//	      p0 |            p1 |             p2 |
//	prod eth0       other eth0         rx eth0
//	2001:db8::1     2001:db8::2        2001:db8::11
//
// The producer multicasts to ff3e::8000:150; the receiver joins
// (2001:db8::1, ff3e::8000:150). "other" is a second host that sends to
// the same channel from its own address. ssmrandom send leaves the source
// address of an IPv6 sender to the kernel, so a second source needs a
// second host.

import (
	"context"
	"errors"
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

// The IPv6 test network's addresses (documentation prefix 2001:db8::/32
// only) and channel.
const (
	prod6Addr    = "2001:db8::1"
	other6Addr   = "2001:db8::2"
	rx6Addr      = "2001:db8::11"
	netns6Group  = "ff3e::8000:150"
	netns6Port   = 49190  // each subtest uses its own port from here up, to 49199
	netns6Budget = "1452" // --max-datagram of IPv6 over a 1500-byte MTU: 1500 less 40 of IPv6, 8 of UDP
)

func TestNetnsIPv6(t *testing.T) {
	netnsNeedRoot(t)
	removeStale(t)
	id := lockRun(t) // released last, after the namespaces are gone
	start := time.Now()
	var made []string

	t.Run("network", func(t *testing.T) {
		n := newTestNet6(t, id, [2]string{"prod", prod6Addr}, [2]string{"other", other6Addr}, [2]string{"rx", rx6Addr})
		made = ownNetns(t, id, 4)
		e := &netnsEnv{net: n, bin: ssmrandomBinary(t), dir: t.TempDir()}
		// One deadline for every process of the subtests: a failing run
		// ends within 30s too (each subtest takes a second or less when
		// it passes), its processes killed.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.keys(t)
		t.Run("the receiver gets every byte", func(t *testing.T) { e.test6EveryByte(t, ctx) })
		t.Run("the kernel's MLDv2 source filter", func(t *testing.T) { e.test6SSMFilter(t, ctx) })
		t.Run("datagram budget 1452", func(t *testing.T) { e.test6Budget(t, ctx) })
	})

	checkNetnsGone(t, id, made)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// newTestNet6 builds the IPv6 network: like newTestNet, but each host's
// eth0 gets its address as a /64 without duplicate address detection
// (nodad: usable at once), and the build waits until IPv6 on each host's
// eth0 has its ff00::/8 multicast route, which it adds only once the
// carrier is up; without it a host drops the multicast datagrams it
// receives (Ip6InNoRoutes). Everything is deleted at t's
// cleanup. The hosts are given as role, address pairs; the namespaces are
// named netnsPrefix + id + "-v6" + role, so that removeStale also deletes
// those of a dead run.
func newTestNet6(t *testing.T, id string, hosts ...[2]string) *testNet {
	t.Helper()
	return buildTestNet(t, id, net6, hosts...)
}

// net6 is the IPv6 network of the tests: 2001:db8::/64, addresses usable
// at once (nodad), each host waiting for its multicast route.
var net6 = netFamily{suffix: "-v6", prefix: "64", addrFlags: []string{"nodad"}, ready: func(t *testing.T, role, ns, addr string) {
	waitUntil(t, role+" eth0 IPv6 multicast route", func() bool {
		return strings.Contains(ipRun(t, "-n", ns, "-6", "route", "show", "table", "local", "dev", "eth0"), "ff00::/8")
	})
	// nodad: the address is usable at once, never tentative.
	out := ipRun(t, "-n", ns, "-6", "addr", "show", "dev", "eth0")
	if i := strings.Index(out, addr+"/64"); i < 0 || strings.Contains(strings.SplitN(out[i:], "\n", 2)[0], "tentative") {
		t.Fatalf("%s eth0: %s/64 missing or tentative: %s", role, addr, out)
	}
}}

// recv6 starts ssmrandom recv on host role, joined to the given producers
// on the IPv6 channel, writing count frames to a new file, with the
// datagram budget of IPv6 over Ethernet (larger datagrams would be dropped
// as too_big), and waits until it receives. It returns the process and
// the output file.
func (e *netnsEnv) recv6(t *testing.T, ctx context.Context, role, name string, port, count int, producers ...string) (*proc, string) {
	t.Helper()
	out := filepath.Join(e.dir, fmt.Sprintf("%s-%d.out", name, port))
	writeFile(t, out, nil, 0o644) // a regular file: appended to
	argv := []string{e.bin, "recv", "--trust", e.trust, "-o", out, "-g", netns6Group, "-p", strconv.Itoa(port),
		"-i", "eth0", "--max-datagram", netns6Budget, "--count", strconv.Itoa(count),
		"--stats-interval", "0", "--log-format", "json"}
	p := startProc(t, ctx, e.net.hosts[role].ns, name, append(argv, producers...)...)
	p.waitLine(t, &p.stderr, `"message":"receiving"`, 10*time.Second)
	return p, out
}

// send6 starts ssmrandom send on host role to the IPv6 channel with hop
// limit 1, with key, reading input, with the further flags args.
func (e *netnsEnv) send6(t *testing.T, ctx context.Context, role, name, key, input string, port int, args ...string) *proc {
	t.Helper()
	argv := []string{e.bin, "send", "-k", key, "-r", input, "-g", netns6Group, "-p", strconv.Itoa(port),
		"-i", "eth0", "-t", "1", "--source", netnsSource, "--stats-interval", "0", "--log-format", "json"}
	return startProc(t, ctx, e.net.hosts[role].ns, name, append(argv, args...)...)
}

// checkSourceAddr checks that sender p says it sends from want, the
// address the kernel chose.
func checkSourceAddr(t *testing.T, p *proc, want string) {
	t.Helper()
	line := p.waitLine(t, &p.stderr, `"message":"sending"`, 10*time.Second)
	if !strings.Contains(line, `"source_addr":"`+want+`"`) {
		t.Errorf("%s: %s; want source_addr %s", p.name, line, want)
	}
}

// test6EveryByte: the producer sends a 64 KiB file over IPv6 in frames of
// 512 bytes; the receiver writes exactly that file and drops nothing.
func (e *netnsEnv) test6EveryByte(t *testing.T, ctx context.Context) {
	const port = netns6Port
	data := netnsData(61, 64<<10) // 128 frames
	input := filepath.Join(e.dir, "every-byte6.bin")
	writeFile(t, input, data, 0o644)
	frames := len(data) / netnsFrameSz

	r, out := e.recv6(t, ctx, "rx", "recv", port, frames, prod6Addr)
	// 128 KiB/s: 256 frames a second, half a second in all.
	s := e.send6(t, ctx, "prod", "send", e.key, input, port,
		"-s", strconv.Itoa(netnsFrameSz), "--max-datagram", netns6Budget, "--rate", strconv.Itoa(128<<10))
	checkSourceAddr(t, s, prod6Addr)
	checkSent(t, s, frames, len(data))
	checkRecv(t, r, e.net.hosts["rx"].ns, out, data, nil)
}

// test6SSMFilter: the other host, with a copy of the producer's key, sends
// its own frames from 2001:db8::2 to the same group and port at the same
// time as the producer. The receiver joined to 2001:db8::1 only never sees
// one of them (had it, it would forward them: they verify), while a second
// recv on the same host and port, joined to 2001:db8::2, gets all of them
// and none of the producer's: the datagrams of both reach the host, and
// the kernel's MLDv2 source filter keeps them apart.
func (e *netnsEnv) test6SSMFilter(t *testing.T, ctx context.Context) {
	const port = netns6Port + 1
	prodData, otherData := netnsData(62, 48<<10), netnsData(63, 48<<10)
	prodIn, otherIn := filepath.Join(e.dir, "filter6-prod.bin"), filepath.Join(e.dir, "filter6-other.bin")
	writeFile(t, prodIn, prodData, 0o644)
	writeFile(t, otherIn, otherData, 0o644)
	copied := filepath.Join(e.dir, "copied6.jwk")
	key, err := os.ReadFile(e.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, copied, key, 0o600)
	frames := len(prodData) / netnsFrameSz

	r, out := e.recv6(t, ctx, "rx", "recv", port, frames, prod6Addr)
	ctl, outCtl := e.recv6(t, ctx, "rx", "recv-other", port, frames, other6Addr)
	rxBefore := rxPackets(t, e.net.hosts["rx"].ns, "eth0")

	// 64 KiB/s each: 96 frames in 0.75s, interleaved on the wire. The
	// other host starts first, so that its frames are on the wire before
	// the producer's.
	other := e.send6(t, ctx, "other", "send-other", copied, otherIn, port,
		"-s", strconv.Itoa(netnsFrameSz), "--max-datagram", netns6Budget, "--rate", strconv.Itoa(64<<10))
	checkSourceAddr(t, other, other6Addr)
	prod := e.send6(t, ctx, "prod", "send", e.key, prodIn, port,
		"-s", strconv.Itoa(netnsFrameSz), "--max-datagram", netns6Budget, "--rate", strconv.Itoa(64<<10))
	checkSourceAddr(t, prod, prod6Addr)
	checkSent(t, other, frames, len(otherData))
	checkSent(t, prod, frames, len(prodData))

	checkRecv(t, r, e.net.hosts["rx"].ns, out, prodData, nil)
	checkRecv(t, ctl, e.net.hosts["rx"].ns, outCtl, otherData, nil)
	if got := rxPackets(t, e.net.hosts["rx"].ns, "eth0") - rxBefore; got < uint64(2*frames) {
		t.Errorf("rx eth0 received %d packets during the test, want at least %d (both senders' frames)", got, 2*frames)
	}
}

// test6Budget: with --max-datagram 1452 (IPv6 over a 1500-byte MTU), send
// refuses frames of 1024 bytes, which need a datagram of about 1930 bytes
// (the JWS base64-encodes the frame), as a usage error naming the largest
// size that fits (642 bytes, with the source name of these tests); without -s it picks 512, the largest power of two that
// fits, and a receiver that drops datagrams over 1452 bytes gets every
// frame.
func (e *netnsEnv) test6Budget(t *testing.T, ctx context.Context) {
	const port = netns6Port + 2
	data := netnsData(64, 8*netnsFrameSz)
	input := filepath.Join(e.dir, "budget6.bin")
	writeFile(t, input, data, 0o644)

	big := e.send6(t, ctx, "prod", "send-1024", e.key, input, port, "-s", "1024", "--max-datagram", netns6Budget)
	select {
	case <-big.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10s, want a usage error", big.name)
	}
	var ee *exec.ExitError
	if !errors.As(big.err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("%s: exit status %v, want exit status 2 (usage error)", big.name, big.err)
	}
	stderr := strings.Join(big.stderr.Lines(), "\n")
	if !strings.Contains(stderr, "ssmrandom: error: frames of 1024 bytes do not fit a datagram of 1452 bytes") {
		t.Errorf("%s: stderr %q, want the error that frames of 1024 bytes do not fit 1452", big.name, stderr)
	}
	m := regexp.MustCompile(`ssmrandom: hint: use -s/--size (\d+) or less`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("%s: stderr %q, want a hint naming the largest -s/--size", big.name, stderr)
	}
	if largest, _ := strconv.Atoi(m[1]); largest < netnsFrameSz || largest >= 1024 {
		t.Errorf("%s: hint names -s/--size %d, want from %d to 1023", big.name, largest, netnsFrameSz)
	} else {
		t.Logf("largest frame that fits 1452 bytes: %d bytes", largest)
	}

	frames := len(data) / netnsFrameSz
	r, out := e.recv6(t, ctx, "rx", "recv", port, frames, prod6Addr)
	s := e.send6(t, ctx, "prod", "send-default-size", e.key, input, port, "--max-datagram", netns6Budget, "--rate", "0")
	line := s.waitLine(t, &s.stderr, `"message":"sending"`, 10*time.Second)
	if !strings.Contains(line, `"size":512,`) || !strings.Contains(line, `"max_datagram":1452,`) {
		t.Errorf("%s: %s; want size 512, max_datagram 1452", s.name, line)
	}
	checkSent(t, s, frames, len(data))
	checkRecv(t, r, e.net.hosts["rx"].ns, out, data, nil)
}
