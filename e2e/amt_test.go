//go:build linux

package e2e

// Interop of recv's AMT gateway (internal/amt, --amt-relay) with an
// independent relay, Juniper's amtrelayd (../shared/amt, built by its
// build.sh), on namespaces as in that folder's README:
//
//	SRC s0 198.51.100.1 -- r0 198.51.100.2 RELAY r1 203.0.113.1, 2001:db8:1::1 -- g0 .2, ::2 GW
//	RELAY lo: discovery 192.0.2.1 / 2001:db8:ffff::1, relay 192.0.2.2 / 2001:db8:ffff::2
//
// The relay does no multicast routing: GW gets the channel only through
// the tunnel. Three families: IPv4 data over an IPv4 tunnel with
// --amt-relay ADDRESS; IPv4 data over an IPv6 tunnel with --amt-relay
// auto, the relay found by an AMTRELAY record (RFC 8777) that a DNS server
// this test runs in GW serves; IPv6 data (MLDv2 reports; amtrelayd -l
// inet6, one data family per relay instance) over an IPv6 tunnel.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/nordunet/ssmrandom/internal/harness"
)

const (
	amtSource  = "198.51.100.1"
	amtGroup   = "232.1.1.1"
	amtPort    = 5201
	amtDNSAddr = "203.0.113.2:5353" // the test's DNS server, in GW
)

// amtFamily is one tunnel family, with IPv4 data unless v6data.
type amtFamily struct {
	name               string
	relayFlags         []string // amtrelayd's -n -a -r
	discovery, relay   string
	gwAddr, relayOuter string // the tunnel's ends, for injected datagrams
	amtRelayFlag       string // recv's --amt-relay
	v6data             bool   // IPv6 data (MLDv2): SRC sends from 2001:db8:2::1 to ff3e::8000:1
}

var amtFamilies = []amtFamily{
	{"ipv4", []string{"-n", "inet", "-a", "192.0.2.1", "-r", "192.0.2.2"}, "192.0.2.1", "192.0.2.2", "203.0.113.2", "192.0.2.2", "192.0.2.1", false},
	{"ipv6", []string{"-n", "inet6", "-a", "2001:db8:ffff::1", "-r", "2001:db8:ffff::2"}, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:1::2", "2001:db8:ffff::2", "auto", false},
	{"ipv6 data", []string{"-n", "inet6", "-a", "2001:db8:ffff::1", "-r", "2001:db8:ffff::2"}, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:1::2", "2001:db8:ffff::2", "2001:db8:ffff::1", true},
}

// channel returns the family's producer address and group.
func (f amtFamily) channel() (src, group string) {
	if f.v6data {
		return "2001:db8:2::1", "ff3e::8000:1"
	}
	return amtSource, amtGroup
}

// amtrelayd builds amtrelayd once per test binary, into the user's cache.
var amtrelayd = sync.OnceValues(func() (string, error) {
	script, err := amtBuildScript()
	if err != nil {
		return "", err
	}
	for _, tool := range []string{"autoreconf", "make", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("building amtrelayd needs %s (build-essential autoconf automake libtool libevent-dev)", tool)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ssmrandom-e2e", "amtrelayd")
	bin := filepath.Join(dir, "amtrelayd")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script, dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", script, err, out)
	}
	return bin, nil
})

// amtBuildScript finds amtrelayd's build.sh: $SSMRANDOM_AMT_DIR, or
// shared/amt in a folder above this module.
func amtBuildScript() (string, error) {
	if d := os.Getenv("SSMRANDOM_AMT_DIR"); d != "" {
		return filepath.Join(d, "build.sh"), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		s := filepath.Join(d, "shared", "amt", "build.sh")
		if _, err := os.Stat(s); err == nil {
			return s, nil
		}
		if d == filepath.Dir(d) {
			return "", errors.New("no shared/amt/build.sh above " + wd + " and no SSMRANDOM_AMT_DIR")
		}
	}
}

// amtNet is the three namespaces.
type amtNet struct{ src, relay, gw string }

func buildAMTNet(t *testing.T, id string) amtNet {
	t.Helper()
	n := amtNet{netnsPrefix + id + "-src", netnsPrefix + id + "-relay", netnsPrefix + id + "-gw"}
	for _, ns := range []string{n.src, n.relay, n.gw} {
		if _, err := harness.TryIP("netns", "add", ns); err != nil {
			harness.CannotRun(t, fmt.Sprintf("cannot create a network namespace: ip netns add: %v", err))
		}
		t.Cleanup(func() {
			if _, err := harness.TryIP("netns", "del", ns); err != nil {
				t.Errorf("ip netns del %s: %v", ns, err)
			}
		})
		harness.IP(t, "-n", ns, "link", "set", "lo", "up")
	}
	ip := func(args ...string) { harness.IP(t, args...) }
	ip("-n", n.src, "link", "add", "s0", "type", "veth", "peer", "name", "r0", "netns", n.relay)
	ip("-n", n.relay, "link", "add", "r1", "type", "veth", "peer", "name", "g0", "netns", n.gw)
	ip("-n", n.src, "addr", "add", "198.51.100.1/24", "dev", "s0")
	ip("-n", n.relay, "addr", "add", "198.51.100.2/24", "dev", "r0")
	ip("-n", n.src, "addr", "add", "2001:db8:2::1/64", "dev", "s0", "nodad")
	ip("-n", n.relay, "addr", "add", "2001:db8:2::2/64", "dev", "r0", "nodad")
	ip("-n", n.relay, "addr", "add", "203.0.113.1/24", "dev", "r1")
	ip("-n", n.relay, "addr", "add", "2001:db8:1::1/64", "dev", "r1", "nodad")
	ip("-n", n.gw, "addr", "add", "203.0.113.2/24", "dev", "g0")
	ip("-n", n.gw, "addr", "add", "2001:db8:1::2/64", "dev", "g0", "nodad")
	for _, a := range []string{"192.0.2.1/32", "192.0.2.2/32"} {
		ip("-n", n.relay, "addr", "add", a, "dev", "lo")
	}
	for _, a := range []string{"2001:db8:ffff::1/128", "2001:db8:ffff::2/128"} {
		ip("-n", n.relay, "addr", "add", a, "dev", "lo", "nodad")
	}
	for _, l := range [][2]string{{n.src, "s0"}, {n.relay, "r0"}, {n.relay, "r1"}, {n.gw, "g0"}} {
		ip("-n", l[0], "link", "set", l[1], "up")
	}
	ip("-n", n.gw, "route", "add", "192.0.2.0/24", "via", "203.0.113.1")
	ip("-n", n.gw, "-6", "route", "add", "2001:db8:ffff::/64", "via", "2001:db8:1::1")
	for _, l := range [][2]string{{n.src, "s0"}, {n.relay, "r0"}, {n.relay, "r1"}, {n.gw, "g0"}} {
		harness.WaitUntil(t, l[1]+" carrier", func() bool {
			out := harness.IP(t, "-n", l[0], "link", "show", "dev", l[1])
			return strings.Contains(out, "state UP") && !strings.Contains(out, "NO-CARRIER")
		})
	}
	return n
}

// inNetns runs f on a thread in namespace ns; a socket f opens stays in
// ns. The thread goes back to its namespace afterwards and lives on: a
// locked thread that ended would take with it every child process that
// had been started from it (harness.Start's parent-death signal is the
// thread's, not the process's).
func inNetns(t *testing.T, ns string, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread, in the wrong namespace, ends with
			// this goroutine.
			errc <- fmt.Errorf("back from %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in %s: %v", ns, err)
	}
}

// serveDRIAD serves, in ns at amtDNSAddr, the AMTRELAY record of the
// reverse name of amtSource naming relay.
func serveDRIAD(t *testing.T, ns, relay string) {
	t.Helper()
	rev, _ := dns.ReverseAddr(amtSource)
	rtype := uint8(dns.AMTRELAYIPv4)
	if strings.Contains(relay, ":") {
		rtype = dns.AMTRELAYIPv6
	}
	rr := &dns.AMTRELAY{Hdr: dns.RR_Header{Name: rev, Rrtype: dns.TypeAMTRELAY, Class: dns.ClassINET, Ttl: 60},
		Precedence: 10, GatewayType: rtype, GatewayAddr: net.ParseIP(relay)}
	// A worse relay, never to be used.
	worse := *rr
	worse.Precedence, worse.GatewayAddr = 20, net.ParseIP("203.0.113.99")
	worse.GatewayType = dns.AMTRELAYIPv4
	var pc net.PacketConn
	inNetns(t, ns, func() (err error) {
		pc, err = net.ListenPacket("udp", amtDNSAddr)
		return err
	})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if len(q.Question) == 1 && q.Question[0].Qtype == dns.TypeAMTRELAY && strings.EqualFold(q.Question[0].Name, rev) {
			m.Answer = []dns.RR{&worse, rr}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
}

func TestAMT(t *testing.T) {
	harness.NeedNetns(t)
	relayd, err := amtrelayd()
	if err != nil {
		harness.CannotRun(t, "cannot build amtrelayd: "+err.Error())
	}
	for _, tool := range []string{"tshark", "dumpcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			harness.CannotRun(t, tool+" not installed (Debian package tshark)")
		}
	}
	removeStale(t)
	for _, fam := range amtFamilies {
		t.Run(fam.name, func(t *testing.T) {
			id := lockRun(t)
			var made []string
			t.Run("network", func(t *testing.T) {
				n := buildAMTNet(t, id)
				made = ownNetns(t, id, 3)
				e := &amtEnv{fam: fam, net: n, bin: ssmrandomBinary(t), relayd: relayd, dir: t.TempDir()}
				e.keys(t)
				if fam.amtRelayFlag == "auto" {
					serveDRIAD(t, n.gw, fam.discovery)
				}
				dumpcap, capture := e.capture(t)
				t.Run("every byte", e.testEveryByte)
				if fam.name == "ipv4" { // seed's gateway is recv's; once
					t.Run("seed", e.testSeed)
				}
				if !fam.v6data { // the gateway's timers are the same; once per tunnel family
					t.Run("relay restart", e.testRestart)
				}
				e.checkCapture(t, dumpcap, capture)
			})
			checkNetnsGone(t, id, made)
		})
	}
}

type amtEnv struct {
	fam              amtFamily
	net              amtNet
	bin, relayd, dir string
	key, trust       string
	relayProc        *harness.Proc
}

func (e *amtEnv) keys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := startProc(t, ctx, e.net.src, "keygen", e.bin, "keygen", "-o", filepath.Join(e.dir, "producer"))
	waitExit(t, p, 15*time.Second)
	e.key, e.trust = filepath.Join(e.dir, "producer.jwk"), filepath.Join(e.dir, "trust")
	if err := os.Mkdir(e.trust, 0o755); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "producer.pub.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.trust, "producer.pub.jwk"), pub, 0o644)
}

// startRelay starts amtrelayd in RELAY.
func (e *amtEnv) startRelay(t *testing.T, ctx context.Context, name string) *harness.Proc {
	argv := append([]string{e.relayd, "-d", "-p", "none", "-s", "198.51.100.2", "-c", "r0", "-l", "inet"}, e.fam.relayFlags...)
	if e.fam.v6data {
		argv = append([]string{e.relayd, "-d", "-p", "none", "-s", "2001:db8:2::2", "-c", "r0", "-l", "inet6"}, e.fam.relayFlags...)
	}
	p := startWith(t, ctx, name, harness.Options{Netns: e.net.relay, Combined: true, MaxLines: 2000}, argv...)
	time.Sleep(300 * time.Millisecond) // it prints nothing when ready; it binds at once
	return p
}

// recv starts recv in GW through the relay, writing to a new file.
func (e *amtEnv) recv(t *testing.T, ctx context.Context, name string, count int) (*harness.Proc, string) {
	out := filepath.Join(e.dir, name+".out")
	writeFile(t, out, nil, 0o644)
	src, grp := e.fam.channel()
	argv := []string{"env", "SSMRANDOM_DNS_SERVER=" + amtDNSAddr, e.bin, "recv", "--trust", e.trust, "-o", out, "-g", grp,
		"-p", strconv.Itoa(amtPort), "--amt-relay", e.fam.amtRelayFlag, "--stats-interval", "200ms", "--log-format", "json"}
	if count > 0 {
		argv = append(argv, "--count", strconv.Itoa(count))
	}
	p := startProc(t, ctx, e.net.gw, name, append(argv, src)...)
	waitLine(t, p, p.Stderr, `"state":"up"`, 20*time.Second)
	if e.fam.amtRelayFlag == "auto" { // the record of precedence 10, not 20
		line := waitLine(t, p, p.Stderr, "found an AMT relay by DNS", time.Second)
		if !strings.Contains(line, `"relay":"`+e.fam.discovery+`"`) {
			t.Errorf("%s: %s; want relay %s", p.Name, line, e.fam.discovery)
		}
	}
	return p, out
}

// send sends input from SRC at rate bytes a second in 512-byte frames.
// Its health tests are off: the input is fixed pseudo-random data, whose
// FIPS 140-2 false alarms (one block in about 1,270; restart.bin has one)
// would drop frames the tests count.
func (e *amtEnv) send(t *testing.T, ctx context.Context, name, input string, rate int) *harness.Proc {
	_, grp := e.fam.channel()
	return startProc(t, ctx, e.net.src, name, e.bin, "send", "-k", e.key, "-r", input, "-g", grp,
		"-p", strconv.Itoa(amtPort), "-i", "s0", "-t", "1", "-s", "512", "--rate", strconv.Itoa(rate),
		"--health", "off", "--stats-interval", "0", "--log-format", "json")
}

// amtTransport is the transport part of recv's summary.
type amtTransport struct {
	Transport struct {
		Kind          string `json:"kind"`
		State         string `json:"state"`
		Relay         string `json:"relay"`
		Local         string `json:"local"`
		Rediscoveries uint64 `json:"rediscoveries"`
		Foreign       uint64 `json:"foreign"`
		Data          uint64 `json:"data"`
	} `json:"transport"`
	Message string `json:"message"`
}

func lastTransport(t *testing.T, p *harness.Proc, prefix string) amtTransport {
	t.Helper()
	lines := p.Stderr.All()
	for i := len(lines) - 1; i >= 0; i-- {
		var a amtTransport
		if jsonUnmarshal(lines[i], &a) == nil && strings.HasPrefix(a.Message, prefix) && a.Transport.Kind != "" {
			return a
		}
	}
	t.Fatalf("%s: no summary %q with a transport", p.Name, prefix)
	return amtTransport{}
}

// testEveryByte: a signed stream arrives exactly through the tunnel;
// datagrams injected into the tunnel, from the relay's address and port,
// for another channel or with a spoofed inner source, are dropped and
// counted.
func (e *amtEnv) testEveryByte(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.relayProc = e.startRelay(t, ctx, "amtrelayd")
	data := netnsData(7, 64<<10)
	input := filepath.Join(e.dir, "every-byte.bin")
	writeFile(t, input, data, 0o644)
	frames := len(data) / 512
	p, out := e.recv(t, ctx, "recv", frames)
	if tr := lastTransport(t, p, "summary"); tr.Transport.Relay != netip.AddrPortFrom(netip.MustParseAddr(e.fam.relay), 2268).String() {
		t.Errorf("relay %q, want %s:2268", tr.Transport.Relay, e.fam.relay)
	}
	local := lastTransport(t, p, "summary").Transport.Local
	e.inject(t, local)
	checkSent(t, e.send(t, ctx, "send", input, 64<<10), frames, len(data))
	waitExit(t, p, 20*time.Second)
	s := summary(t, p, "stopped: ")
	if s.Frames != uint64(frames) || s.Bytes != uint64(len(data)) || s.Rejected != 0 {
		t.Errorf("recv: %s; want %d frames, nothing rejected", s.Message, frames)
	}
	if s.Foreign != 2 {
		t.Errorf("recv: foreign_source %d, want 2: the injected datagrams", s.Foreign)
	}
	if tr := lastTransport(t, p, "stopped: "); tr.Transport.Foreign != 2 || tr.Transport.Kind != "amt" {
		t.Errorf("recv: transport %+v, want amt, 2 foreign", tr.Transport)
	}
	sameBytes(t, out, data)
}

// testSeed: seed --amt-relay takes the seed sealed to its host key
// (send --members) through the tunnel, exits 0 with one line and writes
// 32 bytes; with a host key the producer does not seal to, it hears the
// seed datagrams through the tunnel and times out with exit 1.
func (e *amtEnv) testSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if e.relayProc == nil || !e.relayProc.Running() {
		e.relayProc = e.startRelay(t, ctx, "amtrelayd-seed")
	}
	members := filepath.Join(e.dir, "members")
	if err := os.Mkdir(members, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"member", "stranger"} {
		waitExit(t, startProc(t, ctx, e.net.gw, "keygen-"+h, e.bin, "keygen", "--host", "-o", filepath.Join(e.dir, h)), 15*time.Second)
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "member.pub.jwk"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(members, "member.pub.jwk"), pub, 0o644)
	const port = amtPort + 1
	sender := startProc(t, ctx, e.net.src, "send-seeds", e.bin, "send", "-k", e.key, "-g", amtGroup, "-p", strconv.Itoa(port),
		"-i", "s0", "-t", "1", "-s", "256", "--rate", "2048", "--members", members, "--seed-interval", "2s",
		"--stats-interval", "0", "--log-format", "json")
	seed := func(host, timeout string) (*harness.Proc, string) {
		out := filepath.Join(e.dir, "seed-"+host+".bin")
		return startProc(t, ctx, e.net.gw, "seed-"+host, e.bin, "seed", "--trust", e.trust, "--host-key", filepath.Join(e.dir, host+".jwk"),
			"-o", out, "-g", amtGroup, "-p", strconv.Itoa(port), "--timeout", timeout, "--amt-relay", e.fam.amtRelayFlag,
			"--log-format", "json", amtSource), out
	}

	// A member: its seed, through the tunnel.
	p, out := seed("member", "30s")
	waitExit(t, p, 35*time.Second)
	line := regexp.MustCompile(`^seed: wrote the seed to \S+ from 1 producer keys \([A-Za-z0-9_-]{43}\) after [0-9.]+ s$`)
	if got := p.Stdout.All(); len(got) != 1 || !line.MatchString(got[0]) {
		t.Errorf("%s: stdout %q; want one line matching %s", p.Name, got, line)
	}
	if !strings.Contains(p.Stderr.String(), `"kind":"amt"`) {
		t.Errorf("%s: no transport of kind amt in its log", p.Name)
	}
	if b, err := os.ReadFile(out); err != nil || len(b) != 32 {
		t.Errorf("%s: %d bytes (%v), want 32", out, len(b), err)
	}

	// Not a member: seed datagrams arrive, none for this host; exit 1.
	p, out = seed("stranger", "6s")
	select {
	case <-p.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: still running after 15s, want exit 1 after --timeout 6s", p.Name)
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.ExitCode() != 1 {
		t.Errorf("%s: exit status %v, want 1", p.Name, p.Err())
	}
	stderr := p.Stderr.String()
	if !strings.Contains(stderr, "ssmrandom: error: no seed after") || !strings.Contains(stderr, "ssmrandom: hint: no entry for this host") {
		t.Errorf("%s: stderr %q, want no seed after the timeout and the hint that no entry is for this host", p.Name, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want no file", out, err)
	}
	if err := sender.Kill(10 * time.Second); err != nil {
		t.Error(err)
	}
}

// inject sends two Multicast Data messages to the gateway at local (its
// socket's address: the port is what counts) from the relay's address
// and port, with raw sockets in RELAY: one of another group, one of a
// source not joined.
func (e *amtEnv) inject(t *testing.T, local string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(local)
	if err != nil {
		t.Fatalf("gateway's local address %q: %v", local, err)
	}
	relay, gw := netip.MustParseAddr(e.fam.relayOuter), netip.MustParseAddr(e.fam.gwAddr)
	s, g := e.fam.channel()
	src, group := netip.MustParseAddr(s), netip.MustParseAddr(g)
	other, spoofed := netip.MustParseAddr("232.1.1.2"), netip.MustParseAddr("198.51.100.9")
	if e.fam.v6data {
		other, spoofed = netip.MustParseAddr("ff3e::8000:2"), netip.MustParseAddr("2001:db8:2::9")
	}
	msgs := [][]byte{
		amtData(src, other, []byte("another channel")),
		amtData(spoofed, group, []byte("a spoofed inner source")),
	}
	inNetns(t, e.net.relay, func() error {
		for _, m := range msgs {
			pkt := outerUDP(relay, 2268, gw, ap.Port(), m)
			if err := rawSend(gw, pkt); err != nil {
				return err
			}
		}
		return nil
	})
}

// amtData is a Multicast Data message carrying a UDP datagram to the
// test's port, its checksum valid.
func amtData(src, dst netip.Addr, payload []byte) []byte {
	return append([]byte{6, 0}, outerUDP(src, 4000, dst, amtPort, payload)...)
}

// outerUDP is an IP packet (with header) carrying a UDP datagram.
func outerUDP(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte) []byte {
	udp := binary.BigEndian.AppendUint16(nil, sport)
	udp = binary.BigEndian.AppendUint16(udp, dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0)
	udp = append(udp, payload...)
	var pseudo uint32
	for _, a := range [][]byte{src.AsSlice(), dst.AsSlice()} {
		for i := 0; i < len(a); i += 2 {
			pseudo += uint32(a[i])<<8 | uint32(a[i+1])
		}
	}
	pseudo += 17 + uint32(len(udp))
	sum := inetSum(udp, pseudo)
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], sum)
	if src.Is4() {
		ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0}
		ip = append(ip, src.AsSlice()...)
		ip = append(ip, dst.AsSlice()...)
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
		binary.BigEndian.PutUint16(ip[10:], inetSum(ip, 0))
		return append(ip, udp...)
	}
	ip := []byte{0x60, 0, 0, 0, 0, 0, 17, 64}
	binary.BigEndian.PutUint16(ip[4:], uint16(len(udp)))
	ip = append(ip, src.AsSlice()...)
	ip = append(ip, dst.AsSlice()...)
	return append(ip, udp...)
}

func inetSum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// rawSend sends pkt, a whole IP packet, to dst with an IPPROTO_RAW socket
// (which implies IP_HDRINCL, and IPV6_HDRINCL on Linux 4.5 and later).
func rawSend(dst netip.Addr, pkt []byte) error {
	if dst.Is4() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: dst.As4()})
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet6{Addr: dst.As16()})
}

// testRestart: the relay is killed mid-stream and started again after
// the gateway has taken it for gone; the gateway finds it again, the
// stream resumes, and no frame is written twice.
func (e *amtEnv) testRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if e.relayProc == nil || !e.relayProc.Running() {
		e.relayProc = e.startRelay(t, ctx, "amtrelayd")
	}
	const frameRate = 40 // frames a second, for 30 s
	data := netnsData(8, 30*frameRate*512)
	input := filepath.Join(e.dir, "restart.bin")
	writeFile(t, input, data, 0o644)
	p, out := e.recv(t, ctx, "recv-restart", 0)
	sender := e.send(t, ctx, "send-restart", input, frameRate*512)
	time.Sleep(3 * time.Second)
	if err := e.relayProc.Stop(syscall.SIGKILL, 5*time.Second); err != nil && !strings.Contains(err.Error(), "killed") {
		t.Logf("amtrelayd: %v", err)
	}
	// Probe after 5 s without data, three Requests unanswered (7 s): the
	// gateway goes back to discovery; then start the relay again.
	if _, err := p.WaitLine(p.Stderr, `"rediscoveries":1`, 25*time.Second); err != nil {
		t.Fatalf("the gateway did not take the killed relay for gone: %v", err)
	}
	e.relayProc = e.startRelay(t, ctx, "amtrelayd-again")
	checkSent(t, sender, len(data)/512, len(data))
	time.Sleep(time.Second)
	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tr := lastTransport(t, p, "stopped: ")
	if tr.Transport.Rediscoveries < 1 {
		t.Errorf("rediscoveries %d, want at least 1", tr.Transport.Rediscoveries)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got)%512 != 0 || len(got) == 0 {
		t.Fatalf("output of %d bytes, want whole 512-byte frames", len(got))
	}
	// Every frame written is the stream's next or a later one: in order,
	// none twice; and frames after the restart arrived.
	next, last := 0, -1
	for off := 0; off < len(got); off += 512 {
		f := got[off : off+512]
		i := next
		for i < len(data)/512 && !bytes.Equal(data[i*512:(i+1)*512], f) {
			i++
		}
		if i == len(data)/512 {
			t.Fatalf("frame %d of the output is not a later frame of the stream: written twice, reordered or foreign", off/512)
		}
		next, last = i+1, i
	}
	total := len(data) / 512
	if last < total-frameRate { // the last second of the stream
		t.Errorf("the last frame written is frame %d of %d: the stream did not resume", last, total)
	}
	t.Logf("%d of %d frames written; the rest were sent while the relay was down", len(got)/512, total)
}

// capture starts dumpcap on GW's g0 for AMT (UDP port 2268).
func (e *amtEnv) capture(t *testing.T) (*harness.Proc, string) {
	t.Helper()
	file := filepath.Join(e.dir, "amt.pcapng")
	p := startWith(t, context.Background(), "dumpcap", harness.Options{Netns: e.net.gw, Combined: true},
		"dumpcap", "-q", "-i", "g0", "-f", "udp port 2268", "-w", file)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(file); err == nil && fi.Size() > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p, file
}

// checkCapture stops the capture and has tshark decode it: every AMT
// message type a gateway and this relay exchange is there, and no frame
// is marked malformed.
func (e *amtEnv) checkCapture(t *testing.T, dumpcap *harness.Proc, file string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// dumpcap writes as it goes; stop it for a complete file.
	if err := dumpcap.Stop(syscall.SIGINT, 5*time.Second); err != nil {
		t.Logf("dumpcap: %v", err)
	}
	out, err := exec.CommandContext(ctx, "tshark", "-r", file, "-d", "udp.port=="+strconv.Itoa(amtPort)+",data",
		"-T", "fields", "-e", "amt.type", "-e", "_ws.malformed", "-e", "_ws.expert.severity").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", file, err)
	}
	types := map[string]int{}
	malformed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		types[f[0]]++
		if len(f) > 1 && strings.TrimSpace(strings.Join(f[1:], "")) != "" {
			malformed++
			t.Errorf("tshark marks a message: %q", line)
		}
	}
	for _, want := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		if types[want] == 0 {
			t.Errorf("tshark decoded no AMT message of type %s; types %v", want, types)
		}
	}
	t.Logf("tshark: AMT messages by type %v, %d marked malformed", types, malformed)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
