//go:build linux

package e2e

// The network comes and goes under a running receiver (issue 14 item 15):
// behind a switch that snoops IGMP and sends a port no multicast it has
// not heard a report for, recv must announce its memberships again when
// its link comes up and join again when its interface is deleted and
// created again, without a restart, so that every frame sent while the
// link is up arrives.
//
// The switch is a bridge with multicast snooping and its own querier: its
// forwarding database of groups (bridge mdb) says which ports it heard a
// report from, which is what a snooping switch forwards by. (The bridge
// still floods the group to every port here: on this kernel it did not
// forward by its mdb alone, with mcast_flood off on the port; so the test
// checks the mdb, and the frames.) Its queries give the hosts up to 5
// minutes to answer, so an answer practically never comes within the
// test's 5 s: the reports the switch hears are recv's own (a run without
// them fails, but with a chance of about 1 in 60 per phase of the link
// phases). The link goes down and up at the switch's end (the port), as
// when a cable is pulled: the receiver's eth0 stays administratively up
// and loses its carrier, so the kernel itself sends no new report when it
// comes back. When eth0 is deleted and created again, the memberships of
// recv's socket name the old interface: without a new join no frame
// arrives at all.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// The channel of this test: its own group and port.
const (
	linksGroup    = "232.0.1.130"
	linksPort     = "49130"
	linksProducer = "192.0.2.1"
	linksReceiver = "192.0.2.11"
	// linksFrames frames of linksSize bytes are sent in each phase.
	linksFrames = 16
	linksSize   = 256
)

// linksNet is the network: a switch namespace with br0, a producer and a
// receiver, each with an eth0 whose peer (p0, p1) is a port of br0.
type linksNet struct {
	sw, producer, receiver string
}

func TestNetnsLinks(t *testing.T) {
	harness.NeedNetns(t)
	removeStale(t)
	id := lockRun(t)
	bin := ssmrandomBinary(t)
	n := newLinksNet(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir := t.TempDir()
	key := filepath.Join(dir, "producer")
	if out, err := exec.Command(bin, "keygen", "-o", key).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	writeFile(t, out, nil, 0o600) // a file, appended to (a missing path would become a FIFO)

	// Link down at start: the switch port is down, the receiver's eth0
	// has no carrier when recv joins.
	harness.IP(t, "-n", n.sw, "link", "set", "p1", "down")
	harness.WaitUntil(t, "receiver eth0 without carrier", func() bool { return !n.carrier(t) })
	phases := []string{"link down at start", "link flap", "interface re-created"}
	recv := startProc(t, ctx, n.receiver, "recv", bin, "recv", "--trust", key+".pub.jwk", "-o", out,
		"-g", linksGroup, "-p", linksPort, "-i", "eth0", "--count", strconv.Itoa(len(phases)*linksFrames), linksProducer)
	waitLine(t, recv, recv.Stderr, "receiving", 10*time.Second)

	var want []byte
	for i, phase := range phases {
		t.Logf("phase %d: %s", i+1, phase)
		switch i {
		case 0:
			// The kernel repeats a join's report once, within 1 s
			// (IGMPv3's robustness); both are lost without a carrier.
			time.Sleep(2 * time.Second)
			harness.IP(t, "-n", n.sw, "link", "set", "p1", "up")
		case 1:
			harness.IP(t, "-n", n.sw, "link", "set", "p1", "down")
			harness.WaitUntil(t, "receiver eth0 without carrier", func() bool { return !n.carrier(t) })
			// The switch forgets the port's groups when it goes down:
			// without a new report it forwards nothing to it.
			harness.WaitUntil(t, "the switch to forget p1's group", func() bool { return !n.reported(t) })
			harness.IP(t, "-n", n.sw, "link", "set", "p1", "up")
		case 2:
			harness.IP(t, "-n", n.receiver, "link", "del", "eth0")
			n.plug(t, "receiver", n.receiver, "p1", linksReceiver)
		}
		harness.WaitUntil(t, "receiver eth0 carrier", func() bool { return n.carrier(t) })
		// recv's report is what makes the switch forward the group to
		// its port; the switch's queries ask for none in time.
		n.waitReported(t, phase)

		data := make([]byte, linksFrames*linksSize)
		rand.Read(data)
		input := filepath.Join(dir, fmt.Sprintf("phase%d", i))
		writeFile(t, input, data, 0o600)
		send := startProc(t, ctx, n.producer, "send", bin, "send", "-k", key+".jwk", "-r", input,
			"-g", linksGroup, "-p", linksPort, "-i", "eth0", "-s", strconv.Itoa(linksSize), "--rate", "0")
		waitExit(t, send, 20*time.Second)
		want = append(want, data...)
		deadline := time.Now().Add(10 * time.Second)
		for {
			fi, err := os.Stat(out)
			if err == nil && fi.Size() >= int64(len(want)) {
				break
			}
			if time.Now().After(deadline) || !recv.Running() {
				var size int64
				if fi != nil {
					size = fi.Size()
				}
				t.Fatalf("%s: recv wrote %d of the %d bytes sent so far (running: %v)", phase, size, len(want), recv.Running())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// recv stops by itself after --count frames: every frame arrived,
	// once, in order.
	waitExit(t, recv, 10*time.Second)
	sameBytes(t, out, want)
	for _, msg := range []string{`"change":"link up"`, `"change":"interface created"`} {
		if _, ok := recv.Stderr.Find(msg); !ok {
			t.Errorf("recv logged no line with %s", msg)
		}
	}
}

// newLinksNet builds the network, deleted at t's cleanup.
func newLinksNet(t *testing.T, id string) *linksNet {
	t.Helper()
	ns := func(role string) string {
		name := netnsPrefix + id + "-" + role
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
	n := &linksNet{sw: ns("sw"), producer: ns("producer"), receiver: ns("receiver")}
	// Times in centiseconds. The switch trusts its own querier only a
	// query response interval (1 s here) after it starts.
	harness.IP(t, "-n", n.sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "1", "mcast_querier", "1",
		"mcast_igmp_version", "3", "mcast_query_response_interval", "100")
	harness.IP(t, "-n", n.sw, "link", "set", "br0", "up")
	n.plug(t, "producer", n.producer, "p0", linksProducer)
	n.plug(t, "receiver", n.receiver, "p1", linksReceiver)
	// Then answers may take 5 minutes (IGMPv3's max response code goes
	// that far). The querier already counts: the switch forwards by
	// what it heard.
	time.Sleep(1500 * time.Millisecond)
	harness.IP(t, "-n", n.sw, "link", "set", "br0", "type", "bridge", "mcast_query_response_interval", "30000")
	return n
}

// plug gives the host in ns an eth0 whose peer is switch port port, with
// address addr, and waits until the port forwards.
func (n *linksNet) plug(t *testing.T, role, ns, port, addr string) {
	t.Helper()
	harness.IP(t, "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", n.sw)
	harness.IP(t, "-n", n.sw, "link", "set", port, "master", "br0")
	harness.IP(t, "-n", n.sw, "link", "set", port, "up")
	harness.IP(t, "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
	harness.IP(t, "-n", ns, "link", "set", "eth0", "up")
	harness.WaitUntil(t, role+" eth0 carrier", func() bool {
		out := harness.IP(t, "-n", ns, "link", "show", "dev", "eth0")
		return strings.Contains(out, "state UP") && !strings.Contains(out, "NO-CARRIER")
	})
	harness.WaitUntil(t, "switch port "+port+" forwarding", func() bool {
		return strings.Contains(harness.IP(t, "-n", n.sw, "-d", "link", "show", "dev", port), "state forwarding")
	})
}

// carrier reports whether the receiver's eth0 is up with a carrier.
func (n *linksNet) carrier(t *testing.T) bool {
	out, err := harness.TryIP("-n", n.receiver, "link", "show", "dev", "eth0")
	return err == nil && strings.Contains(out, "state UP") && !strings.Contains(out, "NO-CARRIER")
}

// reported reports whether the switch has heard a report for the group
// on the receiver's port p1.
func (n *linksNet) reported(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("bridge", "-n", n.sw, "-j", "mdb", "show", "dev", "br0").Output()
	if err != nil {
		t.Fatalf("bridge mdb show: %v", err)
	}
	var mdb []struct {
		Mdb []struct {
			Port string `json:"port"`
			Grp  string `json:"grp"`
		} `json:"mdb"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &mdb); err != nil {
		t.Fatalf("bridge mdb show: %v: %s", err, out)
	}
	for _, m := range mdb {
		for _, e := range m.Mdb {
			if e.Port == "p1" && e.Grp == linksGroup {
				return true
			}
		}
	}
	return false
}

// waitReported waits up to 5 s for the switch to hear the receiver's
// report: recv sends it at once, a query would ask for one much later.
func (n *linksNet) waitReported(t *testing.T, phase string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !n.reported(t); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			out, _ := exec.Command("bridge", "-n", n.sw, "mdb", "show").CombinedOutput()
			t.Fatalf("%s: the switch heard no report for %s on the receiver's port within 5s; its groups:\n%s", phase, linksGroup, out)
		}
	}
}
