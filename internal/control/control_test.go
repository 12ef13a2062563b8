package control_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/control"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/send"
)

// TestServeQuery checks the socket: mode 0600, a status per connection,
// ErrNotRunning with no daemon, ErrRunning for a second one, a stale
// socket replaced, and the socket removed on Close.
func TestServeQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recv.sock")
	if _, err := control.Query(context.Background(), path); !errors.Is(err, control.ErrNotRunning) {
		t.Errorf("Query with no socket: got %v, want ErrNotRunning", err)
	}
	srv, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: got %v, %v; want mode 0600", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(ctx, func() control.Status { return control.Status{Daemon: "recv", PID: 42, Problems: []string{"x"}} })
	}()
	st, err := control.Query(context.Background(), path)
	if err != nil || st.Daemon != "recv" || st.PID != 42 || !st.Degraded() {
		t.Errorf("Query: got %+v, %v; want recv, pid 42, degraded", st, err)
	}
	if _, err := control.Listen(path); !errors.Is(err, control.ErrRunning) {
		t.Errorf("Listen while one serves: got %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Serve: got %v, want it removed", err)
	}
	if _, err := control.Query(context.Background(), path); !errors.Is(err, control.ErrNotRunning) {
		t.Errorf("Query after Serve: got %v, want ErrNotRunning", err)
	}

	// A socket left by a process that died is replaced.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := control.Query(context.Background(), path); !errors.Is(err, control.ErrNotRunning) {
		t.Errorf("Query on a stale socket: got %v, want ErrNotRunning", err)
	}
	srv, err = control.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: got %v, want nil", err)
	}
	srv.Close()

	// Not a socket: left alone.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := control.Listen(path); err == nil {
		t.Errorf("Listen over a regular file: got nil error, want one")
	}
}

// TestRecvStatus checks what a receiver reports: the last interval's
// counts with zero reasons left out, last frame ages, what the FIFO's
// reader took, the transport, and degraded for an alarm or an unhealthy
// producer.
func TestRecvStatus(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var last receive.Summary
	last.Start, last.End = now.Add(-time.Minute), now.Add(-time.Second)
	last.Bytes, last.Dropped[receive.Replay] = 512, 3
	a := receive.ProducerStats{KeyID: "a", Trusted: true, Frames: 2, Forwarded: 2, Bytes: 512}
	a.Dropped[receive.OutputFull] = 1
	last.Producers = []receive.ProducerStats{a, {KeyID: "b", Trusted: true}}
	var cur receive.Summary
	cur.Total.Bytes = 4096
	cur.Producers = []receive.ProducerStats{
		{KeyID: "a", Trusted: true, LastFrame: now.Add(-1500 * time.Millisecond)},
		{KeyID: "b", Trusted: true, Unhealthy: true},
	}
	st := control.RecvStatus(control.Recv{Last: last, Now: cur, Output: `fifo "p"`, Pending: func() (int, error) { return 1000, nil }}, now)
	if len(st.Producers) != 2 || st.Producers[0].Bytes != 512 || *st.Producers[0].LastFrameAge != 1.5 || st.Producers[1].LastFrameAge != nil {
		t.Errorf("producers: got %+v", st.Producers)
	}
	if d := st.Producers[0].Dropped; len(d) != 1 || d["output_full"] != 1 {
		t.Errorf("producer a's drops: got %v, want output_full 1 only", d)
	}
	if len(st.Dropped) != 1 || st.Dropped["replay"] != 3 {
		t.Errorf("drops: got %v, want replay 3 only", st.Dropped)
	}
	if st.Sink.Bytes != 512 || st.Sink.TotalBytes != 4096 || *st.Sink.Pending != 1000 || *st.Sink.Drained != 3096 || st.Sink.Credited != nil {
		t.Errorf("sink: got %+v", st.Sink)
	}
	if len(st.Problems) != 1 || !st.Degraded() {
		t.Errorf("problems: got %q, want one: producer b unhealthy", st.Problems)
	}
	if st.Transport != nil {
		t.Errorf("transport: got %+v, want none when Recv has none", st.Transport)
	}
	amt := control.Transport{Kind: "amt", Relay: "192.0.2.2:2268", State: "up", Rediscoveries: 2}
	st = control.RecvStatus(control.Recv{Now: receive.Summary{Total: receive.Stats{Bytes: 10}}, Alarms: receive.Alarms{Silent: true}, Silence: time.Minute, Credit: 2,
		Transport: func() control.Transport { return amt }}, now)
	if len(st.Problems) != 1 || st.Problems[0] != "silence: no verified frame from any producer for 1m0s" || *st.Sink.Credited != 20 || !st.IntervalEnd.IsZero() {
		t.Errorf("silent: got problems %q, sink %+v, interval end %v", st.Problems, st.Sink, st.IntervalEnd)
	}
	if st.Transport == nil || *st.Transport != amt {
		t.Errorf("transport: got %+v, want %+v", st.Transport, amt)
	}
}

// TestSendStatus checks a sender's interval counts and its degraded state.
func TestSendStatus(t *testing.T) {
	st := control.SendStatus("k", send.Stats{Frames: 1, Bytes: 10}, send.Stats{Frames: 4, Bytes: 40, SendErrors: 1}, send.Stats{Frames: 5, Bytes: 50, SendErrors: 1}, true)
	if st.Send.Frames != 3 || st.Send.Bytes != 30 || st.Send.SendErrors != 1 || st.Send.TotalFrames != 5 || !st.Degraded() {
		t.Errorf("got %+v, degraded %v; want 3 frames, 30 bytes, 1 error, 5 in all, degraded", st.Send, st.Degraded())
	}
}
