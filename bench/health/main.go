// Command health measures how well the receiver's health tests (package
// internal/health) tell good entropy from bad, and prints the answers as
// Markdown tables:
//
//  1. False alarms on real random data: a sample from crypto/rand, cut
//     into frames, run through monitors at several false-alarm
//     probabilities; the failures seen are set beside the number expected
//     from the cutoffs.
//  2. Bad sources: how many bytes each one gets forwarded before the tests
//     first refuse one of its frames, and how much of its output they
//     refuse in all.
//
// Usage:
//
//	go run ./bench/health [-sample MiB] [-limit MiB] [-frame bytes]
//
// Every source but crypto/rand is deterministic (fixed seeds and keys), so
// a run prints the same second table every time.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nordunet/ssmrandom/internal/health"
)

func main() {
	sample := flag.Int("sample", 1024, "`MiB` of crypto/rand data for the false-alarm table")
	limit := flag.Int("limit", 64, "`MiB` each bad source is run for")
	frame := flag.Int("frame", 512, "frame size in `bytes`")
	flag.Parse()
	if *sample <= 0 || *limit <= 0 || *frame < health.MinDuplicateSize {
		fmt.Fprintf(os.Stderr, "health: want -sample and -limit of 1 MiB or more and -frame of %d bytes or more\n", health.MinDuplicateSize)
		os.Exit(2)
	}
	start := time.Now()
	if err := falseAlarms(os.Stdout, int64(*sample)<<20, *frame); err != nil {
		fmt.Fprintf(os.Stderr, "health: %v\n", err)
		os.Exit(1)
	}
	fmt.Println()
	if err := sources(os.Stdout, int64(*limit)<<20, *frame); err != nil {
		fmt.Fprintf(os.Stderr, "health: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("\n_%s, %s/%s, GOMAXPROCS %d, %.1f s._\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), time.Since(start).Seconds())
}

// falseAlarms runs n bytes of crypto/rand data, in frames of size bytes,
// through a monitor per false-alarm probability and prints, per test, the
// failures seen and expected.
//
// On uniform bytes (p = 1/256 per value) a byte trips the RCT when it
// ends a run of rct equal bytes, with probability (1-p)·p^(rct-1), and a
// window trips the APT with probability P(Y >= apt-1), Y ~ Binomial(W-1,
// p), as the first byte of a window is counted but not drawn; the
// expected counts are these times the bytes tested and the windows, n/W.
// (Windows cut short by a failure make the latter a slight over-estimate,
// well inside the statistical error.)
func falseAlarms(w io.Writer, n int64, size int) error {
	exps := []int{40, 30, 20, 16, 12}
	ms := make([]*health.Monitor, len(exps))
	for i, e := range exps {
		m, err := health.New(health.Config{Alpha: math.Ldexp(1, -e)})
		if err != nil {
			return err
		}
		ms[i] = m
	}
	chunk := make([]byte, (4<<20)/size*size)
	for done := int64(0); done < n; {
		c := chunk[:min(int64(len(chunk)), (n-done)/int64(size)*int64(size))]
		if len(c) == 0 {
			break
		}
		if _, err := rand.Read(c); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() {
				for f := c; len(f) > 0; f = f[size:] {
					_ = m.Check(f[:size])
				}
			})
		}
		wg.Wait()
		done += int64(len(c))
	}

	fmt.Fprintf(w, "False alarms on %s of crypto/rand data in %d-byte frames (H = 8 bits per byte, APT window %d):\n\n",
		mib(n), size, health.DefaultWindow)
	fmt.Fprintln(w, "| alpha | RCT cutoff | RCT failures seen | expected | APT cutoff | APT failures seen | expected | APT per window | alpha × windows | duplicates | frames refused |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	const p = 1.0 / 256
	for i, e := range exps {
		rct, apt, err := health.Cutoffs(health.DefaultMinEntropy, math.Ldexp(1, -e), health.DefaultWindow)
		if err != nil {
			return err
		}
		s := ms[i].Stats()
		windows := float64(s.Bytes) / health.DefaultWindow
		expRCT := float64(s.Bytes) * (1 - p) * math.Pow(p, float64(rct-1))
		lq := logTail(health.DefaultWindow-1, p, apt-1)
		expAPT := windows * math.Exp(lq)
		fmt.Fprintf(w, "| 2^-%d | %d | %d | %s | %d | %d | %s | 2^%.1f | %.3g | %d | %d (%.3f%%) |\n",
			e, rct, s.Repetition, expected(s.Repetition, expRCT), apt, s.Proportion, expected(s.Proportion, expAPT),
			lq/math.Ln2, windows*math.Ldexp(1, -e), s.Duplicate, s.Refused, 100*float64(s.Refused)/float64(s.Frames))
	}
	fmt.Fprintln(w, "\nExpected: the mean count for full-entropy bytes, ± one Poisson standard deviation, and how many deviations the count seen is from it. "+
		"APT per window: the probability that a window of full-entropy bytes trips the APT, P(Binomial(W-1, 1/256) >= cutoff-1); "+
		"the SP 800-90B formula bounds P(Binomial(W, 1/256) >= cutoff) by alpha, so the test as run trips a few times more often than alpha.")
	return nil
}

// expected formats the expected count lambda of a Poisson variable and how
// far the count seen is from it, in standard deviations.
func expected(seen uint64, lambda float64) string {
	if lambda < 0.01 {
		return fmt.Sprintf("%.2g", lambda)
	}
	sd := math.Sqrt(lambda)
	return fmt.Sprintf("%.3g ± %.2g (%+.1fσ)", lambda, sd, (float64(seen)-lambda)/sd)
}

// logTail returns log P(X >= c) for X ~ Binomial(n, p), summed in float64
// log space (independently of package health's exact sum).
func logTail(n int, p float64, c int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	sum := math.Inf(-1)
	for k := max(c, 0); k <= n; k++ {
		l := lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
		hi, lo := math.Max(sum, l), math.Min(sum, l)
		sum = hi + math.Log1p(math.Exp(lo-hi))
	}
	return sum
}

// A source fills each frame it is given with its next bytes.
type source struct {
	name string
	make func() func(frame []byte) error
}

// result is what the health tests did to one source.
type result struct {
	first    int64  // bytes forwarded before the first refused frame, or -1
	by       string // the test that refused it
	refused  uint64 // frames refused in all
	frames   uint64
	fwdBytes int64 // bytes forwarded in all
	err      error
}

func sources(w io.Writer, limit int64, size int) error {
	srcs := []source{
		{"crypto/rand (control)", func() func([]byte) error {
			return func(f []byte) error { _, err := rand.Read(f); return err }
		}},
		{"all zeros", constant(0)},
		{"one repeated byte (0xA5)", constant(0xA5)},
		{"counter 0, 1, ..., 255, 0, ...", counter(256)},
		{"counter mod 251 (not aligned with frames)", counter(251)},
		{"16-bit big-endian counter", func() func([]byte) error {
			var c uint16
			return func(f []byte) error {
				for i := 0; i+1 < len(f); i += 2 {
					f[i], f[i+1] = byte(c>>8), byte(c)
					c++
				}
				return nil
			}
		}},
		{"biased bits, P(1) = 0.75", biased(0.75)},
		{"biased bits, P(1) = 0.65", biased(0.65)},
		{"biased bits, P(1) = 0.55", biased(0.55)},
		{"biased bits, P(1) = 0.51", biased(0.51)},
		{"one bit stuck at 0 (7 bits of entropy per byte)", masked(0xFE)},
		{"high nibble stuck at 0 (4 bits per byte)", masked(0x0F)},
		{"2 bits of entropy per byte", masked(0x03)},
		{"a 4 KiB random block, repeated", loop(4 << 10)},
		{"AES-128-CTR, known key", aesCTR},
		{"replay: 64 frames, sent again and again", loop(int64(64 * size))},
		{"replay: 65 frames, sent again and again", loop(int64(65 * size))},
		{"replay: 1 MiB, sent again and again", loop(1 << 20)},
	}
	res := make([]result, len(srcs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i] = run(s.make(), limit, size)
		})
	}
	wg.Wait()

	rct, apt, err := health.Cutoffs(health.DefaultMinEntropy, health.DefaultAlpha, health.DefaultWindow)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Bad sources, each run for %s in %d-byte frames through a monitor with the defaults "+
		"(alpha 2^%g, H = %d, RCT cutoff %d, APT cutoff %d in %d, duplicates among the last %d frames, probation %d bytes):\n\n",
		mib(limit), size, math.Log2(health.DefaultAlpha), health.DefaultMinEntropy, rct, apt, health.DefaultWindow,
		health.DefaultRecent, health.DefaultRecoveryWindows*health.DefaultWindow)
	fmt.Fprintln(w, "| source | forwarded before the first refusal | refused by | frames refused | bytes forwarded in all |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for i, s := range srcs {
		r := res[i]
		if r.err != nil {
			return fmt.Errorf("%s: %w", s.name, r.err)
		}
		first, by := fmt.Sprintf("not caught in %s", mib(limit)), "-"
		if r.first >= 0 {
			first, by = bytesStr(r.first), r.by
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d of %d (%.2f%%) | %s |\n",
			s.name, first, by, r.refused, r.frames, 100*float64(r.refused)/float64(r.frames), bytesStr(r.fwdBytes))
	}
	return nil
}

// run feeds limit bytes of a source, in frames of size bytes, through a
// monitor with the default configuration.
func run(next func([]byte) error, limit int64, size int) result {
	m, err := health.New(health.Config{})
	if err != nil {
		return result{err: err}
	}
	r := result{first: -1}
	f := make([]byte, size)
	for sent := int64(0); sent+int64(size) <= limit; sent += int64(size) {
		if err := next(f); err != nil {
			return result{err: err}
		}
		err := m.Check(f)
		if err == nil {
			r.fwdBytes += int64(size)
			continue
		}
		if r.first < 0 {
			r.first, r.by = r.fwdBytes, testName(err)
		}
	}
	s := m.Stats()
	r.refused, r.frames = s.Refused, s.Frames
	return r
}

func testName(err error) string {
	switch {
	case errors.Is(err, health.ErrRepetition):
		return "RCT"
	case errors.Is(err, health.ErrProportion):
		return "APT"
	case errors.Is(err, health.ErrDuplicate):
		return "duplicate"
	}
	return err.Error()
}

// constant is a source of one byte value.
func constant(b byte) func() func([]byte) error {
	return func() func([]byte) error {
		return func(f []byte) error {
			for i := range f {
				f[i] = b
			}
			return nil
		}
	}
}

// counter is a source of the bytes 0, 1, ..., period-1, 0, 1, ...
func counter(period int) func() func([]byte) error {
	return func() func([]byte) error {
		c := 0
		return func(f []byte) error {
			for i := range f {
				f[i] = byte(c)
				if c++; c == period {
					c = 0
				}
			}
			return nil
		}
	}
}

// seeded returns a deterministic generator for the bad sources.
func seeded() *mrand.ChaCha8 {
	return mrand.NewChaCha8([32]byte{'s', 's', 'm', 'r', 'a', 'n', 'd', 'o', 'm'})
}

// biased is a source of bytes made of independent bits, each 1 with
// probability p (to within 2^-32).
func biased(p float64) func() func([]byte) error {
	return func() func([]byte) error {
		r := mrand.New(mrand.NewPCG(1, 2))
		thr := uint64(math.Round(p * (1 << 32)))
		return func(f []byte) error {
			for i := range f {
				var b byte
				for j := 0; j < 8; j += 2 {
					u := r.Uint64()
					if u&(1<<32-1) < thr {
						b |= 1 << j
					}
					if u>>32 < thr {
						b |= 2 << j
					}
				}
				f[i] = b
			}
			return nil
		}
	}
}

// masked is a source of uniform random bytes ANDed with mask.
func masked(mask byte) func() func([]byte) error {
	return func() func([]byte) error {
		r := seeded()
		return func(f []byte) error {
			r.Read(f)
			for i := range f {
				f[i] &= mask
			}
			return nil
		}
	}
}

// loop is a source that sends n random bytes, then the same again, and
// so on.
func loop(n int64) func() func([]byte) error {
	return func() func([]byte) error {
		block := make([]byte, n)
		seeded().Read(block)
		var off int64
		return func(f []byte) error {
			for i := range f {
				f[i] = block[off]
				off++
				if off == n {
					off = 0
				}
			}
			return nil
		}
	}
}

// aesCTR is a source of AES-128-CTR keystream under the all-zero key and
// counter: no entropy at all, to anyone who knows the key.
func aesCTR() func([]byte) error {
	b, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		return func([]byte) error { return err }
	}
	s := cipher.NewCTR(b, make([]byte, aes.BlockSize))
	return func(f []byte) error {
		clear(f)
		s.XORKeyStream(f, f)
		return nil
	}
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return bytesStr(n)
}

// bytesStr formats n bytes exactly, with thousands separators, and in KiB
// or MiB when that is shorter to read.
func bytesStr(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%s B (%.1f MiB)", b.String(), float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%s B (%.1f KiB)", b.String(), float64(n)/(1<<10))
	}
	return b.String() + " B"
}
