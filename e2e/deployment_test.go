//go:build linux

package e2e

// The walk-through of docs/deployment.md, run: its commands on a producer
// and a receiver host, each a network namespace with an eth0 on one
// switch (see newTestNet), with the ssmrandom built from this tree. What
// the document shows under each command is what the command must print,
// so the document cannot drift from the code. How the document is read
// and the commands run: deployment_helpers_test.go.

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// The walk-through's hosts and their addresses (documentation ranges
// only), as docs/deployment.md describes them.
const (
	deployProducer4 = "192.0.2.1"
	deployReceiver4 = "192.0.2.11"
	deployProducer6 = "2001:db8::1"
	deployReceiver6 = "2001:db8::11"
)

// walkHosts are the prompts of the walk-through.
var walkHosts = []string{"producer", "receiver"}

func TestDeploymentWalkthrough(t *testing.T) {
	doc, err := os.ReadFile("../docs/deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseWalkthrough(string(doc), walkHosts)
	if err != nil {
		t.Fatal(err)
	}
	checkCovers(t, steps)
	harness.NeedNetns(t)
	removeStale(t)
	id := lockRun(t) // released last, after the namespaces are gone
	start := time.Now()
	var made []string

	t.Run("walk-through", func(t *testing.T) {
		n := newTestNet(t, id, [2]string{"producer", deployProducer4}, [2]string{"receiver", deployReceiver4})
		made = ownNetns(t, id, 3)
		addIPv6(t, n, map[string]string{"producer": deployProducer6, "receiver": deployReceiver6})
		bin := ssmrandomBinary(t)
		// One deadline for every command: a failing walk-through ends
		// within 40s too, its processes killed. Passing, it takes about
		// 5s: two sends of 2s each at the default rate.
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		w := newWalk(t, ctx, n, bin, map[string]string{
			deployProducer4: "producer", deployReceiver4: "receiver",
		})
		for _, s := range steps {
			w.run(t, s)
		}
		w.finish(t)
	})

	checkNetnsGone(t, id, made)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// checkCovers fails t unless the walk-through does what this test is
// for: a key made on the producer and copied to the receiver, a receiver
// in the background for IPv4 and IPv6, the producer sending to it, and
// the receiver's results.
func checkCovers(t *testing.T, steps []walkStep) {
	t.Helper()
	has := func(host, prefix, contains string) int {
		n := 0
		for _, s := range steps {
			if s.host == host && strings.HasPrefix(s.cmd, prefix) && strings.Contains(s.cmd, contains) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		host, prefix, contains string
		want                   int
	}{
		{"producer", "ssmrandom keygen ", "", 1},
		{"receiver", "scp ", ".pub.jwk", 1},
		{"receiver", "ssmrandom recv ", " &", 2},
		{"receiver", "ssmrandom recv ", " " + deployProducer6 + " &", 1},
		{"producer", "ssmrandom send ", "", 2},
		{"receiver", "wait", "", 2},
	} {
		if got := has(c.host, c.prefix, c.contains); got < c.want {
			t.Errorf("docs/deployment.md: the walk-through has %d commands %s# %s...%s, want at least %d", got, c.host, c.prefix, c.contains, c.want)
		}
	}
	// Every wait must show the receiver's summary: frames forwarded, none
	// dropped.
	for _, s := range steps {
		if s.cmd == "wait" && !slices.ContainsFunc(s.want, func(l string) bool {
			// Zero counters are left out of a summary: no rejected=.
			return strings.Contains(l, " forwarded, 0 datagrams dropped ") && !strings.Contains(l, " rejected=")
		}) {
			t.Errorf("%s: the document shows no summary of the receiver with 0 datagrams dropped and no rejected=", s)
		}
	}
}

// TestDeploymentMatch: how the output the document shows is matched.
func TestDeploymentMatch(t *testing.T) {
	const kid = "J2wAoHo1_EgGnDAbExiIlrtZ9ydjCMbOGq5KSIU2buI"
	const other = "AHrQyIsuLWRKVOJ7LbqgxsaZDZLoq7b-J8xkL_Bto_4"
	for _, c := range []struct {
		name      string
		want, got []string
		ok        bool
	}{
		{"same", []string{"32768 /var/lib/x"}, []string{"32768 /var/lib/x"}, true},
		{"other number", []string{"32768 /var/lib/x"}, []string{"32767 /var/lib/x"}, false},
		{"white space", []string{"  2 eth0  0xe80001be"}, []string{"2\teth0 0xe80001be  "}, true},
		{"dots in a line", []string{"... INF stopped: 64 frames ... rejected=0"}, []string{"12:00:01 INF stopped: 64 frames (32768 bytes) dropped={} rejected=0"}, true},
		{"dots in a line, a difference", []string{"... INF stopped: 64 frames ... rejected=0"}, []string{"12:00:01 INF stopped: 63 frames (32768 bytes) rejected=0"}, false},
		{"a line of dots", []string{"a", "...", "b"}, []string{"a", "x", "y", "b"}, true},
		{"a line of dots, none", []string{"a", "...", "b"}, []string{"a", "b"}, true},
		{"a line missing", []string{"a", "b"}, []string{"a"}, false},
		{"a line more", []string{"a"}, []string{"a", "b"}, false},
		{"kid", []string{"<kid>", "kid=<kid> x"}, []string{kid, "kid=" + kid + " x"}, true},
		{"two kids", []string{"<kid>", "kid=<kid> x"}, []string{kid, "kid=" + other + " x"}, false},
		{"not a kid", []string{"kid=<kid>"}, []string{"kid=short"}, false},
	} {
		if _, ok := matchLines(c.want, c.got, ""); ok != c.ok {
			t.Errorf("%s: matchLines(%q, %q) = %v, want %v", c.name, c.want, c.got, ok, c.ok)
		}
	}
}

// TestDeploymentParse: how the walk-through is read from the document.
func TestDeploymentParse(t *testing.T) {
	doc := "# x\n```console\nproducer# not in the walk-through\n```\n" + walkBegin + "\ntext\n" +
		"```console\nproducer# ssmrandom keygen -o /etc/ssmrandom/producer\nwrote\n<kid>\n" +
		"receiver# wait\n```\n```text\nproducer# a diagram, not a command\n```\n" + walkEnd + "\n"
	steps, err := parseWalkthrough(doc, walkHosts)
	if err != nil {
		t.Fatal(err)
	}
	want := []walkStep{
		{line: 8, host: "producer", cmd: "ssmrandom keygen -o /etc/ssmrandom/producer", want: []string{"wrote", "<kid>"}},
		{line: 11, host: "receiver", cmd: "wait"},
	}
	if len(steps) != len(want) {
		t.Fatalf("got %d steps %v, want %d", len(steps), steps, len(want))
	}
	for i := range want {
		if steps[i].String() != want[i].String() || !slices.Equal(steps[i].want, want[i].want) {
			t.Errorf("step %d: got %v %q, want %v %q", i, steps[i], steps[i].want, want[i], want[i].want)
		}
	}
	for _, bad := range []string{
		"no walk-through",
		walkBegin + "\n```console\nproducer# x\n",
		walkBegin + "\n```console\nnot a prompt\n```\n" + walkEnd,
		walkBegin + "\ntext only\n" + walkEnd,
	} {
		if _, err := parseWalkthrough(bad, walkHosts); err == nil {
			t.Errorf("parseWalkthrough(%q): no error", bad)
		}
	}
}
