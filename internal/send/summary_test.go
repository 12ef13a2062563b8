package send_test

import (
	"context"
	"testing"

	"github.com/nordunet/ssmrandom/internal/send"
)

// TestSummaries cuts a loop's counters into intervals: the first is all
// it sent, the next nothing, and Last the counters at both ends.
func TestSummaries(t *testing.T) {
	l, err := send.New(send.Config{Input: zeros{}, Conn: discard{}, Framer: send.Raw{}, Size: 100, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	sums := send.NewSummaries(l)
	if start, end := sums.Last(); start != (send.Stats{}) || end != (send.Stats{}) {
		t.Fatalf("before the first interval: got %+v, %+v; want zeros", start, end)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := sums.Next(), (send.Stats{Frames: 3, Bytes: 300}); got != want {
		t.Errorf("first interval: got %+v, want %+v", got, want)
	}
	if got := sums.Next(); got != (send.Stats{}) {
		t.Errorf("second interval: got %+v, want nothing", got)
	}
	if start, end := sums.Last(); start.Frames != 3 || end.Frames != 3 {
		t.Errorf("Last: got %d and %d frames, want 3 and 3", start.Frames, end.Frames)
	}
}

// TestStatsSub counts the interval's frames, bytes, errors and seeds,
// and leaves out the input's health state.
func TestStatsSub(t *testing.T) {
	a := send.Stats{Frames: 1, Bytes: 2, SendErrors: 3, SeedRounds: 4, SeedMembers: 5, SeedDatagrams: 6, HealthFailures: 7, HealthDropped: 8, Unhealthy: true}
	b := send.Stats{Frames: 11, Bytes: 22, SendErrors: 33, SeedRounds: 44, SeedMembers: 55, SeedDatagrams: 66, HealthFailures: 77, HealthDropped: 88, Unhealthy: true}
	want := send.Stats{Frames: 10, Bytes: 20, SendErrors: 30, SeedRounds: 40, SeedMembers: 50, SeedDatagrams: 60}
	if got := b.Sub(a); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
