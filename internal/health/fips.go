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
// bucket (1, 2, 3, 4, 5, 6 or more bits).
type byteRuns struct {
	first, last byte
	lead, trail uint8
	// inner lists the runs counters (bit·6 + bucket) of the inner runs:
	// their number in bits 0-3, then one counter index per 4 bits.
	inner uint32
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
				k := r.inner & 15
				r.inner += 1 | uint32(int(bit(start))*6+min(n, 6)-1)<<(4+4*k)
			}
			if start == 0 && i == 8 {
				r.trail = 8
			}
			start = i
		}
	}
	return t
}()

// maxRun caps the run length a step state remembers: a run of maxRun
// bits or more fails the long-run test, and all such runs fall in the
// same runs bucket.
const maxRun = LongRun

// noRun is the runs counter index of "no run closed".
const noRun = 12

// A step state is bit·(maxRun+1) + min(run, maxRun): the run in progress
// at a byte boundary, of run bits equal to bit (run 0 only at the start of
// a block).
const numStates = 2 * (maxRun + 1)

// stepTable[s][b] is what byte b does to step state s: the new state
// (bits 0-7), the runs counter of up to two runs it closes that touch the
// byte's first bit (bits 8-11 and 12-15, noRun for none; runs wholly
// inside the byte are counted from the histogram at the block's end) and
// whether a closed run was a long run (bit 16).
var stepTable = func() (t [numStates][256]uint32) {
	for s := range numStates {
		bit, run := byte(s/(maxRun+1)), s%(maxRun+1)
		for v := range 256 {
			r := &runTable[v]
			ev := []int{}
			long := uint32(0)
			closeRun := func(bit byte, n int) {
				if n > 0 {
					ev = append(ev, int(bit)*6+min(n, 6)-1)
					if n >= LongRun {
						long = 1
					}
				}
			}
			nb, nr := r.last, int(r.trail)
			switch {
			case r.lead == 8 && r.first == bit:
				nb, nr = bit, run+8
			case r.lead == 8:
				closeRun(bit, run)
			case r.first == bit:
				closeRun(bit, run+int(r.lead))
			default:
				closeRun(bit, run)
				closeRun(r.first, int(r.lead))
			}
			for len(ev) < 2 {
				ev = append(ev, noRun)
			}
			next := int(nb)*(maxRun+1) + min(nr, maxRun)
			t[s][v] = uint32(next) | uint32(ev[0])<<8 | uint32(ev[1])<<12 | long<<16
		}
	}
	return t
}()

// fips is the state of the FIPS 140-2 tests on the block in progress. Its
// zero value starts a block.
type fips struct {
	pos  int         // bytes of the block seen
	hist [256]uint32 // count of each byte value in the block

	// Runs that touch a byte's first bit, counted by bit·6 + bucket
	// (index noRun takes the "none"), the step state and whether a long
	// run has closed.
	runs  [16]uint32
	state uint8
	long  uint32

	// Continuous test: the 32-bit words of the block, little-endian as
	// rngd reads them, each compared with the word before it (which may be
	// in the block before).
	word, last32 uint32
	haveLast     bool
	repeat       bool
}

// reset starts a new block and forgets the last word: after a failure the
// tests start again from nothing.
func (f *fips) reset() {
	f.pos, f.state, f.long, f.repeat, f.haveLast = 0, 0, 0, false, false
	clear(f.hist[:])
	clear(f.runs[:])
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
	state, long, pos, word := f.state, f.long, f.pos, f.word
	last32, haveLast, repeat := f.last32, f.haveLast, f.repeat
	runs := &f.runs
	hist := &f.hist
	for _, b := range data {
		hist[b]++
		e := stepTable[state%numStates][b]
		state = uint8(e)
		runs[e>>8&15]++
		runs[e>>12&15]++
		long |= e >> 16
		word = word>>8 | uint32(b)<<24
		pos++
		if pos&3 == 0 {
			repeat = repeat || haveLast && word == last32
			last32, haveLast = word, true
		}
	}
	f.state, f.long, f.pos, f.word = state, long, pos, word
	f.last32, f.haveLast, f.repeat = last32, haveLast, repeat

}

// finish judges the complete block, starts the next one and returns the
// mask of the tests the block failed.
func (f *fips) finish() int {
	runs := f.runs
	// The run in progress ends with the block.
	if bit, run := int(f.state/(maxRun+1)), int(f.state%(maxRun+1)); run > 0 {
		runs[bit*6+min(run, 6)-1]++
		if run >= LongRun {
			f.long = 1
		}
	}
	var ones int
	var nibbles [16]uint32
	for v, c := range f.hist {
		if c == 0 {
			continue
		}
		ones += int(c) * bits.OnesCount8(uint8(v))
		nibbles[v>>4] += c
		nibbles[v&15] += c
		in := runTable[v].inner
		for n := in & 15; n > 0; n-- {
			in >>= 4
			runs[in&15] += c
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
	for i, c := range runs[:noRun] {
		if c < runsBounds[i%6][0] || c > runsBounds[i%6][1] {
			mask |= fipsRuns
		}
	}
	if f.long != 0 {
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
