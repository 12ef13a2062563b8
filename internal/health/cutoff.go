package health

import "math/big"

// prec is the precision, in bits, of the binomial tail sums: far more than
// the float64 inputs carry, so that rounding cannot move a cutoff.
const prec = 256

// binomialCutoff returns the smallest c with P(X >= c) <= alpha for
// X ~ Binomial(n, p), 0 < p < 1, 0 < alpha < 1.
//
// It sums the probabilities P(X = k) from k = n down, each from the one
// above it: P(X = k-1) = P(X = k) · k/(n-k+1) · (1-p)/p, starting from
// P(X = n) = p^n. big.Float's exponent range holds p^n for any n and p
// allowed here, and every term is positive, so the sum loses nothing to
// cancellation.
func binomialCutoff(n int, p, alpha float64) int {
	f := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	bp := f(p)
	ratio := f(1) // (1-p)/p
	ratio.Sub(ratio, bp).Quo(ratio, bp)
	term := pow(bp, n) // P(X = k), for k = n
	tail := f(0)       // P(X >= k)
	a := f(alpha)
	num, den := f(0), f(0)
	for k := n; k > 0; k-- {
		tail.Add(tail, term)
		if tail.Cmp(a) > 0 {
			return k + 1
		}
		num.SetInt64(int64(k))
		den.SetInt64(int64(n - k + 1))
		term.Mul(term, num).Quo(term, den).Mul(term, ratio)
	}
	// P(X >= 0) = 1 > alpha.
	return 1
}

// pow returns x^n, n >= 0, at precision prec.
func pow(x *big.Float, n int) *big.Float {
	r := new(big.Float).SetPrec(prec).SetInt64(1)
	b := new(big.Float).SetPrec(prec).Set(x)
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r.Mul(r, b)
		}
		b.Mul(b, b)
	}
	return r
}
