package health

import (
	"math/rand/v2"
	"testing"
)

// refBlock judges one 20,000-bit block the way FIPS 140-2 describes the
// tests, bit by bit, independently of the tables fips uses; prev is the
// last 32-bit word of the block before, if any.
func refBlock(block []byte, prev *uint32) int {
	bitAt := func(i int) int { return int(block[i/8]>>(7-i%8)) & 1 }
	mask := 0
	ones := 0
	for i := range 8 * BlockSize {
		ones += bitAt(i)
	}
	if !(ones > 9725 && ones < 10275) {
		mask |= fipsMonobit
	}
	var f [16]int
	for _, b := range block {
		f[b>>4]++
		f[b&15]++
	}
	x := 0.0
	for _, c := range f {
		x += float64(c * c)
	}
	x = 16.0/5000*x - 5000
	if !(x >= 16.0/5000*1563176-5000 && x <= 16.0/5000*1576928-5000) {
		mask |= fipsPoker
	}
	var runs [2][7]int
	long := false
	for i := 0; i < 8*BlockSize; {
		j := i
		for j < 8*BlockSize && bitAt(j) == bitAt(i) {
			j++
		}
		runs[bitAt(i)][min(j-i, 6)]++
		if j-i >= 26 {
			long = true
		}
		i = j
	}
	lo := []int{0, 2315, 1114, 527, 240, 103, 103}
	hi := []int{0, 2685, 1386, 723, 384, 209, 209}
	for b := range runs {
		for n := 1; n <= 6; n++ {
			if runs[b][n] < lo[n] || runs[b][n] > hi[n] {
				mask |= fipsRuns
			}
		}
	}
	if long {
		mask |= fipsLongRun
	}
	for i := 0; i < BlockSize; i += 4 {
		w := uint32(block[i]) | uint32(block[i+1])<<8 | uint32(block[i+2])<<16 | uint32(block[i+3])<<24
		if prev != nil && w == *prev {
			mask |= fipsContinuous
		}
		if prev == nil {
			prev = new(uint32)
		}
		*prev = w
	}
	return mask
}

// biasedBlock returns a block of bits that are 1 with probability p.
func biasedBlock(r *rand.Rand, p float64) []byte {
	b := make([]byte, BlockSize)
	for i := range b {
		for j := range 8 {
			if r.Float64() < p {
				b[i] |= 1 << j
			}
		}
	}
	return b
}

// TestFIPSReference feeds blocks of sources near and far from the
// thresholds, in chunks of odd sizes, and compares each block's verdict
// with refBlock's.
func TestFIPSReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var blocks [][]byte
	for _, p := range []float64{0.5, 0.5, 0.5, 0.505, 0.51, 0.49, 0.55} {
		for range 40 {
			blocks = append(blocks, biasedBlock(r, p))
		}
	}
	// A counter, a constant, a period-4 pattern, long runs and a repeated
	// word across a block boundary.
	ctr := make([]byte, BlockSize)
	for i := range ctr {
		ctr[i] = byte(i % 251)
	}
	blocks = append(blocks, ctr, make([]byte, BlockSize))
	pat := make([]byte, BlockSize)
	for i := range pat {
		pat[i] = "ssmr"[i%4]
	}
	blocks = append(blocks, pat)
	long := biasedBlock(r, 0.5)
	for i := 1000; i < 1004; i++ {
		long[i] = 0xFF // 32 ones at least
	}
	blocks = append(blocks, long)
	a, b := biasedBlock(r, 0.5), biasedBlock(r, 0.5)
	copy(b[:4], a[BlockSize-4:])
	blocks = append(blocks, a, b)

	var f fips
	var prev *uint32
	seen := map[int]int{}
	for i, blk := range blocks {
		want := refBlock(blk, prev)
		if prev == nil {
			prev = new(uint32)
		}
		*prev = uint32(blk[BlockSize-4]) | uint32(blk[BlockSize-3])<<8 | uint32(blk[BlockSize-2])<<16 | uint32(blk[BlockSize-1])<<24
		got := 0
		for rest, step := blk, 1+i%700; len(rest) > 0; {
			n, mask := f.feed(rest[:min(step, len(rest))])
			if mask != 0 && n != min(step, len(rest)) {
				t.Fatalf("block %d: feed consumed %d of %d bytes at the block's end", i, n, min(step, len(rest)))
			}
			got |= mask
			rest = rest[n:]
		}
		if f.pos != 0 {
			t.Fatalf("block %d: %d bytes pending after a whole block, want 0", i, f.pos)
		}
		if got != want {
			t.Errorf("block %d: got mask %05b (%s), want %05b (%s)", i, got, fipsMessage(got), want, fipsMessage(want))
		}
		for k := range fipsNames {
			if want&(1<<k) != 0 {
				seen[k]++
			}
		}
	}
	// Each test must have failed some block and passed some, or the
	// comparison proves little.
	for k, n := range fipsNames {
		if seen[k] == 0 || seen[k] == len(blocks) {
			t.Errorf("test %s failed %d of %d blocks: want some failing and some passing", n, seen[k], len(blocks))
		}
	}
}

// TestFIPSMonobitBounds pins the monobit interval: 9725 and 10275 ones
// fail, 9726 and 10274 pass.
func TestFIPSMonobitBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		ones int
		fail bool
	}{{9725, true}, {9726, false}, {10274, false}, {10275, true}} {
		blk := biasedBlock(r, 0.5)
		ones := 0
		for _, b := range blk {
			ones += popcount(b)
		}
		// Flip random bits towards the target count.
		for ones != c.ones {
			i, j := r.IntN(BlockSize), r.IntN(8)
			bit := blk[i] >> j & 1
			if (ones < c.ones) == (bit == 0) {
				blk[i] ^= 1 << j
				ones += 1 - 2*int(bit)
			}
		}
		var f fips
		_, mask := f.feed(blk)
		if got := mask&fipsMonobit != 0; got != c.fail {
			t.Errorf("%d ones: got monobit failure %v, want %v", c.ones, got, c.fail)
		}
	}
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

func BenchmarkFIPSFeed(b *testing.B) {
	data := biasedBlock(rand.New(rand.NewPCG(5, 6)), 0.5)
	var f fips
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f.feed(data)
	}
}
