// Package sample decides which received frames a receiver keeps, as the
// original ssmrandom's receiver did (it kept one frame, then slept a random
// 1 to 20 seconds), so that an observer of the feed cannot tell which of
// its bytes reached a given host's pool.
//
// A frame's decision is a function of its identity (the caller's bytes
// for it: for a signed frame its key id, epoch and sequence number) and a
// secret key of 256 bits drawn once from the operating system: the first
// 64 bits of HMAC-SHA256(key, identity), compared with P·2^64. So every
// copy of a frame gets the same answer: an attacker who replays the frames
// that were not kept cannot make the receiver keep more of them, and
// without the key nobody can tell which frames are kept. The receive path
// asks before it verifies a frame's signature, so a frame that is not kept
// costs no Ed25519 verification.
//
// The interval after a kept frame ([Config.MinInterval],
// [Config.MaxInterval]) is drawn from a ChaCha8 generator (math/rand/v2),
// a CSPRNG, seeded from the same key. The interval closes the sampler to
// every frame, whatever its identity, so it bounds how many frames are
// kept however many copies of them arrive.
package sample

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"time"
)

// SeedSize is the number of bytes of OS randomness a [Sampler] takes,
// once: its secret key.
const SeedSize = 32

// MinP is the smallest probability a [Sampler] takes, 2^-64: a decision
// compares 64 bits of a keyed hash with P·2^64, and a smaller P would
// keep nothing, which is not sampling. (About 5.4e-20.)
const MinP = 1.0 / (1 << 32) / (1 << 32)

// Config says which frames to keep.
type Config struct {
	// P is the probability of keeping a frame, in [MinP, 1]. 1 keeps
	// every frame (subject to the interval).
	P float64
	// MinInterval and MaxInterval, if MaxInterval > 0, make the sampler
	// refuse every frame for a time drawn uniformly from [MinInterval,
	// MaxInterval] after each kept frame.
	MinInterval, MaxInterval time.Duration
}

// Sampler makes the keep-or-skip decisions. Make one with [New]; the
// zero value is not usable. It is not safe for concurrent use.
type Sampler struct {
	cfg       Config
	all       bool      // P is 1: keep every frame the interval allows
	threshold uint64    // keep when the keyed hash is below it
	mac       hash.Hash // HMAC-SHA256 with the secret key
	sum       [sha256.Size]byte
	rng       *mrand.Rand // the intervals
	next      time.Time   // no frame is kept before this
}

// New returns a Sampler whose secret key is [SeedSize] bytes from
// crypto/rand.
func New(cfg Config) (*Sampler, error) {
	var seed [SeedSize]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("sample: seed: %w", err)
	}
	return newSeeded(cfg, seed)
}

// newSeeded returns a Sampler with a given key.
func newSeeded(cfg Config, seed [SeedSize]byte) (*Sampler, error) {
	if !(cfg.P >= MinP && cfg.P <= 1) {
		if cfg.P > 0 && cfg.P < MinP {
			return nil, fmt.Errorf("sample: probability %v is below 2^-64 (%.4g), the smallest that can be sampled", cfg.P, MinP)
		}
		return nil, fmt.Errorf("sample: probability %v is not in (0, 1]", cfg.P)
	}
	if cfg.MinInterval < 0 || cfg.MaxInterval < cfg.MinInterval {
		return nil, errors.New("sample: want 0 <= minimum interval <= maximum interval")
	}
	s := &Sampler{cfg: cfg, all: cfg.P == 1, mac: hmac.New(sha256.New, seed[:])}
	if !s.all {
		// P·2^64, exact enough: the error is below 2^-52 relative, and
		// for P < 1 the product is at most 2^64 - 2^11, so it fits.
		s.threshold = uint64(math.Ldexp(cfg.P, 64))
	}
	// The intervals' generator is seeded from the key, not with it, so
	// that its outputs say nothing of the key.
	s.mac.Write([]byte("ssmrandom sample interval"))
	var iv [32]byte
	copy(iv[:], s.mac.Sum(nil))
	s.rng = mrand.New(mrand.NewChaCha8(iv))
	return s, nil
}

// Keep reports whether to keep the frame id that arrives at now: false
// while the interval after the last kept frame lasts, otherwise the same
// answer for every copy of the frame. id is the frame's identity; it is
// not kept.
func (s *Sampler) Keep(now time.Time, id []byte) bool {
	if now.Before(s.next) {
		return false
	}
	if s.all {
		return true
	}
	s.mac.Reset()
	s.mac.Write(id)
	return binary.BigEndian.Uint64(s.mac.Sum(s.sum[:0])) < s.threshold
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
