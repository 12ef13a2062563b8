// Package sample decides which received frames a receiver keeps, as the
// original ssmrandom's receiver did (it kept one frame, then slept a random
// 1 to 20 seconds), so that an observer of the feed cannot tell which of
// its bytes reached a given host's pool.
//
// Decisions come from a ChaCha8 generator (math/rand/v2), a CSPRNG, seeded
// once with 32 bytes from the operating system: after that, a decision
// costs no OS randomness, only 64 bits of generator output. The receive
// path asks before it verifies a frame's signature, so a frame that is not
// kept costs no Ed25519 verification.
package sample

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// SeedSize is the number of bytes of OS randomness a [Sampler] takes, once.
const SeedSize = 32

// Config says which frames to keep.
type Config struct {
	// P is the probability of keeping a frame, in (0, 1]. 1 keeps every
	// frame (subject to the interval).
	P float64
	// MinInterval and MaxInterval, if MaxInterval > 0, make the sampler
	// refuse every frame for a time drawn uniformly from [MinInterval,
	// MaxInterval] after each kept frame.
	MinInterval, MaxInterval time.Duration
}

// Sampler makes the keep-or-skip decisions. Make one with [New]; the
// zero value is not usable. It is not safe for
// concurrent use.
type Sampler struct {
	cfg       Config
	threshold uint64         // keep when the next 64-bit draw is below it; 0 means always
	src       *mrand.ChaCha8 // the CSPRNG
	rng       *mrand.Rand    // helpers over src
	next      time.Time      // no frame is kept before this
}

// New returns a Sampler seeded with [SeedSize] bytes from crypto/rand.
func New(cfg Config) (*Sampler, error) {
	var seed [SeedSize]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("sample: seed: %w", err)
	}
	return newSeeded(cfg, seed)
}

// newSeeded returns a Sampler with a given seed.
func newSeeded(cfg Config, seed [SeedSize]byte) (*Sampler, error) {
	if !(cfg.P > 0 && cfg.P <= 1) {
		return nil, fmt.Errorf("sample: probability %v is not in (0, 1]", cfg.P)
	}
	if cfg.MinInterval < 0 || cfg.MaxInterval < cfg.MinInterval {
		return nil, errors.New("sample: want 0 <= minimum interval <= maximum interval")
	}
	src := mrand.NewChaCha8(seed)
	s := &Sampler{cfg: cfg, src: src, rng: mrand.New(src)}
	if cfg.P < 1 {
		// P * 2^64, exact enough: the error is below 2^-52 relative.
		s.threshold = uint64(cfg.P * (1 << 63) * 2)
	}
	return s, nil
}

// Keep reports whether to keep a frame that arrives at now. It draws from
// the generator only when the interval allows a frame at all.
func (s *Sampler) Keep(now time.Time) bool {
	if now.Before(s.next) {
		return false
	}
	return s.threshold == 0 || s.src.Uint64() < s.threshold
}

// Open reports whether the interval since the last kept frame is over at
// now (always true without an interval). It draws nothing.
func (s *Sampler) Open(now time.Time) bool { return !now.Before(s.next) }

// Kept tells the Sampler that a frame it chose to keep at now was
// forwarded (it passed every other check), which starts the interval.
func (s *Sampler) Kept(now time.Time) {
	if s.cfg.MaxInterval <= 0 {
		return
	}
	span := uint64(s.cfg.MaxInterval - s.cfg.MinInterval)
	d := s.cfg.MinInterval
	if span > 0 {
		d += time.Duration(s.rng.Uint64N(span + 1))
	}
	s.next = now.Add(d)
}
