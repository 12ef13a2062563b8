package sample_test

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sample"
)

var seed = [sample.SeedSize]byte{1, 2, 3, 4, 5, 6, 7, 8}

// TestProbability checks the share of kept frames against P: with n
// decisions the count is binomial, and a deviation beyond 6 standard
// deviations has probability below 1e-8. The seed is fixed, so the test
// is deterministic all the same.
func TestProbability(t *testing.T) {
	const n = 200000
	for _, p := range []float64{0.001, 0.05, 0.5, 0.9, 1} {
		s, err := sample.NewSeeded(sample.Config{P: p}, seed)
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		now := time.Unix(0, 0)
		for i := range n {
			if s.Keep(now, id(i)) {
				kept++
			}
		}
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if math.Abs(float64(kept)-mean) > 6*sd+1e-9 {
			t.Errorf("P=%v: kept %d of %d, want %.0f ± %.0f", p, kept, n, mean, 6*sd)
		}
	}
}

// TestIndependence checks that decisions do not cluster: runs of kept
// frames at P=0.5 have the geometric distribution's mean length 2.
func TestIndependence(t *testing.T) {
	s, _ := sample.NewSeeded(sample.Config{P: 0.5}, seed)
	now := time.Unix(0, 0)
	runs, inRun, total := 0, false, 0
	for i := range 100000 {
		if s.Keep(now, id(i)) {
			total++
			if !inRun {
				runs++
			}
			inRun = true
		} else {
			inRun = false
		}
	}
	if mean := float64(total) / float64(runs); math.Abs(mean-2) > 0.05 {
		t.Errorf("mean run of kept frames: got %.3f, want 2 ± 0.05", mean)
	}
}

func TestInterval(t *testing.T) {
	s, _ := sample.NewSeeded(sample.Config{P: 1, MinInterval: time.Second, MaxInterval: 20 * time.Second}, seed)
	now := time.Unix(1000, 0)
	var gaps []time.Duration
	last := time.Time{}
	for i := 0; i < 200000; i++ { // a frame every 10 ms for 2000 s
		now = now.Add(10 * time.Millisecond)
		if s.Keep(now, id(i)) {
			if !last.IsZero() {
				gaps = append(gaps, now.Sub(last))
			}
			s.Kept(now)
			last = now
		}
	}
	var sum time.Duration
	for _, g := range gaps {
		if g < time.Second || g > 20*time.Second+10*time.Millisecond {
			t.Fatalf("gap %v outside [1s, 20s]", g)
		}
		sum += g
	}
	mean := sum / time.Duration(len(gaps))
	if mean < 10*time.Second || mean > 11*time.Second {
		t.Errorf("mean gap: got %v, want about 10.5s", mean)
	}
	// Not kept (the signature failed, say): the interval does not start.
	s2, _ := sample.NewSeeded(sample.Config{P: 1, MinInterval: time.Second, MaxInterval: time.Second}, seed)
	for i := range 2 {
		if !s2.Keep(now, id(i)) {
			t.Errorf("Keep %d without Kept: got false, want true", i)
		}
	}
	s2.Kept(now)
	if s2.Keep(now.Add(999*time.Millisecond), id(3)) {
		t.Errorf("Keep inside the interval: got true, want false")
	}
	if !s2.Keep(now.Add(time.Second), id(3)) {
		t.Errorf("Keep at the end of the interval: got false, want true")
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := sample.NewSeeded(sample.Config{P: 0.3}, seed)
	b, _ := sample.NewSeeded(sample.Config{P: 0.3}, seed)
	now := time.Unix(0, 0)
	for i := range 1000 {
		if a.Keep(now, id(i)) != b.Keep(now, id(i)) {
			t.Fatalf("decision %d differs for one seed", i)
		}
	}
}

// TestReplaySameAnswer checks that a frame's decision depends on its
// identity and the key only: asking again about a frame, as each replay
// of it does, gets the same answer, so 20 copies of every frame keep as
// many frames as one copy; and another key makes other decisions.
func TestReplaySameAnswer(t *testing.T) {
	s, _ := sample.NewSeeded(sample.Config{P: 0.1}, seed)
	now := time.Unix(0, 0)
	first := make([]bool, 1000)
	once := 0
	for i := range first {
		if first[i] = s.Keep(now, id(i)); first[i] {
			once++
		}
	}
	again := 0
	for range 20 {
		for i := range first {
			k := s.Keep(now, id(i))
			if k != first[i] {
				t.Fatalf("frame %d: got %v, want %v as at first", i, k, first[i])
			}
			if k {
				again++
			}
		}
	}
	if again != 20*once {
		t.Errorf("20 copies of each frame: kept %d, want %d", again, 20*once)
	}
	other, _ := sample.NewSeeded(sample.Config{P: 0.1}, [sample.SeedSize]byte{9})
	differ := 0
	for i := range first {
		if other.Keep(now, id(i)) != first[i] {
			differ++
		}
	}
	// Independent keys at P = 0.1 differ on 18 % of the frames.
	if differ < 100 {
		t.Errorf("another key: %d of %d decisions differ, want about 180", differ, len(first))
	}
}

// TestMinP checks the smallest probability: below it the threshold would
// round to 0, which must not mean "keep all" (nor keep nothing silently).
func TestMinP(t *testing.T) {
	for _, p := range []float64{1e-20, sample.MinP / 2, math.SmallestNonzeroFloat64} {
		if _, err := sample.New(sample.Config{P: p}); err == nil {
			t.Errorf("New(P=%v): got nil error, want one", p)
		}
	}
	s, err := sample.NewSeeded(sample.Config{P: sample.MinP}, seed)
	if err != nil {
		t.Fatalf("New(P=MinP): %v", err)
	}
	now := time.Unix(0, 0)
	for i := range 10000 {
		if s.Keep(now, id(i)) {
			t.Fatalf("P=2^-64 kept frame %d, want none of 10000", i)
		}
	}
}

// id is the identity of frame i.
func id(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

func TestConfig(t *testing.T) {
	for _, cfg := range []sample.Config{{P: 0}, {P: -1}, {P: 1.5}, {P: math.NaN()}, {P: 1, MinInterval: 2, MaxInterval: 1}, {P: 1, MinInterval: -1}} {
		if _, err := sample.New(cfg); err == nil {
			t.Errorf("New(%+v): got nil error, want one", cfg)
		}
	}
	if _, err := sample.New(sample.Config{P: 0.5}); err != nil {
		t.Errorf("New(P=0.5): %v", err)
	}
}

func BenchmarkKeep(b *testing.B) {
	s, _ := sample.NewSeeded(sample.Config{P: 0.5}, seed)
	now := time.Unix(0, 0)
	frame := id(7)
	b.ReportAllocs()
	for b.Loop() {
		s.Keep(now, frame)
	}
}

// BenchmarkOSBytePerDecision is the alternative the package avoids: one
// byte from the operating system (getrandom) for every decision.
func BenchmarkOSBytePerDecision(b *testing.B) {
	var one [1]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rand.Read(one[:]); err != nil {
			b.Fatal(err)
		}
		_ = one[0] < 128
	}
}

// BenchmarkNewSampler is the one-time cost: 32 bytes from the OS and the
// generator's set-up.
func BenchmarkNewSampler(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sample.New(sample.Config{P: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
}
