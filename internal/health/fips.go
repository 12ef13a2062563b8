package health

import (
	"math/bits"
	"strings"
)

// BlockSize is the length, in bytes, of the blocks the FIPS 140-2 tests
// judge: 20,000 bits, as FIPS 140-2 (change notice of 2001-10-10) and rngd
// run them.
const BlockSize = 2500

// FIPS 140-2 pass intervals on one block of 20,000 bits, the values
// rng-tools 5's fips.c uses. A block passes a test when its statistic lies
// strictly inside the interval.
const (
	// monobitLo and monobitHi bound the count of ones: 9725 < ones < 10275.
	monobitLo, monobitHi = 9725, 10275
	// pokerLo and pokerHi bound the sum of the squared counts of the 5000
	// nibbles' 16 values: 2.16 < 16/5000·sum - 5000 < 46.17 is
	// 1563176 <= sum <= 1576928 (the interval rngd tests).
	pokerLo, pokerHi = 1563176, 1576928
	// LongRun is the length of a run of equal bits, in bits, that fails
	// a block: 26, as in FIPS 140-2 (FIPS 140-1 had 34) and in rngd.
	LongRun = 26
)

// runsBounds are the FIPS 140-2 intervals, inclusive, for the number of
// runs of zeros and of ones of length 1, 2, 3, 4, 5 and 6 or more bits.
var runsBounds = [6][2]uint32{{2315, 2685}, {1114, 1386}, {527, 723}, {240, 384}, {103, 209}, {103, 209}}

// FIPS 140-2 tests, as bits of a mask.
const (
	fipsMonobit = 1 << iota
	fipsPoker
	fipsRuns
	fipsLongRun
	fipsContinuous
	numFIPSMasks = 1 << iota
)

var fipsNames = [...]string{"monobit", "poker", "runs", "long run", "continuous"}

// fipsMessage returns the names of the tests in mask, for errors.
func fipsMessage(mask int) string {
	var names []string
	for i, n := range fipsNames {
		if mask&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// byteRuns describes the bits of a byte, most significant first (the
// order rngd reads them): the first and last bit, the lengths of its
// leading and trailing runs (8 and 8 for 0x00 and 0xFF), and the runs that
// lie wholly inside it, touching neither end, counted by bit and length
// bucket as [fips.runs] counts them.
type byteRuns struct {
	first, last byte
	lead, trail uint8
	inner       [2][6]uint8
}

var runTable = func() (t [256]byteRuns) {
	for v := range 256 {
		r := &t[v]
		bit := func(i int) byte { return byte(v>>(7-i)) & 1 } // i = 0 is the MSB
		r.first, r.last = bit(0), bit(7)
		start := 0
		for i := 1; i <= 8; i++ {
			if i < 8 && bit(i) == bit(start) {
				continue
			}
			n := i - start
			switch {
			case start == 0:
				r.lead = uint8(n)
			case i == 8:
				r.trail = uint8(n)
			default:
				r.inner[bit(start)][min(n, 6)-1]++
			}
			if start == 0 && i == 8 {
				r.trail = 8
			}
			start = i
		}
	}
	return t
}()

// fips is the state of the FIPS 140-2 tests on the block in progress. Its
// zero value starts a block.
type fips struct {
	pos  int         // bytes of the block seen
	hist [256]uint32 // count of each byte value in the block

	// Runs that cross a byte boundary, or start or end one: the run in
	// progress has run bits equal to bit.
	bit     byte
	run     int
	runs    [2][6]uint32
	longRun bool

	// Continuous test: the 32-bit words of the block, little-endian as
	// rngd reads them, each compared with the word before it (which may be
	// in the block before).
	word, last32 uint32
	haveLast     bool
	repeat       bool
}

// closeRun counts a finished run of n bits equal to bit.
func (f *fips) closeRun(bit byte, n int) {
	if n == 0 {
		return
	}
	f.runs[bit][min(n, 6)-1]++
	if n >= LongRun {
		f.longRun = true
	}
}

// reset starts a new block and forgets the last word: after a failure the
// tests start again from nothing.
func (f *fips) reset() {
	f.pos, f.run, f.bit, f.longRun, f.repeat, f.haveLast = 0, 0, 0, false, false, false
	clear(f.hist[:])
	f.runs = [2][6]uint32{}
}

// feed runs data through the tests. If a block ends in data and fails, it
// returns the number of bytes of data consumed, up to and including the
// block's last byte, and the mask of the tests it failed; otherwise
// len(data) and 0.
func (f *fips) feed(data []byte) (int, int) {
	for i := 0; i < len(data); {
		n := min(len(data)-i, BlockSize-f.pos)
		f.bytes(data[i : i+n])
		i += n
		if f.pos == BlockSize {
			if mask := f.finish(); mask != 0 {
				return i, mask
			}
		}
	}
	return len(data), 0
}

// bytes runs the bytes of data, which do not complete more than the block
// in progress, through the tests.
func (f *fips) bytes(data []byte) {
	bit, run, pos, word := f.bit, f.run, f.pos, f.word
	for _, b := range data {
		f.hist[b]++
		word = word>>8 | uint32(b)<<24
		pos++
		if pos&3 == 0 {
			if f.haveLast && word == f.last32 {
				f.repeat = true
			}
			f.last32, f.haveLast = word, true
		}
		t := &runTable[b]
		if t.lead == 8 {
			if t.first == bit {
				run += 8
			} else {
				f.closeRun(bit, run)
				bit, run = t.first, 8
			}
			continue
		}
		if t.first == bit {
			f.closeRun(bit, run+int(t.lead))
		} else {
			f.closeRun(bit, run)
			f.closeRun(t.first, int(t.lead))
		}
		bit, run = t.last, int(t.trail)
	}
	f.bit, f.run, f.pos, f.word = bit, run, pos, word
}

// finish judges the complete block, starts the next one and returns the
// mask of the tests the block failed.
func (f *fips) finish() int {
	f.closeRun(f.bit, f.run)
	var ones int
	var nibbles [16]uint32
	for v, c := range f.hist {
		if c == 0 {
			continue
		}
		ones += int(c) * bits.OnesCount8(uint8(v))
		nibbles[v>>4] += c
		nibbles[v&15] += c
		in := &runTable[v].inner
		for b := range in {
			for k, r := range in[b] {
				f.runs[b][k] += c * uint32(r)
			}
		}
	}
	mask := 0
	if ones <= monobitLo || ones >= monobitHi {
		mask |= fipsMonobit
	}
	var sum uint64
	for _, c := range nibbles {
		sum += uint64(c) * uint64(c)
	}
	if sum < pokerLo || sum > pokerHi {
		mask |= fipsPoker
	}
	for b := range f.runs {
		for k, c := range f.runs[b] {
			if c < runsBounds[k][0] || c > runsBounds[k][1] {
				mask |= fipsRuns
			}
		}
	}
	if f.longRun {
		mask |= fipsLongRun
	}
	if f.repeat {
		mask |= fipsContinuous
	}
	last32, haveLast := f.last32, f.haveLast
	f.reset()
	f.last32, f.haveLast = last32, haveLast
	return mask
}
