// Command health measures how well the receiver's health tests (package
// internal/health) tell good entropy from bad, and prints the answers as
// Markdown tables:
//
//  1. False alarms on real random data: a sample from crypto/rand, cut
//     into frames, run through monitors with the SP 800-90B tests at
//     several false-alarm probabilities, and through one with the
//     defaults, which adds the FIPS 140-2 tests on 2500-byte blocks; the
//     failures seen are set beside the number expected.
//  2. Bad sources: how many bytes each one gets forwarded before the tests
//     first refuse one of its frames, with and without the FIPS 140-2
//     tests, and how much of its output they refuse in all; beside it,
//     what rngd 5 would do with the same bytes (a model of rng-tools 5's
//     fips.c and rngd's failure count, checked against the real rngd by
//     bench/rngd, see docs/research.md Q3).
//
// Usage:
//
//	go run ./bench/health [-sample MiB] [-limit MiB] [-frame bytes]
//	go run ./bench/health -emit NAME [-limit MiB] > FIFO   # one source's bytes, to feed rngd
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
	emit := flag.String("emit", "", "write the bad source `NAME` to stdout (-limit MiB) and exit")
	flag.Parse()
	if *emit != "" {
		if err := emitSource(os.Stdout, *emit, int64(*limit)<<20); err != nil {
			fmt.Fprintf(os.Stderr, "health: %v\n", err)
			os.Exit(1)
		}
		return
	}
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
	ms := make([]*health.Monitor, len(exps)+1)
	for i, e := range exps {
		m, err := health.New(health.Config{Alpha: math.Ldexp(1, -e), NoFIPS: true})
		if err != nil {
			return err
		}
		ms[i] = m
	}
	def, err := health.New(health.Config{}) // with the FIPS 140-2 tests
	if err != nil {
		return err
	}
	ms[len(exps)] = def
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

	fmt.Fprintf(w, "False alarms of the SP 800-90B tests and the RCT on differences (FIPS 140-2 tests off) on %s of crypto/rand data in %d-byte frames (H = 8 bits per byte, APT window %d):\n\n",
		mib(n), size, health.DefaultWindow)
	fmt.Fprintln(w, "| alpha | RCT cutoff | RCT failures seen | expected | RCT on differences: failures seen | expected | APT cutoff | APT failures seen | expected | APT per window | alpha × windows | duplicates | frames refused |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
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
		fmt.Fprintf(w, "| 2^-%d | %d | %d | %s | %d | %s | %d | %d | %s | 2^%.1f | %.3g | %d | %d (%.3f%%) |\n",
			e, rct, s.Repetition, expected(s.Repetition, expRCT), s.Difference, expected(s.Difference, expRCT), apt, s.Proportion, expected(s.Proportion, expAPT),
			lq/math.Ln2, windows*math.Ldexp(1, -e), s.Duplicate, s.Refused, 100*float64(s.Refused)/float64(s.Frames))
	}
	fmt.Fprintln(w, "\nExpected: the mean count for full-entropy bytes, ± one Poisson standard deviation, and how many deviations the count seen is from it; "+
		"the differences of independent uniform bytes are independent and uniform, so the RCT on differences expects what the RCT does. "+
		"APT per window: the probability that a window of full-entropy bytes trips the APT, P(Binomial(W-1, 1/256) >= cutoff-1); "+
		"the SP 800-90B formula bounds P(Binomial(W, 1/256) >= cutoff) by alpha, so the test as run trips a few times more often than alpha.")
	fmt.Fprintln(w)
	return fipsAlarms(w, def.Stats(), size)
}

// fipsAlarms prints the FIPS 140-2 tests' false alarms seen by the
// default monitor s, per test, beside the number expected on
// full-entropy blocks of 20,000 bits:
//
//   - monobit: the ones are Binomial(20000, 1/2), failing at <= 9725 or
//     >= 10275, summed exactly;
//   - poker: FIPS 140-2 takes X as chi-square with 15 degrees of freedom,
//     failing outside [2.1632, 46.1696] (rngd's integer bounds);
//   - long run: each of the 20,000 bits starts a run of 26 or more with
//     probability about 2^-26 (a bit unlike the one before, then 25 like
//     it), so about 20000 · 2^-26 per block (an upper bound);
//   - continuous: 625 words per block, each equal to the one before with
//     probability 2^-32;
//   - runs: no closed form is attempted; seen only.
func fipsAlarms(w io.Writer, s health.Stats, size int) error {
	blocks := float64(s.Blocks)
	pMono := 2 * math.Exp(logTail(20000, 0.5, 10275))
	pPoker := chi2Lower(15, 16.0/5000*1563176-5000) + 1 - chi2Lower(15, 16.0/5000*1576928-5000)
	pLong := 20000 * math.Ldexp(1, -26)
	pCont := 625 * math.Ldexp(1, -32)
	fmt.Fprintf(w, "False alarms of the FIPS 140-2 tests, the same data through a monitor with the defaults (all tests; %d blocks of %d bytes):\n\n", s.Blocks, health.BlockSize)
	fmt.Fprintln(w, "| test | blocks failing | per block | expected per block | expected blocks |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	row := func(name string, seen uint64, p float64) {
		exp := "-"
		per := "-"
		if p > 0 {
			per = fmt.Sprintf("%.3g", p)
			exp = expected(seen, p*blocks)
		}
		fmt.Fprintf(w, "| %s | %d | %.3g | %s | %s |\n", name, seen, float64(seen)/blocks, per, exp)
	}
	row("monobit (9725 < ones < 10275)", s.Monobit, pMono)
	row("poker (2.16 < X < 46.17)", s.Poker, pPoker)
	row("runs (FIPS 140-2 intervals)", s.Runs, 0)
	row("long run (no run of 26 or more)", s.LongRun, pLong)
	row("continuous (no 32-bit word repeated)", s.Continuous, pCont)
	row("**any** (a failing block)", s.FIPS+s.Isolated, 0)
	fmt.Fprintf(w, "\nOne block in %.0f fails on full-entropy data (%d frames of %d refused in all, %.3f%%, the failing ones and any probations; "+
		"isolated block failures, which change nothing else: %d; failures that made the source unhealthy: %d, of them FIPS failure-rate rules: %d, "+
		"SP 800-90B, difference and duplicate failures: %d).\n",
		blocks/float64(s.FIPS+s.Isolated), s.Refused, s.Frames, 100*float64(s.Refused)/float64(s.Frames), s.Isolated, s.Failures(), s.FIPS,
		s.Repetition+s.Difference+s.Proportion+s.Duplicate)
	return nil
}

// chi2Lower returns P(X <= x) for X chi-square with k degrees of freedom:
// the regularized lower incomplete gamma function P(k/2, x/2), by its
// power series (fine for the small k and x here).
func chi2Lower(k int, x float64) float64 {
	a, z := float64(k)/2, x/2
	lg, _ := math.Lgamma(a + 1)
	term := math.Exp(a*math.Log(z) - z - lg)
	sum := term
	for n := 1; n < 1000 && term > sum*1e-17; n++ {
		term *= z / (a + float64(n))
		sum += term
	}
	return sum
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
	key, name string
	make      func() func(frame []byte) error
}

// result is what the health tests did to one source.
type result struct {
	refusedAt int64  // bytes checked up to the end of the first refused frame, or -1
	caught    int64  // bytes checked up to the end of the first frame that made the source unhealthy, or -1
	first     int64  // bytes forwarded before that frame
	by        string // the test that failed it
	refused   uint64 // frames refused in all
	isolated  uint64 // of them, for isolated FIPS block failures (health.ErrBlock)
	frames    uint64
	fwdBytes  int64 // bytes forwarded in all
	err       error
}

// rngdResult is what rngd 5 would do with a source (see rngdModel).
type rngdResult struct {
	firstFail int64 // bytes read when the first failing block ends, or -1
	disabled  int64 // bytes read when rngd disables the source, or -1
}

func badSources(size int) []source {
	return []source{
		{"crand", "crypto/rand (control)", func() func([]byte) error {
			return func(f []byte) error { _, err := rand.Read(f); return err }
		}},
		{"zeros", "all zeros", constant(0)},
		{"a5", "one repeated byte (0xA5)", constant(0xA5)},
		{"counter", "counter 0, 1, ..., 255, 0, ...", counter(256)},
		{"counter251", "counter mod 251 (not aligned with frames)", counter(251)},
		{"counter16", "16-bit big-endian counter", func() func([]byte) error {
			var c uint16
			return func(f []byte) error {
				for i := 0; i+1 < len(f); i += 2 {
					f[i], f[i+1] = byte(c>>8), byte(c)
					c++
				}
				return nil
			}
		}},
		{"bias75", "biased bits, P(1) = 0.75", biased(0.75)},
		{"bias65", "biased bits, P(1) = 0.65", biased(0.65)},
		{"bias55", "biased bits, P(1) = 0.55", biased(0.55)},
		{"bias51", "biased bits, P(1) = 0.51", biased(0.51)},
		{"bit0", "one bit stuck at 0 (7 bits of entropy per byte)", masked(0xFE)},
		{"nibble", "high nibble stuck at 0 (4 bits per byte)", masked(0x0F)},
		{"2bits", "2 bits of entropy per byte", masked(0x03)},
		{"repeat4k", "a 4 KiB random block, repeated", loop(4 << 10)},
		{"aesctr", "AES-128-CTR, known key", aesCTR},
		{"replay64", "replay: 64 frames, sent again and again", loop(int64(64 * size))},
		{"replay65", "replay: 65 frames, sent again and again", loop(int64(65 * size))},
		{"replay1m", "replay: 1 MiB, sent again and again", loop(1 << 20)},
	}
}

// emitSource writes limit bytes of the source key to w, for feeding it to
// the real rngd through a FIFO.
func emitSource(w io.Writer, key string, limit int64) error {
	for _, s := range badSources(512) {
		if s.key != key {
			continue
		}
		next := s.make()
		buf := make([]byte, 4096)
		for n := int64(0); n < limit; n += int64(len(buf)) {
			if err := next(buf); err != nil {
				return err
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	var keys []string
	for _, s := range badSources(512) {
		keys = append(keys, s.key)
	}
	return fmt.Errorf("no source %q: want one of %s", key, strings.Join(keys, ", "))
}

func sources(w io.Writer, limit int64, size int) error {
	srcs := badSources(size)
	// Per source: without the FIPS tests, with them (the defaults), rngd.
	old := make([]result, len(srcs))
	res := make([]result, len(srcs))
	rd := make([]rngdResult, len(srcs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			old[i] = run(s.make(), limit, size, health.Config{NoFIPS: true})
			res[i] = run(s.make(), limit, size, health.Config{})
			rd[i] = rngdModel(s.make(), limit)
		})
	}
	wg.Wait()

	rct, apt, err := health.Cutoffs(health.DefaultMinEntropy, health.DefaultAlpha, health.DefaultWindow)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Bad sources, each run for %s in %d-byte frames through a monitor with the defaults "+
		"(alpha 2^%g, H = %d, RCT cutoff %d, APT cutoff %d in %d, duplicates among the last %d frames, FIPS 140-2 tests on %d-byte blocks, "+
		"probation %d bytes, %d after a FIPS failure, failure-rate rules over the last %d blocks and on failing blocks in a row, other FIPS block failures isolated) and through one without the FIPS tests (NoFIPS); beside them rngd 5 on the same bytes:\n\n",
		mib(limit), size, math.Log2(health.DefaultAlpha), health.DefaultMinEntropy, rct, apt, health.DefaultWindow,
		health.DefaultRecent, health.BlockSize, health.DefaultRecoveryWindows*health.DefaultWindow, health.BlockSize, health.RateBlocks)
	fmt.Fprintln(w, "| source | rngd 5: first failing block | rngd 5: source disabled | without FIPS 140-2: caught after | "+
		"with FIPS 140-2 (default): first frame refused | with FIPS 140-2 (default): caught after | refused by | forwarded before | "+
		"frames refused (isolated block failures) | bytes forwarded in all |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|---:|---|---:|")
	for i, s := range srcs {
		r, o := res[i], old[i]
		for _, x := range []result{r, o} {
			if x.err != nil {
				return fmt.Errorf("%s: %w", s.name, x.err)
			}
		}
		at := func(n int64) string {
			if n < 0 {
				return "not in " + mib(limit)
			}
			return bytesStr(n)
		}
		fwd, by := "-", "-"
		if r.caught >= 0 {
			fwd, by = bytesStr(r.first), r.by
		}
		rFirst, rDis := "not in "+mib(limit), "not in "+mib(limit)
		if rd[i].firstFail >= 0 {
			rFirst = bytesStr(rd[i].firstFail)
		}
		if rd[i].disabled >= 0 {
			rDis = bytesStr(rd[i].disabled)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %d of %d (%.2f%%; %d) | %s |\n",
			s.name, rFirst, rDis, at(o.caught), at(r.refusedAt), at(r.caught), by, fwd,
			r.refused, r.frames, 100*float64(r.refused)/float64(r.frames), r.isolated, bytesStr(r.fwdBytes))
	}
	fmt.Fprintf(w, "\nFirst frame refused: bytes checked up to the end of the first refused frame, an isolated FIPS block failure or not. "+
		"Caught after: bytes checked up to the end of the first frame that made the source unhealthy (a change of state: logged, "+
		"probation; not an isolated FIPS block failure). Forwarded before: bytes a receiver forwarded before it "+
		"(a producer that holds its output back until the FIPS block covering it passed releases none of a block that fails). "+
		"rngd: bytes read when its first block fails and when it disables the source (%d failed blocks, one forgiven per %d that pass), "+
		"from a model of rng-tools 5 (fips.c and rngd's failure count, reading 8 bytes before the first block).\n", rngdMaxFailures, rngdOKCredit)
	return nil
}

// run feeds limit bytes of a source, in frames of size bytes, through a
// monitor with configuration cfg.
func run(next func([]byte) error, limit int64, size int, cfg health.Config) result {
	m, err := health.New(cfg)
	if err != nil {
		return result{err: err}
	}
	r := result{refusedAt: -1, caught: -1, first: -1}
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
		if r.refusedAt < 0 {
			r.refusedAt = sent + int64(size)
		}
		if r.caught < 0 && !errors.Is(err, health.ErrBlock) {
			r.caught, r.first, r.by = sent+int64(size), r.fwdBytes, testName(err)
		}
	}
	s := m.Stats()
	r.refused, r.isolated, r.frames = s.Refused, s.Isolated, s.Frames
	return r
}

func testName(err error) string {
	switch {
	case errors.Is(err, health.ErrRepetition):
		return "RCT"
	case errors.Is(err, health.ErrDifference):
		return "RCT on differences"
	case errors.Is(err, health.ErrProportion):
		return "APT"
	case errors.Is(err, health.ErrDuplicate):
		return "duplicate"
	case errors.Is(err, health.ErrFIPS):
		_, tests, _ := strings.Cut(err.Error(), "failed: ")
		tests, _, _ = strings.Cut(tests, " (")
		return "FIPS: " + tests
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
