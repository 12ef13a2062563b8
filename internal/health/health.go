// Package health runs continuous health tests on a stream of entropy
// bytes: on a receiver, the bytes it gets from one producer, after the
// frame's signature has verified and before any byte reaches a sink (a
// signature says who sent the bytes, not whether they are any good); on a
// producer, the bytes of its input source, before any is signed or sealed.
//
// A [Monitor] holds one producer's state. Each byte of a frame's data is a
// sample (8 bits) of the stream the tests see, which is the concatenation
// of the payloads passed to [Monitor.Check], in call order. Five tests
// run:
//
//   - The Repetition Count Test of NIST SP 800-90B §4.4.1: a frame fails
//     if it holds the byte at which some byte value has occurred RCT times
//     in a row, a run that may start in earlier frames.
//   - The same test on the differences between consecutive bytes (mod
//     256): a frame fails if it holds the byte at which some difference
//     has occurred RCT times in a row, that is RCT+1 bytes in arithmetic
//     progression. It catches a counter of any step and period (a counter
//     mod 251 passes every other test here, and rngd's). The differences
//     of independent bytes of min-entropy H have min-entropy H and the
//     same bound on runs, so the cutoff and alpha are the RCT's.
//   - The Adaptive Proportion Test of SP 800-90B §4.4.2: the stream is cut
//     into windows of W bytes (a window may span frames); a frame fails if
//     it holds the byte at which the first byte value of a window has
//     occurred APT times in that window.
//   - A duplicate check: a frame fails if its data is the same as that of
//     one of the last Recent frames checked (default 64). It catches a
//     producer that sends the same output again under new sequence
//     numbers, from a stuck buffer or a restored snapshot; replayed
//     frames are package replay's job. Only data of at least
//     [MinDuplicateSize] bytes is compared and remembered: shorter data can
//     repeat by chance, 16 uniform bytes cannot (a chance repeat has
//     probability Recent × 2^-128). Data is compared by a 64-bit
//     hash/maphash hash under a seed drawn for each Monitor, not byte by
//     byte: the state is 8 bytes per frame remembered, two different
//     payloads pass for equal with probability Recent × 2^-64 per frame
//     (2^-58 with the defaults, far below alpha), and nobody who does not
//     know the seed can make them do so on purpose. A frame that fails the
//     duplicate check is not remembered again.
//   - The FIPS 140-2 statistical tests, as rngd (rng-tools 5) runs them:
//     the stream is cut into blocks of [BlockSize] bytes (20,000 bits,
//     most significant bit of each byte first; a block may span frames),
//     and a frame fails if it holds the last byte of a block that fails
//     the monobit test (9725 < ones < 10275), the poker test on 4-bit
//     nibbles (2.16 < X < 46.17), the runs test (the six FIPS 140-2
//     intervals for runs of zeros and of ones of length 1 to 6 or more),
//     the long-run test (no run of [LongRun] = 26 equal bits; FIPS 140-1
//     had 34) or the continuous test rngd adds (no 32-bit word equal to the
//     one before it). They catch what the SP 800-90B tests at alpha 2^-40
//     miss, a mild bias (P(1) = 0.55) or a stuck bit, but at rngd's own
//     false-alarm rate: on full-entropy bytes about one block in 1,270
//     fails one of them (measured by bench/health, see docs/research.md
//     Q3). So a failing block on its own is noise, not news: its frame is
//     refused, and nothing else changes (see Isolated block failures).
//     [Config].NoFIPS turns them off.
//
// The cutoffs RCT and APT follow SP 800-90B from the assessed min-entropy
// H of a byte and the false-alarm probability alpha; see [Cutoffs].
//
// A frame is judged as a whole before it is forwarded: if any of its
// bytes trips a test, the whole frame is refused.
//
// # Blocks that span frames
//
// A FIPS block judges bytes of earlier frames too, and those may already
// have been passed on when the block fails. The two sides handle this
// differently:
//
//   - A receiver forwards a frame once it passes: when a block fails, the
//     frame holding its last byte is refused (and, if the block trips a
//     failure-rate rule, the producer is put on probation as for any
//     other failure), but up to BlockSize-1 bytes of
//     the failing block, in earlier frames, have been forwarded. That is
//     the price of not delaying every frame by up to 2,500 bytes; the
//     producer is expected to test its own source (next item).
//   - A producer holds its output back until the block that covers it has
//     passed: after [Monitor.Check] returns nil, all but the last
//     [Monitor.Pending] bytes checked are covered by blocks that passed
//     and may be released; the last Pending bytes wait for the next Check.
//     When Check returns an error, the producer drops everything it holds
//     back and the data of that call. So no byte of a failing block
//     leaves the producer.
//
// # Isolated block failures
//
// A failing FIPS block is either isolated or trips one of two
// failure-rate rules, each set so that full-entropy data trips it with
// probability at most alpha per block, taking [RateFalseAlarm] (2^-9,
// more than twice the rate measured) as the chance a good block fails:
//
//   - the count rule: R or more of the last [RateBlocks] (256) blocks
//     failed, R the smallest count with P(Binomial(256, RateFalseAlarm)
//     >= R) <= alpha (12 with the defaults), which catches a source that
//     fails blocks often (a bias of P(1) = 0.51 fails about one in six)
//     as rngd disables it after 25;
//   - the run rule: the last K blocks all failed, K the smallest count
//     with RateFalseAlarm^K <= alpha (5 with the defaults), which catches
//     a source that fails every block (a bias of P(1) = 0.55, a stuck bit)
//     at its 5th block, 12,500 bytes.
//
// A block that trips neither is isolated: the frame holding its last
// byte is refused with an error wrapping [ErrBlock] and ErrFIPS, the rest
// of that frame is dropped with it untested, the next block starts with
// the next frame, and that is all: the producer is not put on probation
// (if it already is, its count of passing bytes starts again from 0),
// [Monitor.Failed] does not change and [Stats].Failures does not count it
// (Stats.Isolated does). The SP 800-90B tests, the RCT on differences and
// the duplicate check keep their state: they passed every byte of the
// frame.
//
// # Recovery
//
// A frame that fails a test (other than an isolated FIPS block failure)
// is refused with an error wrapping [ErrRepetition], [ErrDifference],
// [ErrProportion], [ErrDuplicate] or [ErrFIPS], and puts the producer on
// probation ([Monitor.Failed] reports true): a change of state, which a
// full-entropy source makes with probability at most about alpha per
// byte, window or block. The sample tests then start again from nothing: the next
// byte checked starts a new run, a new window and a new FIPS block (the
// rest of the failing frame is not tested). Every frame checked on
// probation is run through all the tests as usual but is refused even if
// it passes, with an error wrapping [ErrFailed] and the cause of the last
// failure. Once the frames that passed since the last failure add up to
// at least Recovery bytes (default 4 windows, 2048 bytes) and, after a
// FIPS failure, to at least BlockSize bytes (so that a whole FIPS block
// has passed since), the producer recovers: the frame that completes the
// count is still refused, and the next frame is forwarded if it passes.
// With the FIPS tests on, recovery also waits until neither failure-rate
// rule holds: fewer than R of the last 256 blocks failed and the last
// block passed. So a source that fails blocks often stays refused once
// it has tripped a rule, and a source that heals is forwarded again once
// its failures have left the last 256 blocks. A frame that fails on
// probation is refused with its own error and starts the count again
// from 0. The test state is not reset on recovery: the probation bytes
// were tested like any others.
//
// So a source that is stuck, repeats its output, counts or fails FIPS
// blocks often stays refused; a false alarm (on full-entropy bytes: at
// most alpha per byte for the RCT and the RCT on differences, a few times
// alpha per window for the APT, see [Cutoffs], at most alpha per block
// for each failure-rate rule) costs a probation; a failing FIPS block of
// a good source (about one in 1,270) costs its frame and nothing else;
// and a bad source that passes probation by chance is forwarded only
// until the tests catch it again.
//
// The tests catch broken sources only: a stuck, constant, biased or
// counting source. A deterministic stream such as a cipher's keystream
// passes them, and so does a bias too slight to fail blocks often.
package health

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
)

// MinDuplicateSize is the length, in bytes, below which data is left out
// of the duplicate check: 16 bytes (128 bits) of entropy do not repeat by
// chance.
const MinDuplicateSize = 16

// Defaults for [Config].
const (
	// DefaultMinEntropy is the min-entropy of a byte from a producer that
	// sends full-entropy bytes, in bits.
	DefaultMinEntropy = 8
	// DefaultWindow is the APT window SP 800-90B §4.4.2 sets for
	// non-binary samples, in bytes.
	DefaultWindow = 512
	// DefaultRecent is how many payloads the duplicate check remembers.
	DefaultRecent = 64
	// DefaultRecoveryWindows is the default probation, in APT windows.
	DefaultRecoveryWindows = 4
	// DefaultAlpha is the default false-alarm probability of each test,
	// 2^-40, the value SP 800-90B recommends.
	DefaultAlpha = 0x1p-40
)

// The FIPS failure-rate rule: a source that fails FIPS blocks far more
// often than a good one, but not every block (P(1) = 0.51 fails about one
// in six), would otherwise be forwarded between its failures.
const (
	// RateBlocks is how many of the last FIPS blocks (640,000 bytes) a
	// Monitor remembers the verdicts of, a multiple of 64.
	RateBlocks = 256
	// RateFalseAlarm is the probability a full-entropy block is taken to
	// fail the FIPS tests with: 2^-9, more than twice the rate measured
	// (one block in 1,267 to 1,338, about 2^-10.3, in three runs on 1 GiB
	// of crypto/rand data, bench/health), so that the false-alarm bounds
	// of both failure-rate rules (the count of the last RateBlocks, and
	// the run of failing blocks; see Isolated block failures in the
	// package doc) hold.
	RateFalseAlarm = 0x1p-9
)

// Limits on [Config].
const (
	// MaxAlpha is the largest false-alarm probability allowed, 2^-8; it
	// keeps the APT cutoff above 1 for every window.
	MaxAlpha = 1.0 / 256
	// MinWindow and MaxWindow bound the APT window, in bytes.
	MinWindow, MaxWindow = 2, 1 << 16
	// MaxRecent bounds how many payloads the duplicate check remembers
	// (each frame is compared with all of them).
	MaxRecent = 1024
)

// Errors returned by [Monitor.Check], one per test, and [ErrFailed] for a
// frame refused on probation; test them with errors.Is.
var (
	ErrRepetition = errors.New("health: repetition count test failed")
	ErrDifference = errors.New("health: repetition count test on differences failed")
	ErrProportion = errors.New("health: adaptive proportion test failed")
	ErrDuplicate  = errors.New("health: data repeats a recent frame")
	ErrFIPS       = errors.New("health: FIPS 140-2 test failed")
	ErrFailed     = errors.New("health: producer on probation after a failed test")
	// ErrBlock marks a frame refused because it holds the last byte of a
	// failing FIPS 140-2 block that trips neither failure-rate rule: the
	// chance failure of a good source (about one block in 1,270), not a
	// change of the producer's state. The error wraps ErrFIPS too.
	ErrBlock = errors.New("health: an isolated FIPS 140-2 block failure")
)

// Config sets a [Monitor]'s tests. The zero value of each field means its
// default.
type Config struct {
	// Alpha is the false-alarm probability of each test, in (0, MaxAlpha]:
	// the probability that a byte of a full-entropy stream trips the RCT,
	// and the bound SP 800-90B puts on a window tripping the APT. 0 means
	// DefaultAlpha (2^-40).
	Alpha float64
	// MinEntropy is the assessed min-entropy of one byte, in bits, in
	// (0, 8]. 0 means DefaultMinEntropy (8).
	MinEntropy float64
	// Window is the APT window, in bytes, in [MinWindow, MaxWindow]. 0
	// means DefaultWindow (512).
	Window int
	// Recent is how many recent payloads the duplicate check remembers, up
	// to MaxRecent. 0 means DefaultRecent (64); a negative value turns the
	// duplicate check off.
	Recent int
	// Recovery is how many bytes of consecutive passing frames end a
	// probation. 0 means DefaultRecoveryWindows × Window (2048). A
	// probation after a FIPS failure lasts at least BlockSize bytes
	// whatever Recovery says.
	Recovery int
	// NoFIPS turns the FIPS 140-2 tests off.
	NoFIPS bool
}

// Stats counts what a [Monitor] has checked.
type Stats struct {
	Frames     uint64 // calls to Check
	Bytes      uint64 // bytes run through the RCT and APT
	Refused    uint64 // frames refused: those that failed a test and those checked on probation
	Repetition uint64 // frames that failed the RCT
	Difference uint64 // frames that failed the RCT on differences
	Proportion uint64 // frames that failed the APT
	Duplicate  uint64 // frames that failed the duplicate check
	FIPS       uint64 // frames that failed a FIPS 140-2 test and tripped a failure-rate rule
	Isolated   uint64 // frames refused for an isolated FIPS 140-2 block failure ([ErrBlock])
	Recoveries uint64 // probations completed

	// FIPS 140-2 blocks judged, and how many of them failed each test (a
	// block may fail several).
	Blocks, Monobit, Poker, Runs, LongRun, Continuous uint64
}

// Failures returns how many frames failed a test and changed the
// producer's state (or restarted its probation), of any kind: all but the
// isolated FIPS block failures.
func (s Stats) Failures() uint64 {
	return s.Repetition + s.Difference + s.Proportion + s.Duplicate + s.FIPS
}

// kind names a test.
type kind int

const (
	pass kind = iota
	repetition
	difference
	proportion
	duplicate
	fipsKind // the mask of the tests is in Monitor.fipsMask
	numKinds
)

// Monitor is the health state of one producer. Make one with [New]; the
// zero value is not usable. A Monitor is not safe for concurrent use: the
// receive path keeps one per producer key and calls it from one goroutine
// at a time.
type Monitor struct {
	rctCut, aptCut, window int
	recovery               uint64

	// RCT: the current run of byte rctVal, rctRun long (0 after a reset).
	rctVal byte
	rctRun int
	// RCT on differences: the last byte, and the current run of the
	// difference difVal, difRun long (0 after a reset; 1 after the first
	// byte, which has no difference yet).
	last   byte
	difVal byte
	difRun int
	// APT: aptPos bytes of the current window seen, aptCount of them equal
	// to its first byte aptVal.
	aptVal   byte
	aptCount int
	aptPos   int

	// Duplicate check: a ring of the hashes of the last payloads.
	seed   maphash.Seed
	recent []uint64
	filled int // slots of recent in use
	next   int // slot the next hash goes to

	// FIPS 140-2 tests, nil if off.
	fips     *fips
	fipsMask int // tests the last failing block failed
	// The failure-rate rule: the verdicts of the last RateBlocks blocks, 1
	// for a failure, in a ring whose next slot is ratePos; rateN of them
	// are failures.
	rate    [RateBlocks / 64]uint64
	ratePos int
	rateN   int
	rateCut int
	// The run rule: the last runN blocks failed, in a row; runCut of them
	// trip it.
	runN, runCut int

	failed bool
	cause  kind   // of the last failure
	passed uint64 // bytes passed on probation since the last failure

	fipsRecovery uint64 // probation after a FIPS failure: at least a block

	fail      [numKinds]error // returned by the failing frame
	probation [numKinds]error // returned on probation, by cause
	// For cause fipsKind, by rule (0 the count of RateBlocks, 1 the run)
	// and mask; fipsBlock for an isolated failure, by mask.
	fipsRule      int
	fipsFail      [2][numFIPSMasks]error
	fipsProbation [2][numFIPSMasks]error
	fipsBlock     [numFIPSMasks]error
	stats         Stats
}

// New returns a Monitor with the tests cfg sets, or an error if cfg is out
// of range. It computes the cutoffs with [Cutoffs], which takes a fraction
// of a millisecond for the default window.
func New(cfg Config) (*Monitor, error) {
	if cfg.Alpha == 0 {
		cfg.Alpha = DefaultAlpha
	}
	if cfg.MinEntropy == 0 {
		cfg.MinEntropy = DefaultMinEntropy
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Recent == 0 {
		cfg.Recent = DefaultRecent
	}
	if cfg.Recovery == 0 {
		cfg.Recovery = DefaultRecoveryWindows * cfg.Window
	}
	rct, apt, err := Cutoffs(cfg.MinEntropy, cfg.Alpha, cfg.Window)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Recent > MaxRecent:
		return nil, fmt.Errorf("health: %d recent payloads: want at most %d", cfg.Recent, MaxRecent)
	case cfg.Recovery < 0:
		return nil, fmt.Errorf("health: recovery of %d bytes: want 0 or more", cfg.Recovery)
	}
	m := &Monitor{
		rctCut: rct, aptCut: apt, window: cfg.Window, recovery: uint64(cfg.Recovery),
		seed: maphash.MakeSeed(),
	}
	if cfg.Recent > 0 {
		m.recent = make([]uint64, cfg.Recent)
	}
	if !cfg.NoFIPS {
		m.fips = new(fips)
		m.fipsRecovery = max(m.recovery, BlockSize)
		m.rateCut = binomialCutoff(RateBlocks, RateFalseAlarm, cfg.Alpha)
		m.runCut = runCutoff(RateFalseAlarm, cfg.Alpha)
		rules := [2]string{
			fmt.Sprintf("%d of the last %d blocks failed", m.rateCut, RateBlocks),
			fmt.Sprintf("%d blocks in a row failed", m.runCut),
		}
		for mask := 1; mask < numFIPSMasks; mask++ {
			what := fmt.Sprintf("%s (block of %d bytes", fipsMessage(mask), BlockSize)
			for r, rule := range rules {
				m.fipsFail[r][mask] = fmt.Errorf("%w: %s; %s)", ErrFIPS, what, rule)
				msg := ErrFailed.Error() + ": " + strings.TrimPrefix(m.fipsFail[r][mask].Error(), "health: ")
				m.fipsProbation[r][mask] = &probationError{msg: msg, cause: m.fipsFail[r][mask]}
			}
			m.fipsBlock[mask] = &blockError{msg: fmt.Sprintf("%s: %s; isolated, as in a good source)", ErrFIPS, what)}
		}
	}
	m.fail[repetition] = fmt.Errorf("%w: a byte value %d times in a row", ErrRepetition, rct)
	m.fail[difference] = fmt.Errorf("%w: a difference between bytes %d times in a row", ErrDifference, rct)
	m.fail[proportion] = fmt.Errorf("%w: a byte value %d times in a window of %d", ErrProportion, apt, cfg.Window)
	m.fail[duplicate] = fmt.Errorf("%w (one of the last %d)", ErrDuplicate, cfg.Recent)
	for k := repetition; k < fipsKind; k++ {
		msg := ErrFailed.Error() + ": " + strings.TrimPrefix(m.fail[k].Error(), "health: ")
		m.probation[k] = &probationError{msg: msg, cause: m.fail[k]}
	}
	return m, nil
}

// probationError is the error of a frame refused on probation.
type probationError struct {
	msg   string
	cause error
}

func (e *probationError) Error() string { return e.msg }

func (e *probationError) Unwrap() []error { return []error{ErrFailed, e.cause} }

// blockError is the error of a frame refused for an isolated FIPS block
// failure.
type blockError struct{ msg string }

func (e *blockError) Error() string { return e.msg }

func (e *blockError) Unwrap() []error { return []error{ErrBlock, ErrFIPS} }

// runCutoff returns the smallest k with p^k <= alpha: how many failing
// blocks in a row, each failing with probability p on good data, make a
// false alarm no likelier than alpha.
func runCutoff(p, alpha float64) int {
	k := 1
	for q := p; q > alpha; q *= p {
		k++
	}
	return k
}

// Check runs the tests on data, the entropy bytes of one verified frame of
// the producer, and returns nil if data may be forwarded. Otherwise it
// returns an error wrapping [ErrBlock] (and [ErrFIPS]) for a frame
// refused for an isolated FIPS block failure, which changes nothing else
// (see Isolated block failures in the package doc); an error wrapping
// [ErrRepetition], [ErrDifference], [ErrProportion], [ErrDuplicate] or
// [ErrFIPS] for a frame that fails a test and puts the producer on
// probation; or one wrapping [ErrFailed] and the cause of the last
// failure for a frame refused on probation (see Recovery). Any error
// but ErrBlock says the producer is unhealthy (on probation) at this
// frame; ErrBlock leaves its state as it was. Check keeps no reference
// to data.
func (m *Monitor) Check(data []byte) error {
	m.stats.Frames++
	k := m.test(data)
	if k == fipsKind {
		switch {
		case m.rateN >= m.rateCut:
			m.fipsRule = 0
		case m.runN >= m.runCut:
			m.fipsRule = 1
		default:
			// An isolated failure: the frame is refused, nothing else
			// changes. The bytes after the block, in data, are dropped
			// with it, so the next block starts afresh.
			m.stats.Refused++
			m.stats.Isolated++
			m.fips.reset()
			if m.failed {
				m.passed = 0
			}
			return m.fipsBlock[m.fipsMask]
		}
	}
	if k != pass {
		m.stats.Refused++
		m.failed, m.cause, m.passed = true, k, 0
		m.rctRun, m.difRun, m.aptPos = 0, 0, 0
		if m.fips != nil {
			m.fips.reset()
		}
		switch k {
		case repetition:
			m.stats.Repetition++
		case difference:
			m.stats.Difference++
		case proportion:
			m.stats.Proportion++
		case duplicate:
			m.stats.Duplicate++
		case fipsKind:
			m.stats.FIPS++
			return m.fipsFail[m.fipsRule][m.fipsMask]
		}
		return m.fail[k]
	}
	if !m.failed {
		return nil
	}
	m.stats.Refused++
	m.passed += uint64(len(data))
	need := m.recovery
	if m.cause == fipsKind {
		need = m.fipsRecovery
	}
	if m.passed >= need && (m.fips == nil || m.rateN < m.rateCut && m.runN < m.runCut) {
		m.failed = false
		m.stats.Recoveries++
	}
	if m.cause == fipsKind {
		return m.fipsProbation[m.fipsRule][m.fipsMask]
	}
	return m.probation[m.cause]
}

// test runs the tests on data and returns the first that fails, or
// pass.
func (m *Monitor) test(data []byte) kind {
	if m.recent != nil && len(data) >= MinDuplicateSize {
		h := maphash.Bytes(m.seed, data)
		for _, r := range m.recent[:m.filled] {
			if r == h {
				return duplicate
			}
		}
		m.recent[m.next] = h
		m.next++
		if m.next == len(m.recent) {
			m.next = 0
		}
		if m.filled < len(m.recent) {
			m.filled++
		}
	}

	rv, rn, rc := m.rctVal, m.rctRun, m.rctCut
	lb, dv, dn := m.last, m.difVal, m.difRun
	av, an, ap, ac, w := m.aptVal, m.aptCount, m.aptPos, m.aptCut, m.window
	for i, b := range data {
		if b == rv {
			rn++
			if rn >= rc {
				m.stats.Bytes += uint64(i + 1)
				return repetition
			}
		} else {
			rv, rn = b, 1
		}
		switch d := b - lb; {
		case dn == 0:
			dn = 1 // the first byte: no difference yet
		case dn > 1 && d == dv:
			dn++
			if dn > rc {
				m.stats.Bytes += uint64(i + 1)
				return difference
			}
		default:
			dv, dn = d, 2
		}
		lb = b
		if ap == 0 {
			av, an = b, 1
		} else if b == av {
			an++
			if an >= ac {
				m.stats.Bytes += uint64(i + 1)
				return proportion
			}
		}
		ap++
		if ap == w {
			ap = 0
		}
	}
	m.rctVal, m.rctRun = rv, rn
	m.last, m.difVal, m.difRun = lb, dv, dn
	m.aptVal, m.aptCount, m.aptPos = av, an, ap
	m.stats.Bytes += uint64(len(data))
	if m.fips != nil {
		before := m.fips.pos
		n, mask := m.fips.feed(data)
		blocks := uint64(before+n) / BlockSize
		m.stats.Blocks += blocks
		if mask != 0 {
			blocks--
		}
		for range min(blocks, RateBlocks) {
			m.verdict(false)
		}
		if mask != 0 {
			m.verdict(true)
			m.fipsMask = mask
			s := &m.stats
			for i, c := range [...]*uint64{&s.Monobit, &s.Poker, &s.Runs, &s.LongRun, &s.Continuous} {
				if mask&(1<<i) != 0 {
					*c++
				}
			}
			return fipsKind
		}
	}
	return pass
}

// verdict records a FIPS block's verdict for the failure-rate rule.
func (m *Monitor) verdict(fail bool) {
	w, b := m.ratePos/64, uint(m.ratePos%64)
	if m.rate[w]>>b&1 == 1 {
		m.rateN--
	}
	m.rate[w] &^= 1 << b
	if fail {
		m.rate[w] |= 1 << b
		m.rateN++
		m.runN++
	} else {
		m.runN = 0
	}
	if m.ratePos++; m.ratePos == RateBlocks {
		m.ratePos = 0
	}
}

// Pending returns how many of the last bytes checked lie in a FIPS block
// that has not yet been judged: a producer that holds its output back
// until the block covering it passed releases all but these (see the
// package doc). It is 0 with the FIPS tests off.
func (m *Monitor) Pending() int {
	if m.fips == nil {
		return 0
	}
	return m.fips.pos
}

// Failed reports whether the producer is on probation: whether the next
// frame will be refused whatever it holds.
func (m *Monitor) Failed() bool { return m.failed }

// Stats returns the counts so far.
func (m *Monitor) Stats() Stats { return m.stats }

// Cutoffs returns the cutoffs of the two SP 800-90B tests for bytes of
// min-entropy minEntropy bits, a false-alarm probability alpha and an APT
// window of window bytes:
//
//	rct = 1 + ceil(-log2(alpha) / H)          (§4.4.1)
//	apt = 1 + CRITBINOM(W, 2^-H, 1 - alpha)   (§4.4.2)
//
// where CRITBINOM(n, p, a) is the smallest k with P(X <= k) >= a for X
// binomial with n trials of probability p; so apt is the smallest c with
// P(X >= c) <= alpha for X ~ Binomial(W, 2^-H). The tail is summed exactly
// enough (256-bit floats) that the cutoff is never off by one from
// rounding. The RCT quotient is rounded up with a tolerance of 1e-9, so
// that a quotient that is a whole number in exact arithmetic (such as
// 36/7.2) is not pushed to the next one by float rounding.
//
// A test fails when its count reaches the cutoff. The APT counts the
// first byte of a window too, so on full-entropy bytes a window trips it
// with probability P(Y >= apt-1) for Y ~ Binomial(W-1, 2^-H), a few times
// alpha (2^-37.6, about 5 alpha, with the defaults): the formula is the
// standard's, kept as written.
//
// With the defaults (H = 8, alpha = 2^-40, W = 512), rct is 6 and apt is
// 19. Cutoffs returns an error if H is not in (0, 8], alpha not in
// (0, MaxAlpha] or window not in [MinWindow, MaxWindow].
func Cutoffs(minEntropy, alpha float64, window int) (rct, apt int, err error) {
	switch {
	case !(minEntropy > 0 && minEntropy <= 8):
		return 0, 0, fmt.Errorf("health: min-entropy %v: want (0, 8] bits per byte", minEntropy)
	case !(alpha > 0 && alpha <= MaxAlpha):
		return 0, 0, fmt.Errorf("health: alpha %v: want (0, %v]", alpha, MaxAlpha)
	case window < MinWindow || window > MaxWindow:
		return 0, 0, fmt.Errorf("health: window of %d bytes: want %d to %d", window, MinWindow, MaxWindow)
	}
	rct = 1 + int(math.Ceil(-math.Log2(alpha)/minEntropy-1e-9))
	apt = binomialCutoff(window, math.Exp2(-minEntropy), alpha)
	return rct, apt, nil
}
