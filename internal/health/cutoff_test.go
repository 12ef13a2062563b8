package health_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/nordunet/ssmrandom/internal/health"
)

// The defaults SP 800-90B gives for full-entropy bytes.
func TestCutoffsDefault(t *testing.T) {
	rct, apt, err := health.Cutoffs(health.DefaultMinEntropy, health.DefaultAlpha, health.DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	if rct != 6 || apt != 19 {
		t.Errorf("Cutoffs(8, 2^-40, 512): got rct %d, apt %d, want 6, 19", rct, apt)
	}
}

// bruteRCT returns the smallest c with 2^(-h(c-1)) <= 2^-a, the RCT cutoff
// for integer h and alpha = 2^-a, by trying each c.
func bruteRCT(h, a int) int {
	c := 1
	for h*(c-1) < a {
		c++
	}
	return c
}

// bruteAPT returns the smallest c with P(X >= c) <= 2^-a for
// X ~ Binomial(n, 2^-h), summing P(X = k) = C(n, k) p^k (1-p)^(n-k) in
// exact rational arithmetic.
func bruteAPT(n, h, a int) int {
	p := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(h)))
	q := new(big.Rat).Sub(big.NewRat(1, 1), p)
	alpha := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(a)))
	pk := make([]*big.Rat, n+1) // p^k
	qk := make([]*big.Rat, n+1) // q^k
	pk[0], qk[0] = big.NewRat(1, 1), big.NewRat(1, 1)
	for k := 1; k <= n; k++ {
		pk[k] = new(big.Rat).Mul(pk[k-1], p)
		qk[k] = new(big.Rat).Mul(qk[k-1], q)
	}
	tail := new(big.Rat)
	for c := n; c >= 0; c-- {
		term := new(big.Rat).SetInt(new(big.Int).Binomial(int64(n), int64(c)))
		term.Mul(term, pk[c]).Mul(term, qk[n-c])
		tail.Add(tail, term)
		if tail.Cmp(alpha) > 0 {
			return c + 1
		}
	}
	return 0
}

func TestCutoffsBrute(t *testing.T) {
	tests := []struct{ h, a, w int }{
		{8, 40, 512}, {8, 20, 512}, {8, 30, 512}, {8, 40, 1024}, {8, 12, 512},
		{7, 40, 512}, {4, 40, 512}, {4, 20, 512}, {2, 30, 256}, {1, 40, 1024}, {1, 20, 64},
	}
	for _, tt := range tests {
		rct, apt, err := health.Cutoffs(float64(tt.h), math.Ldexp(1, -tt.a), tt.w)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteRCT(tt.h, tt.a); rct != want {
			t.Errorf("H %d, alpha 2^-%d: got rct %d, want %d", tt.h, tt.a, rct, want)
		}
		if want := bruteAPT(tt.w, tt.h, tt.a); apt != want {
			t.Errorf("H %d, alpha 2^-%d, W %d: got apt %d, want %d", tt.h, tt.a, tt.w, apt, want)
		}
	}
}

// logTail returns log P(X >= c) for X ~ Binomial(n, p), in float64 log
// space: an independent check for min-entropies that are not whole.
func logTail(n int, p float64, c int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	sum := math.Inf(-1)
	for k := c; k <= n; k++ {
		l := lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
		hi, lo := math.Max(sum, l), math.Min(sum, l)
		sum = hi + math.Log1p(math.Exp(lo-hi))
	}
	return sum
}

func TestCutoffsFractional(t *testing.T) {
	for _, h := range []float64{7.5, 6.3, 3.7, 0.9} {
		alpha := math.Ldexp(1, -40)
		_, apt, err := health.Cutoffs(h, alpha, 512)
		if err != nil {
			t.Fatal(err)
		}
		p, la := math.Exp2(-h), math.Log(alpha)
		if got := logTail(512, p, apt); got > la {
			t.Errorf("H %v: P(X >= apt %d) = e^%.3f, want <= alpha = e^%.3f", h, apt, got, la)
		}
		if got := logTail(512, p, apt-1); got <= la {
			t.Errorf("H %v: P(X >= apt-1 = %d) = e^%.3f, want > alpha = e^%.3f: apt is not the smallest", h, apt-1, got, la)
		}
	}
	// 36/7.2 is 5 in exact arithmetic, not quite in float64.
	if rct, _, _ := health.Cutoffs(7.2, math.Ldexp(1, -36), 512); rct != 6 {
		t.Errorf("Cutoffs(7.2, 2^-36): got rct %d, want 6", rct)
	}
}

func TestCutoffsInvalid(t *testing.T) {
	tests := []struct {
		h, alpha float64
		w        int
	}{
		{0, 1e-12, 512}, {8.5, 1e-12, 512}, {math.NaN(), 1e-12, 512}, {-1, 1e-12, 512},
		{8, 0, 512}, {8, 0.5, 512}, {8, math.NaN(), 512}, {8, -1e-12, 512},
		{8, 1e-12, 1}, {8, 1e-12, health.MaxWindow + 1},
	}
	for _, tt := range tests {
		if _, _, err := health.Cutoffs(tt.h, tt.alpha, tt.w); err == nil {
			t.Errorf("Cutoffs(%v, %v, %d): got no error, want one", tt.h, tt.alpha, tt.w)
		}
	}
	// The extremes allowed give an APT cutoff of at least 2: the first
	// byte of a window alone never fails it.
	for _, w := range []int{health.MinWindow, health.MaxWindow} {
		for _, h := range []float64{8, 0.01} {
			rct, apt, err := health.Cutoffs(h, health.MaxAlpha, w)
			if err != nil || rct < 2 || apt < 2 {
				t.Errorf("Cutoffs(%v, MaxAlpha, %d): got %d, %d, %v, want cutoffs of 2 or more", h, w, rct, apt, err)
			}
		}
	}
}
