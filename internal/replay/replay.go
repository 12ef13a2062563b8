// Package replay keeps a receiver from forwarding a frame twice, or a frame
// that is too old or dated in the future.
//
// A [Filter] holds, for one producer key, the producer's current epoch and
// a sliding window of the sequence numbers seen in it, in the style of
// RFC 4303 §3.4.3 and RFC 6479: [WindowSize] sequence numbers behind the
// highest one seen are tracked; frames further behind are refused. Replay
// detection is keyed on the signed fields (key id, epoch, sequence number),
// never on the bytes of a datagram.
//
// The receive path asks [Guard.Check] before it spends an Ed25519
// verification on a frame, and calls [Guard.Commit] only once the
// signature has verified, so forged frames never move a window. The
// caller keeps one Filter per key of its keyring (it checks the key id
// first): the state is bounded by the keyring, whatever an attacker
// sends. A [Guard] holds the freshness limits and the clock. The rules
// are in docs/protocol.md §5.
package replay

import (
	"errors"
	"fmt"
	"time"
)

// WindowSize is how many sequence numbers, counting back from the highest
// seen in the current epoch, the window tracks. Frames reordered or
// delayed by less than this are still forwarded once; older ones are
// refused as replays.
const WindowSize = 1024

// Errors returned by [Guard.Check], one per reason a frame is refused.
var (
	ErrReplay = errors.New("replay: frame already seen or behind the window")
	ErrStale  = errors.New("replay: frame older than the maximum age")
	ErrFuture = errors.New("replay: frame dated too far in the future")
)

// Defaults for [Config].
const (
	DefaultMaxAge  = 30 * time.Second
	DefaultMaxSkew = 5 * time.Second
)

// Config sets a [Guard]'s freshness limits.
type Config struct {
	// MaxAge is how old a frame's time may be, against the local clock.
	MaxAge time.Duration
	// MaxSkew is how far in the future a frame's time may be: the clock
	// difference tolerated between producer and receiver.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Guard holds a receiver's freshness limits and clock. Make one with
// [New]. It keeps no per-producer state, and reads only its clock, so it
// is safe for concurrent use; the [Filter] it is given is not.
type Guard struct {
	maxAge, maxSkew int64 // milliseconds
	start           int64 // when the Guard was made, Unix milliseconds
	now             func() time.Time
}

// Filter is the replay state of one producer key: the producer's current
// epoch and the window of sequence numbers seen in it. The receive path
// keeps one in the state of each trusted key. Its zero value is a filter
// that has seen no frame. It is not safe for concurrent use.
type Filter struct {
	epoch uint64
	win   window
	// seen is the local time, in Unix milliseconds, of the last frame
	// committed, to let a producer whose clock went back restart.
	seen int64
}

// Defaults returns cfg with a zero MaxAge set to [DefaultMaxAge] and a
// zero MaxSkew to [DefaultMaxSkew]: for a caller whose own zero means
// the default.
func (cfg Config) Defaults() Config {
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	return cfg
}

// New returns a Guard.
func New(cfg Config) (*Guard, error) {
	if cfg.MaxAge <= 0 || cfg.MaxSkew < 0 {
		return nil, fmt.Errorf("replay: max age %v and max skew %v: want a positive age and a skew of 0 or more", cfg.MaxAge, cfg.MaxSkew)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Guard{maxAge: cfg.MaxAge.Milliseconds(), maxSkew: cfg.MaxSkew.Milliseconds(), start: now().UnixMilli(), now: now}, nil
}

// Check reports whether a frame with the given epoch, sequence number and
// time (Unix milliseconds) may be forwarded, given f, the state of the
// key that signed it: nil, or [ErrStale], [ErrFuture] or [ErrReplay]. It
// changes nothing.
//
// A frame made before the Guard was made is stale too: the window starts
// empty, and this keeps a restarted receiver from forwarding again what
// its previous run forwarded.
func (g *Guard) Check(f *Filter, epoch, seq uint64, t int64) error {
	now := g.now().UnixMilli()
	if t < g.start {
		return ErrStale
	}
	if err := fresh(t, now, g.maxAge, g.maxSkew); err != nil {
		return err
	}
	switch {
	case !f.win.any || epoch > f.epoch:
		return nil // a first frame, or the producer restarted
	case epoch < f.epoch:
		// An earlier run of the producer. Its frames could be fresh only
		// if the producer restarted within MaxAge, so refuse them, unless
		// the current epoch has been silent for longer than that: then the
		// producer restarted with its clock set back.
		if now-f.seen > g.maxAge+g.maxSkew {
			return nil
		}
		return ErrReplay
	}
	if !f.win.check(seq) {
		return ErrReplay
	}
	return nil
}

// Commit records in f a frame that passed [Guard.Check] with f and whose
// signature has verified. It must not be called for any other frame.
func (g *Guard) Commit(f *Filter, epoch, seq uint64) {
	if f.win.any && epoch != f.epoch {
		f.win = window{}
	}
	f.epoch = epoch
	f.win.accept(seq)
	f.seen = g.now().UnixMilli()
}

// Fresh reports whether a frame made at t is fresh at now under the limits
// maxAge and maxSkew, as [Guard.Check] judges it (but for the Guard's
// start): nil, [ErrStale] or [ErrFuture]. It is for tools that say what a
// receiver would do with a frame.
func Fresh(t, now time.Time, maxAge, maxSkew time.Duration) error {
	return fresh(t.UnixMilli(), now.UnixMilli(), maxAge.Milliseconds(), maxSkew.Milliseconds())
}

// fresh is the freshness rule, on Unix milliseconds.
func fresh(t, now, maxAge, maxSkew int64) error {
	switch {
	case t < now-maxAge:
		return ErrStale
	case t > now+maxSkew:
		return ErrFuture
	}
	return nil
}

// window is the RFC 6479 bitmap: a ring of 64-bit blocks, one more than
// WindowSize needs, so that sliding it clears whole blocks. Its zero value
// is an empty window.
type window struct {
	top    uint64 // highest sequence number accepted
	any    bool   // whether any number was accepted
	blocks [WindowSize/64 + 1]uint64
}

const nblocks = WindowSize/64 + 1

// check reports whether seq is new and not behind the window.
func (w *window) check(seq uint64) bool {
	if !w.any || seq > w.top {
		return true
	}
	if w.top-seq >= WindowSize {
		return false
	}
	return w.blocks[(seq/64)%nblocks]&(1<<(seq%64)) == 0
}

// accept marks seq as seen, sliding the window forward if seq is ahead.
func (w *window) accept(seq uint64) {
	if !w.any {
		w.any, w.top = true, seq
	} else if seq > w.top {
		cur, next := w.top/64, seq/64
		if next-cur >= nblocks {
			w.blocks = [nblocks]uint64{}
		} else {
			for b := cur + 1; b <= next; b++ {
				w.blocks[b%nblocks] = 0
			}
		}
		w.top = seq
	}
	w.blocks[(seq/64)%nblocks] |= 1 << (seq % 64)
}
