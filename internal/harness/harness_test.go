//go:build linux

package harness_test

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

func TestLines(t *testing.T) {
	l := harness.Lines{Max: 2}
	for _, s := range []string{"a\nb", "c\n", "d\ne"} {
		l.Write([]byte(s))
	}
	if got, want := l.All(), []string{"bc", "d"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if line, ok := l.Find("c"); !ok || line != "bc" {
		t.Errorf("Find: got %q, %v, want bc", line, ok)
	}
}

func TestFindSummary(t *testing.T) {
	lines := []string{
		`{"message":"stopped: 1 frames"`, // not JSON
		`{"message":"stopped: 2 frames","frames":2,"dropped":{"replay":3},"producers":[{"kid":"k","verified":2}]}`,
		`{"message":"sent 5 frames","frames":5,"send_errors":1}`,
	}
	s, err := harness.FindSummary(lines, "stopped: ")
	if err != nil || s.Frames != 2 || s.Dropped["replay"] != 3 || len(s.Producers) != 1 || s.Producers[0].Verified != 2 {
		t.Errorf("recv: got %+v, %v, want 2 frames, 3 replays, one producer", s, err)
	}
	if s, err := harness.FindSummary(lines, "sent "); err != nil || s.Frames != 5 || s.SendErrors != 1 {
		t.Errorf("send: got %+v, %v, want 5 frames, 1 send error", s, err)
	}
	if _, err := harness.FindSummary(lines, "bye"); err == nil {
		t.Error("no such line: got no error")
	}
}

func TestProc(t *testing.T) {
	ctx := context.Background()
	p, err := harness.Start(ctx, "sh", harness.Options{Stdin: true, Group: true},
		"sh", "-c", `echo ready; echo '{"message":"sent 1 frames","frames":1}' >&2; read x; echo "got $x"`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine(p.Stdout, "ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Stdin.Write([]byte("go\n"))
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if line, err := p.WaitLine(p.Stdout, "got", time.Second); err != nil || line != "got go" {
		t.Errorf("got %q, %v, want \"got go\"", line, err)
	}
	if s, err := p.Summary("sent ", time.Second); err != nil || s.Frames != 1 {
		t.Errorf("summary: got %+v, %v, want 1 frame", s, err)
	}
	if _, err := p.WaitLine(p.Stdout, "never", 10*time.Second); err == nil {
		t.Error("WaitLine of an exited process: got no error")
	}
}

func TestProcStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := harness.Start(ctx, "sleep", harness.Options{Group: true, Combined: true}, "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine(p.Stdout, "x", 50*time.Millisecond); !errors.Is(err, harness.ErrTimeout) {
		t.Errorf("WaitLine: got %v, want ErrTimeout", err)
	}
	if err := p.Stop(syscall.SIGINT, 10*time.Second); err == nil {
		t.Error("Stop by SIGINT: got no error, want the signal")
	}
	if p.Running() {
		t.Error("still running after Stop")
	}
	q, err := harness.Start(ctx, "sleep", harness.Options{}, "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-q.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not killed within 10s of its context's end")
	}
	if err := q.Wait(time.Second); err == nil {
		t.Error("killed: got no error")
	}
}

// TestOnlyTestsImport: the command does not link the test-support
// packages, internal/harness and internal/vectors.
func TestOnlyTestsImport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "../../cmd/ssmrandom").Output()
	if err != nil {
		t.Fatalf("go list -deps cmd/ssmrandom: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, p := range []string{"internal/harness", "internal/vectors"} {
			if strings.HasSuffix(dep, "/"+p) {
				t.Errorf("cmd/ssmrandom depends on %s, which only tests and benchmarks may import", dep)
			}
		}
	}
}

func TestUDPCounters(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors RcvbufErrors\nUdp: 10 2 3 3\nUdpLite: InDatagrams\nUdpLite: 0\n"
	got := harness.UDPCounters(snmp)
	want := map[string]uint64{"InDatagrams": 10, "NoPorts": 2, "InErrors": 3, "RcvbufErrors": 3}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestFindTime(t *testing.T) {
	var l harness.Lines
	before := time.Now()
	l.Write([]byte("a\nready\n"))
	line, at, ok := l.FindTime("read")
	if !ok || line != "ready" || at.Before(before) || at.After(time.Now()) {
		t.Errorf("got %q at %v (%v), want ready, written after %v", line, at, ok, before)
	}
	if _, _, ok := l.FindTime("none"); ok {
		t.Error("FindTime of a missing line: got ok")
	}
}
