package sample_test

import (
	"crypto/rand"
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
		for range n {
			if s.Keep(now) {
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
	for range 100000 {
		if s.Keep(now) {
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
		if s.Keep(now) {
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
		if !s2.Keep(now) {
			t.Errorf("Keep %d without Kept: got false, want true", i)
		}
	}
	s2.Kept(now)
	if s2.Keep(now.Add(999 * time.Millisecond)) {
		t.Errorf("Keep inside the interval: got true, want false")
	}
	if !s2.Keep(now.Add(time.Second)) {
		t.Errorf("Keep at the end of the interval: got false, want true")
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := sample.NewSeeded(sample.Config{P: 0.3}, seed)
	b, _ := sample.NewSeeded(sample.Config{P: 0.3}, seed)
	now := time.Unix(0, 0)
	for i := range 1000 {
		if a.Keep(now) != b.Keep(now) {
			t.Fatalf("decision %d differs for one seed", i)
		}
	}
}

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
	b.ReportAllocs()
	for b.Loop() {
		s.Keep(now)
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
