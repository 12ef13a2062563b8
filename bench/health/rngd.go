package main

import "encoding/binary"

// rngd 5's failure count (rngd.c): a source is disabled when its failed
// blocks reach rngdMaxFailures; every rngdOKCredit blocks that pass
// forgive one failure.
const (
	rngdMaxFailures = 25
	rngdOKCredit    = 1000
	// rngdPreamble is how many bytes rngd 5 reads from its source before
	// the first block (bench/rngd's counts are 8 + k·2500); the second
	// word becomes the continuous test's first "last word".
	rngdPreamble = 8
)

// rngdFIPS is rng-tools 5's fips_ctx_t and fips_run_rng_test, written
// again bit by bit, with its quirks, independently of package health: the
// run state's last bit is kept from one block to the next while the run
// length starts at -1, so a block whose first bit differs from the last
// bit of the block before counts a spurious run at index -1 + 6·bit, which
// is runs[5] for a 1 and, for a 0, poker[15] (the int before runs[0] in
// fips_ctx_t).
type rngdFIPS struct {
	poker               [16]int
	runs                [12]int
	ones, rlength       int
	currentBit, lastBit int
	longrun             bool
	last32              uint32
}

func (c *rngdFIPS) store(b byte) {
	c.poker[b>>4]++
	c.poker[b&15]++
	for j := 7; j >= 0; j-- {
		c.currentBit = int(b>>j) & 1
		c.ones += c.currentBit
		if c.currentBit != c.lastBit {
			if i := min(c.rlength, 5) + 6*c.currentBit; i >= 0 {
				c.runs[i]++
			} else {
				c.poker[15]++
			}
			if c.rlength >= 25 {
				c.longrun = true
			}
			c.rlength = 0
			c.lastBit = c.currentBit
		} else {
			c.rlength++
		}
	}
}

// test reports whether the 2500-byte block fails.
func (c *rngdFIPS) test(block []byte) bool {
	fail := false
	for i := 0; i < len(block); i += 4 {
		w := binary.LittleEndian.Uint32(block[i:])
		if w == c.last32 {
			fail = true
		}
		c.last32 = w
		for _, b := range block[i : i+4] {
			c.store(b)
		}
	}
	c.runs[min(c.rlength, 5)+6*c.currentBit]++
	if c.rlength >= 25 || c.longrun {
		fail = true
	}
	c.longrun = false
	if c.ones >= 10275 || c.ones <= 9725 {
		fail = true
	}
	sum := 0
	for _, f := range c.poker {
		sum += f * f
	}
	if sum > 1576928 || sum < 1563176 {
		fail = true
	}
	lo := [6]int{2315, 1114, 527, 240, 103, 103}
	hi := [6]int{2685, 1386, 723, 384, 209, 209}
	for i, r := range c.runs {
		if r < lo[i%6] || r > hi[i%6] {
			fail = true
		}
	}
	c.poker, c.runs = [16]int{}, [12]int{}
	c.ones, c.rlength, c.currentBit = 0, -1, 0
	return fail
}

// rngdModel reads up to limit bytes of a source as rngd 5 does and
// returns when the first block fails and when rngd disables the source.
func rngdModel(next func([]byte) error, limit int64) rngdResult {
	r := rngdResult{firstFail: -1, disabled: -1}
	pre := make([]byte, rngdPreamble)
	if err := next(pre); err != nil {
		return r
	}
	c := rngdFIPS{rlength: -1, last32: binary.LittleEndian.Uint32(pre[4:8])}
	read := int64(rngdPreamble)
	buf := make([]byte, 400*2500)
	var data []byte
	failures, success := 0, 0
	for read+2500 <= limit {
		if len(data) == 0 {
			if err := next(buf); err != nil {
				return r
			}
			data = buf
		}
		block := data[:2500]
		data = data[2500:]
		read += 2500
		if !c.test(block) {
			if success++; success >= rngdOKCredit {
				if failures > 0 {
					failures--
				}
				success = 0
			}
			continue
		}
		if r.firstFail < 0 {
			r.firstFail = read
		}
		if failures++; failures >= rngdMaxFailures {
			r.disabled = read
			return r
		}
	}
	return r
}
