package send

import (
	"context"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// TestSeedPace checks that a round is spread over the first half of its
// interval, and that a small one goes at MinSeedRate.
func TestSeedPace(t *testing.T) {
	for _, c := range []struct {
		n        int
		interval time.Duration
		want     float64
	}{
		{2, 10 * time.Second, MinSeedRate}, // 10 members
		{1250, 10 * time.Second, 250},      // 10,000 members: 5 s
		{12500, 10 * time.Second, 2500},    // 100,000 members: 5 s
		{1250, time.Hour, MinSeedRate},     // a long interval
		{1250, 2 * time.Second, 1250},      // 1 s
	} {
		if got := seedPace(c.n, c.interval); got != c.want {
			t.Errorf("seedPace(%d, %s): got %v, want %v", c.n, c.interval, got, c.want)
		}
	}
}

// TestSequenceHold checks the hold of docs/protocol.md §9.2: a frame is
// not numbered MaxAhead or more past a reserved number not yet sent; it
// waits (here: fails on a done context) until that number is sent or the
// hold ends.
func TestSequenceHold(t *testing.T) {
	now := func() time.Time { return time.UnixMilli(1764547200000) }
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var s sequence
	s.epoch = 1
	e, n := s.reserve(4, now())
	if e != 1 || n != 0 {
		t.Fatalf("reserve: got (%d, %d), want (1, 0)", e, n)
	}
	for i := 0; i < MaxAhead-4; i++ { // frames 4 to MaxAhead-1
		if _, n, err := s.frame(done, now); err != nil || n != uint64(4+i) {
			t.Fatalf("frame %d: got (%d, %v), want (%d, nil)", i, n, err, 4+i)
		}
	}
	if _, _, err := s.frame(done, now); err == nil {
		t.Fatalf("frame %d with 0 unsent: got nil, want it held", MaxAhead)
	}
	s.sent(0)
	if _, n, err := s.frame(done, now); err != nil || n != MaxAhead {
		t.Fatalf("after 0 was sent: got (%d, %v), want (%d, nil)", n, err, MaxAhead)
	}
	if _, _, err := s.frame(done, now); err == nil {
		t.Fatalf("frame %d with 1 unsent: got nil, want it held", MaxAhead+1)
	}
	s.release()
	for i := 0; i < 2*MaxAhead; i++ {
		if _, _, err := s.frame(done, now); err != nil {
			t.Fatalf("after the release, frame %d: %v", i, err)
		}
	}
}

// TestSequenceEpoch checks that a batch that would go past frame.MaxSeq
// starts a new epoch, later than the last, at 0.
func TestSequenceEpoch(t *testing.T) {
	now := func() time.Time { return time.UnixMilli(1764547200000) }
	s := sequence{epoch: 1764547200000, next: frame.MaxSeq - 2}
	e, n := s.reserve(4, now())
	if e <= 1764547200000 || n != 0 {
		t.Errorf("reserve 4 from MaxSeq-2: got (%d, %d), want a later epoch and 0", e, n)
	}
	if _, n, _ := s.frame(context.Background(), now); n != 4 {
		t.Errorf("next frame: got n %d, want 4", n)
	}
}
