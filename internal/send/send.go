// Package send is the send path of ssmrandom: it reads entropy from a
// source in large chunks, cuts them into frames, paces the frames to a
// rate, numbers them (epoch and sequence number, docs/protocol.md §4),
// frames each with a [Framer] (a signed frame, the original ssmrandom's
// unsigned frame, or the bare bytes) on several cores at once, and hands
// the datagrams, in order, to a [Conn] such as an mcast.Sender, in
// batches if it is a [BatchConn].
// With [Config.Health] it first runs the health tests of package health on
// the source, and sends nothing, neither frames nor seeds, while they fail.
//
// The package does no logging and reads no flags: a [Loop] returns its
// error, counts what it sent in [Stats], and tells the caller of each
// datagram through [Config.Observe].
package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/nordunet/ssmrandom/internal/health"
)

var (
	// ErrKeyExpired reports that the signing key's validity period
	// ended while sending: every receiver drops its frames from then on.
	ErrKeyExpired = errors.New("signing key expired")
	// ErrRead reports an error reading the entropy source (its end is
	// not one).
	ErrRead = errors.New("read input")
)

// MaxWorkers is the most workers ([Config.Workers]) a [Loop] takes.
const MaxWorkers = 256

// Conn sends one datagram. *mcast.Sender is one. With [Config.Seeds] the
// seed rounds send on it from their own goroutine while the frames are
// sent, so it must then be safe for concurrent use.
type Conn interface {
	Send(datagram []byte) error
}

// BatchConn is a [Conn] that can also send several datagrams in one call
// (sendmmsg on Linux). A [Loop] whose Conn is one sends its frames in
// batches.
type BatchConn interface {
	Conn
	// WriteBatch sends datagrams in order and returns how many were
	// sent, from the first. If that is fewer than all, err (if not
	// nil) is why the next one was not, and it is lost; the rest were
	// not tried.
	WriteBatch(datagrams [][]byte) (int, error)
}

// Config configures a [Loop].
type Config struct {
	// Input is the entropy source, read in chunks of Size bytes. Its end
	// (io.EOF) ends the run after a last, possibly short, chunk.
	Input io.Reader
	// Conn is where the datagrams go.
	Conn Conn
	// Framer makes each datagram.
	Framer Framer
	// Source is the source name in each frame (unused by [Raw]).
	Source string
	// Size is how many entropy bytes go in one datagram, at least 1.
	Size int
	// Rate is the most entropy bytes sent per second; 0 for no limit.
	// Frames are paced one by one, with bursts of at most 20 ms of them.
	Rate int
	// Workers is how many goroutines frame (and so sign) datagrams at
	// once, each with its own clone of Framer; 0 means GOMAXPROCS. The
	// frames are numbered, and sent, in order whatever the number.
	Workers int
	// Count is how many datagrams sent end the run (failed sends do not
	// count); 0 for no limit.
	Count uint64
	// Expires is when the signing key stops being valid: a run stops
	// with an error wrapping [ErrKeyExpired] before it sends a frame
	// dated then or later. The zero time means never.
	Expires time.Time
	// Observe, if not nil, is called after each frame's send (a batch's
	// frames one by one, in order, after the batch), from the goroutine
	// running [Loop.Run], which waits for it.
	Observe func(Event)
	// Seeds, if not nil, makes the Loop also send sealed per-host seeds
	// (docs/protocol.md §9): a round at the start of Run and then every
	// Seeds.Interval, numbered from the frames' sequence and paced apart
	// from them. The seeds' entropy comes from Input too: each batch of up
	// to SeedBatch datagrams reads seal.EntropyPerRound bytes, mixed with
	// crypto/rand into the batch's own HKDF key.
	Seeds *Seeds
	// Health, if not nil, runs the health tests of package health, as
	// this configures them, on every byte of Input before the frames or
	// the seed rounds use any of it: bytes are held back until the FIPS
	// 140-2 block that covers them has passed, and a read that fails a
	// test drops every byte held back and itself. An isolated FIPS block
	// failure (health.ErrBlock) ends there; after any other failure, while
	// the input fails, nothing is sent, neither frames nor seeds, and the input is read on
	// (no faster than Rate) until it passes again (see Recovery in the
	// package doc of health). At the end of Input the bytes held back, a
	// last block too short for the FIPS tests, are sent: they passed the
	// other tests. nil means no health tests.
	Health *health.Config
	// HealthChange, if not nil, is called when Input starts failing the
	// health tests, with the first failure, and with nil when it passes
	// again (an isolated FIPS block failure is no such change); from the
	// goroutine reading Input, which waits for it.
	HealthChange func(err error)
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Event is one datagram sent, or lost.
type Event struct {
	Seq      uint64 // the frame's sequence number in its epoch
	Bytes    int    // entropy bytes in it
	Datagram int    // the datagram's length
	// Err is the send's error, nil if it was sent. A failed send is
	// counted and the datagram lost; the run goes on.
	Err error
}

// Stats are a [Loop]'s counters.
type Stats struct {
	Frames     uint64 // frames sent
	Bytes      uint64 // entropy bytes in them
	SendErrors uint64 // datagrams, frames or seed datagrams, lost to a failed send

	SeedRounds    uint64 // seed rounds begun
	SeedMembers   uint64 // members' entries in seed datagrams sent
	SeedDatagrams uint64 // seed datagrams sent

	// With [Config.Health]: reads of the input that failed a health test
	// and made it failing (not those refused on probation after one, nor
	// isolated FIPS block failures), reads refused for an isolated FIPS
	// block failure (health.ErrBlock), the input bytes dropped for either,
	// and whether the input is failing now (from a failure until it passes
	// again).
	HealthFailures, HealthBlocks, HealthDropped uint64
	Unhealthy                                   bool
}

// Loop sends entropy until its source ends, its count is reached, its
// context is done or its key expires, and with [Config.Seeds] the seed
// rounds besides. Make one with [New]; the zero value is not usable.
// [Loop.Run] may be called once; [Loop.Stats] and [Loop.SetMembers] are
// safe to call from any goroutine at any time.
type Loop struct {
	cfg   Config
	now   func() time.Time
	limit *rate.Limiter // nil: no limit
	seq   sequence      // the (e, n) of frames and seed datagrams
	seeds *seeder       // nil: no seeds
	in    *input        // nil: Input read as it is

	frames, bytes, sendErrors atomic.Uint64
}

// New checks cfg and returns a [Loop] that sends as it says.
func New(cfg Config) (*Loop, error) {
	switch {
	case cfg.Input == nil || cfg.Conn == nil || cfg.Framer == nil:
		return nil, errors.New("send: config needs an input, a conn and a framer")
	case cfg.Size < 1:
		return nil, fmt.Errorf("send: size %d, want at least 1", cfg.Size)
	case cfg.Rate < 0:
		return nil, fmt.Errorf("send: rate %d, want 0 or more", cfg.Rate)
	case cfg.Workers < 0 || cfg.Workers > MaxWorkers:
		return nil, fmt.Errorf("send: %d workers, want 1 to %d, or 0 for GOMAXPROCS", cfg.Workers, MaxWorkers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	l := &Loop{cfg: cfg, now: cfg.Now}
	if l.now == nil {
		l.now = time.Now
	}
	if cfg.Rate > 0 {
		// A burst of 20 ms of frames (at least one): paced, yet a sleep
		// that overshoots (timers are coarse on busy hosts) is made up for.
		l.limit = rate.NewLimiter(rate.Limit(cfg.Rate), max(cfg.Size, cfg.Rate/50))
	}
	l.seq.epoch = uint64(l.now().UnixMilli())
	if cfg.Seeds != nil || cfg.Health != nil {
		var limit *rate.Limiter
		if cfg.Rate > 0 {
			limit = rate.NewLimiter(rate.Limit(cfg.Rate), max(cfg.Size, cfg.Rate/50))
		}
		var err error
		if l.in, err = newInput(cfg.Input, cfg.Health, limit, cfg.HealthChange); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		l.cfg.Input = l.in
	}
	if cfg.Seeds != nil {
		if f, ok := cfg.Framer.(*Signed); ok && f.tag.keys != cfg.Seeds.Tags {
			return nil, errors.New("send: the framer and the seeds must tag with the same TagKey, or neither tag")
		}
		var err error
		if l.seeds, err = newSeeder(*cfg.Seeds, l.in); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Stats returns the counters so far.
func (l *Loop) Stats() Stats {
	s := Stats{Frames: l.frames.Load(), Bytes: l.bytes.Load(), SendErrors: l.sendErrors.Load()}
	if l.seeds != nil {
		s.SeedRounds, s.SeedMembers, s.SeedDatagrams = l.seeds.rounds.Load(), l.seeds.sealed.Load(), l.seeds.datagrams.Load()
	}
	if l.in != nil {
		s.HealthFailures, s.HealthBlocks = l.in.failures.Load(), l.in.blocks.Load()
		s.HealthDropped, s.Unhealthy = l.in.dropped.Load(), l.in.unhealthy.Load()
	}
	return s
}

// Run sends until the input ends, Count datagrams are sent or ctx is done,
// and then returns nil; or until the input fails (an error wrapping
// [ErrRead]) or the key expires ([ErrKeyExpired]). A failed send is not
// an error: it is counted and observed, and the run goes on.
//
// With [Config.Seeds] it returns once the seed rounds have stopped too: at
// the end of the input or the count, after the round under way is
// complete; when ctx is done or on an error, at once. (A read of the input
// that never returns delays this, as it would the frames.)
func (l *Loop) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the reader
	if l.in != nil {
		l.in.mu.Lock()
		l.in.ctx = ctx // ends a read waiting for a failing input
		l.in.mu.Unlock()
	}
	if l.seeds != nil {
		finish, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			l.seeds.run(ctx, finish, l)
		}()
		defer func() {
			if err != nil {
				cancel()
			}
			close(finish)
			<-done
		}()
	}
	return l.runFrames(ctx)
}
