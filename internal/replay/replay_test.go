package replay_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/replay"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newGuard(t *testing.T) (*replay.Guard, *clock) {
	t.Helper()
	c := &clock{t: time.UnixMilli(1_764_000_000_000)}
	g, err := replay.New(replay.Config{MaxAge: 30 * time.Second, MaxSkew: 5 * time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

// offer runs Check and, if it passes, Commit, as the receive path does
// for a frame whose signature verifies.
func offer(g *replay.Guard, c *clock, f *replay.Filter, epoch, seq uint64) error {
	if err := g.Check(f, epoch, seq, c.t.UnixMilli()); err != nil {
		return err
	}
	g.Commit(f, epoch, seq)
	return nil
}

func TestWindow(t *testing.T) {
	const e = 1_763_999_000_000
	steps := []struct {
		seq  uint64
		want error
	}{
		{0, nil}, {1, nil}, {1, replay.ErrReplay}, {0, replay.ErrReplay},
		{5, nil}, {3, nil}, {4, nil}, {2, nil}, {3, replay.ErrReplay}, // reordered inside the window
		{1000, nil}, {6, nil}, {6, replay.ErrReplay}, // 994 behind: still inside
		{1029, nil}, {5, replay.ErrReplay}, {6, replay.ErrReplay}, // 6 is now 1023 behind (seen), 5 is 1024 behind (out)
		{7, nil}, // 1022 behind and never seen: inside the window
	}
	g, c := newGuard(t)
	f := new(replay.Filter)
	for i, s := range steps {
		if got := offer(g, c, f, e, s.seq); !errors.Is(got, s.want) || (got == nil) != (s.want == nil) {
			t.Errorf("step %d, seq %d: got %v, want %v", i, s.seq, got, s.want)
		}
	}
}

func TestWindowEdges(t *testing.T) {
	const e = 1
	g, c := newGuard(t)
	f := new(replay.Filter)
	for seq := uint64(0); seq < 3*replay.WindowSize; seq += 2 { // every even number
		if err := offer(g, c, f, e, seq); err != nil {
			t.Fatalf("seq %d: got %v, want nil", seq, err)
		}
	}
	top := uint64(3*replay.WindowSize - 2)
	// Odd numbers inside the window pass once; even ones are replays.
	for back := uint64(1); back < replay.WindowSize; back += 2 {
		if err := offer(g, c, f, e, top-back); err != nil {
			t.Errorf("seq %d (%d behind): got %v, want nil", top-back, back, err)
		}
		if err := offer(g, c, f, e, top-back); !errors.Is(err, replay.ErrReplay) {
			t.Errorf("seq %d again: got %v, want ErrReplay", top-back, err)
		}
	}
	if err := g.Check(f, e, top-replay.WindowSize, c.t.UnixMilli()); !errors.Is(err, replay.ErrReplay) {
		t.Errorf("seq exactly WindowSize behind: got %v, want ErrReplay", err)
	}
	// A jump far ahead clears the window: everything behind the new top by
	// less than WindowSize is new again.
	far := top + 10*replay.WindowSize
	if err := offer(g, c, f, e, far); err != nil {
		t.Fatal(err)
	}
	if err := offer(g, c, f, e, far-1); err != nil {
		t.Errorf("seq far-1 after a jump: got %v, want nil", err)
	}
	if err := offer(g, c, f, e, top); !errors.Is(err, replay.ErrReplay) {
		t.Errorf("old top after a jump: got %v, want ErrReplay", err)
	}
}

// TestWindowModel checks the window against a plain set over a long random
// walk: a sequence number passes iff it was not seen and is less than
// WindowSize behind the highest seen.
func TestWindowModel(t *testing.T) {
	g, c := newGuard(t)
	f := new(replay.Filter)
	seen := map[uint64]bool{}
	var top uint64
	x := uint64(88172645463325252) // xorshift: deterministic
	for i := 0; i < 200000; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		var seq uint64
		switch x % 4 {
		case 0: // ahead by up to 70
			seq = top + x%70
		case 1, 2: // behind by up to 1100
			d := (x >> 8) % 1100
			if d > top {
				d = top
			}
			seq = top - d
		case 3: // a jump
			seq = top + (x>>8)%3000
		}
		want := !seen[seq] && (len(seen) == 0 || seq > top || top-seq < replay.WindowSize)
		err := offer(g, c, f, 7, seq)
		if (err == nil) != want {
			t.Fatalf("step %d, seq %d, top %d: got %v, want pass=%v", i, seq, top, err, want)
		}
		if err == nil {
			seen[seq] = true
			if seq > top {
				top = seq
			}
		}
	}
}

func TestFreshness(t *testing.T) {
	g, c := newGuard(t)
	f := new(replay.Filter)
	now := c.t.UnixMilli()
	cases := []struct {
		name string
		t    int64
		want error
	}{
		{"now", now, nil},
		{"made before the receiver started", now - 1, replay.ErrStale},
		{"5s in the future", now + 5000, nil},
		{"5.001s in the future", now + 5001, replay.ErrFuture},
	}
	for _, tc := range cases {
		if got := g.Check(f, 1, 0, tc.t); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	c.t = c.t.Add(time.Minute)
	now = c.t.UnixMilli()
	if got := g.Check(f, 1, 0, now-30000); got != nil {
		t.Errorf("30s old: got %v, want nil", got)
	}
	if got := g.Check(f, 1, 0, now-30001); got != replay.ErrStale {
		t.Errorf("30.001s old: got %v, want ErrStale", got)
	}
}

func TestEpochs(t *testing.T) {
	g, c := newGuard(t)
	f := new(replay.Filter)
	c.t = c.t.Add(time.Second)
	for seq := uint64(0); seq < 10; seq++ {
		if err := offer(g, c, f, 100, seq); err != nil {
			t.Fatal(err)
		}
	}
	// The producer restarts: a new, larger epoch from sequence 0, no gap.
	if err := offer(g, c, f, 200, 0); err != nil {
		t.Errorf("new epoch, seq 0: got %v, want nil", err)
	}
	if err := offer(g, c, f, 200, 0); !errors.Is(err, replay.ErrReplay) {
		t.Errorf("new epoch, seq 0 again: got %v, want ErrReplay", err)
	}
	// Frames of the earlier epoch are replays now, even unseen ones.
	for _, seq := range []uint64{9, 10, 11} {
		if err := offer(g, c, f, 100, seq); !errors.Is(err, replay.ErrReplay) {
			t.Errorf("old epoch, seq %d: got %v, want ErrReplay", seq, err)
		}
	}
	// A producer that restarts with its clock set back is followed once its
	// current epoch has been silent for longer than MaxAge+MaxSkew.
	c.t = c.t.Add(35*time.Second + time.Millisecond)
	if err := offer(g, c, f, 150, 0); err != nil {
		t.Errorf("lower epoch after silence: got %v, want nil", err)
	}
	if err := offer(g, c, f, 200, 1); err != nil {
		t.Errorf("epoch 200 after switching to 150: got %v, want nil (a larger epoch is always a restart)", err)
	}
	// Keys are independent.
	if err := offer(g, c, new(replay.Filter), 100, 0); err != nil {
		t.Errorf("another key: got %v, want nil", err)
	}
}

// TestBounded checks that Check alone, as for frames whose signature
// fails, changes no state: a filter stays as it was, zero here.
func TestBounded(t *testing.T) {
	g, c := newGuard(t)
	f := new(replay.Filter)
	c.t = c.t.Add(time.Second)
	for i := 0; i < 10000; i++ {
		g.Check(f, uint64(i), uint64(i), c.t.UnixMilli())
	}
	if *f != (replay.Filter{}) {
		t.Errorf("Filter after Check only: got %+v, want the zero Filter", *f)
	}
}

func TestNew(t *testing.T) {
	for _, cfg := range []replay.Config{{}, {MaxAge: time.Second, MaxSkew: -1}, {MaxAge: -time.Second}} {
		if _, err := replay.New(cfg); err == nil {
			t.Errorf("New(%+v): got nil error, want one", cfg)
		}
	}
}

func TestAllocs(t *testing.T) {
	g, c := newGuard(t)
	f := new(replay.Filter)
	c.t = c.t.Add(time.Second)
	offer(g, c, f, 1, 0)
	seq := uint64(1)
	allocs := testing.AllocsPerRun(1000, func() {
		offer(g, c, f, 1, seq)
		seq++
	})
	if allocs != 0 {
		t.Errorf("allocations per frame: got %v, want 0", allocs)
	}
}

func BenchmarkCheckCommit(b *testing.B) {
	c := &clock{t: time.UnixMilli(1_764_000_000_000)}
	g, _ := replay.New(replay.Config{MaxAge: 30 * time.Second, MaxSkew: 5 * time.Second, Now: c.now})
	f := new(replay.Filter)
	c.t = c.t.Add(time.Second)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		offer(g, c, f, 1, uint64(i))
	}
}

// TestFresh holds the freshness rule that tools use to Guard.Check's.
func TestFresh(t *testing.T) {
	g, c := newGuard(t)
	c.t = c.t.Add(time.Minute)
	for _, d := range []time.Duration{-30001 * time.Millisecond, -30 * time.Second, 0, 5 * time.Second, 5001 * time.Millisecond} {
		at := c.t.Add(d)
		want := g.Check(new(replay.Filter), 1, 0, at.UnixMilli())
		if got := replay.Fresh(at, c.t, 30*time.Second, 5*time.Second); got != want {
			t.Errorf("frame %v from now: Fresh got %v, Guard.Check %v", d, got, want)
		}
	}
}

// TestDefaults checks that Defaults fills in only the limits left zero.
func TestDefaults(t *testing.T) {
	got := replay.Config{MaxSkew: time.Second}.Defaults()
	if got.MaxAge != replay.DefaultMaxAge || got.MaxSkew != time.Second {
		t.Errorf("got MaxAge %v, MaxSkew %v; want %v, 1s", got.MaxAge, got.MaxSkew, replay.DefaultMaxAge)
	}
	if got := (replay.Config{}).Defaults().MaxSkew; got != replay.DefaultMaxSkew {
		t.Errorf("got MaxSkew %v, want %v", got, replay.DefaultMaxSkew)
	}
}
