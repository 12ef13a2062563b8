package send

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seal"
)

// DefaultSeedInterval is the time from the start of one seed round to the
// start of the next, unless [Seeds.Interval] says otherwise.
const DefaultSeedInterval = 10 * time.Second

// SeedBatch is how many seed datagrams are built, numbered and sent as
// one batch: a round of many members is several batches, so that the
// numbers it takes from the sequence it shares with the frames are never
// held long (docs/protocol.md §9.2).
const SeedBatch = 32

// MaxAhead is how far past a reserved seed datagram not yet sent a frame
// may be numbered: half the receivers' replay window (replay.WindowSize),
// the other half left for reordering on the path. A frame that would go
// further waits until the seed datagram is sent.
const MaxAhead = replay.WindowSize / 2

// MinSeedRate is the slowest pace of seed datagrams, per second: a round
// is spread over the first half of its interval, but never slower than
// this, so that a small round goes out at once.
const MinSeedRate = 64

// Seeds configures the sealed per-host seeds (docs/protocol.md §9) that a
// [Loop] sends besides its frames, on the same [Conn] and numbered from the
// same sequence.
type Seeds struct {
	// Signer signs the seed datagrams: the key that signs the frames.
	Signer seal.Signer
	// Members is the member set of the first round; [Loop.SetMembers]
	// replaces it. nil is an empty set.
	Members *seal.Members
	// Interval is the time from the start of one round to the start of
	// the next; 0 means [DefaultSeedInterval]. A round that takes longer
	// delays the next.
	Interval time.Duration
	// MaxDatagram is the datagram size limit, in bytes; 0 means
	// seal.DefaultMaxDatagram.
	MaxDatagram int
	// Workers is how many goroutines seal a batch; 0 means every core.
	Workers int
	// Tags, if not nil, makes every round carry a member key
	// (docs/protocol.md §10): a fresh 32 bytes from crypto/rand, sealed
	// into every member's entry. The round's seed datagrams are tagged
	// with the previous round's key (none in the first round of an
	// epoch), and once the round's last datagram is sent, Tags holds the
	// round's key, which every later datagram is tagged with; a round cut
	// short (an error, the end of the run) or with no member leaves Tags as
	// it was. The Loop's framer must tag with the same Tags ([NewTagged]).
	// Seed datagrams are sized for the tag from the first round on: 5
	// entries in 1232 bytes.
	Tags *TagKey
	// Observe, if not nil, is called at the end of each round, from the
	// goroutine that sends the seeds (not the one running [Loop.Run]),
	// which waits for it.
	Observe func(SeedRound)
}

// SeedRound is what one seed round did. It holds counts, never a member's
// key or seed.
type SeedRound struct {
	Epoch uint64 // the epoch of its first datagram
	Round uint64 // its number within the epoch
	// Members is how many members were valid at the round's start and so
	// due a seed; Skipped how many were not (outside their validity
	// period) and got none.
	Members, Skipped int
	// Sealed is how many members' entries went out in datagrams sent.
	Sealed int
	// Datagrams is how many seed datagrams were sent, SendErrors how many
	// were lost to a failed send.
	Datagrams, SendErrors int
	// Elapsed is how long the round took, from its start to its last send.
	Elapsed time.Duration
	// Err says why the round stopped before its end: an error reading the
	// input or sealing, or the signing key's expiry. nil if it ended.
	Err error
}

// seeder sends the seed rounds of a Loop.
type seeder struct {
	cfg     Seeds
	builder *seal.Builder
	members atomic.Pointer[seal.Members]
	limit   *rate.Limiter
	unpaced bool // no pacing: for benchmarks of the sealing cost

	rounds, sealed, datagrams atomic.Uint64
}

func newSeeder(cfg Seeds, entropy io.Reader) (*seeder, error) {
	if cfg.Signer == nil {
		return nil, errors.New("send: seeds need a signer")
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("send: seed interval %s, want more than 0", cfg.Interval)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultSeedInterval
	}
	b, err := seal.NewBuilder(cfg.Signer, seal.Config{MaxDatagram: cfg.MaxDatagram, Workers: cfg.Workers, Entropy: entropy, MemberKey: cfg.Tags != nil})
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	s := &seeder{cfg: cfg, builder: b, limit: rate.NewLimiter(MinSeedRate, 1)}
	s.setMembers(cfg.Members)
	return s, nil
}

func (s *seeder) setMembers(m *seal.Members) {
	if m == nil {
		m = &seal.Members{}
	}
	s.members.Store(m)
}

// SetMembers replaces the member set from the next seed round on. It is
// safe to call from any goroutine, at any time; it does nothing on a Loop
// made without [Config.Seeds].
func (l *Loop) SetMembers(m *seal.Members) {
	if l.seeds != nil {
		l.seeds.setMembers(m)
	}
}

// PerDatagram returns how many members' entries one seed datagram holds;
// 0 on a Loop made without [Config.Seeds].
func (l *Loop) PerDatagram() int {
	if l.seeds == nil {
		return 0
	}
	return l.seeds.builder.PerDatagram()
}

// run sends a round at once and then every interval, until ctx is done or
// finish is closed; a round begun when finish is closed is completed.
func (s *seeder) run(ctx context.Context, finish <-chan struct{}, l *Loop) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	var round, epoch uint64
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-finish:
				return
			case <-t.C:
			}
		}
		r := s.round(ctx, l, round, epoch)
		if r.Epoch != epoch { // a new epoch numbers its rounds from 0
			epoch, round = r.Epoch, 0
		}
		round++
		if ctx.Err() != nil {
			return
		}
		if s.cfg.Observe != nil {
			s.cfg.Observe(r)
		}
	}
}

// round sends one round: the members valid now, sealed batch by batch,
// each batch numbered from the shared sequence and paced.
func (s *seeder) round(ctx context.Context, l *Loop, round, epoch uint64) (r SeedRound) {
	start := l.now()
	set := s.members.Load()
	ms := set.ValidAt(start)
	r = SeedRound{Epoch: epoch, Round: round, Members: len(ms), Skipped: set.Len() - len(ms)}
	defer func() { r.Elapsed = l.now().Sub(start) }()
	s.rounds.Add(1)
	dgrams := s.builder.Datagrams(len(ms))
	pace := seedPace(dgrams, s.cfg.Interval)
	s.limit.SetLimit(rate.Limit(pace))
	s.limit.SetBurst(max(1, int(pace/50))) // 20 ms of datagrams
	if s.unpaced {
		s.limit.SetLimit(rate.Inf)
	}
	per := s.builder.PerDatagram()
	var prev, key *membertag.Key // the key the round is tagged with, and its own
	var next uint64              // the number after the round's last datagram
	var secret [membertag.KeySize]byte
	defer clear(secret[:])
	if s.cfg.Tags != nil && len(ms) > 0 {
		if _, err := rand.Read(secret[:]); err != nil {
			r.Err = fmt.Errorf("send: member key: read crypto/rand: %w", err)
			return r
		}
	}
	for i := 0; i < len(ms); i += SeedBatch * per {
		batch := ms[i:min(len(ms), i+SeedBatch*per)]
		now := l.now()
		if exp := l.cfg.Expires; !exp.IsZero() && now.UnixMilli() >= exp.UnixMilli() {
			r.Err = fmt.Errorf("send: %w at %s", ErrKeyExpired, exp.UTC().Format(time.RFC3339))
			return r
		}
		k := s.builder.Datagrams(len(batch))
		e, n := l.seq.reserve(k, now)
		next = n + uint64(k)
		if s.cfg.Tags != nil {
			if i == 0 {
				s.cfg.Tags.bring(n) // the last round's key takes over now at the latest
			}
			prev = s.cfg.Tags.at(n)
		}
		if i == 0 {
			r.Epoch = e
			if e != epoch {
				round = 0
				r.Round = 0
			}
			if s.cfg.Tags != nil {
				key = membertag.NewKey(&secret, e, round)
			}
		}
		sr := seal.Round{Epoch: e, Seq: n, Time: now.UnixMilli(), Round: round, MemberKey: secret}
		if prev != nil && prev.Epoch() == e { // a key is only ever used in its own epoch
			sr.Tag = prev
		}
		dgs, err := s.builder.Build(batch, sr)
		clear(sr.MemberKey[:])
		if err != nil {
			l.seq.release()
			r.Err = err
			return r
		}
		for j, d := range dgs {
			if err := s.limit.Wait(ctx); err != nil {
				l.seq.release()
				return r
			}
			entries := min(per, len(batch)-j*per)
			if err := l.cfg.Conn.Send(d); err != nil {
				r.SendErrors++
				l.sendErrors.Add(1)
			} else {
				r.Datagrams++
				r.Sealed += entries
				s.datagrams.Add(1)
				s.sealed.Add(uint64(entries))
			}
			l.seq.sent(n + uint64(j))
		}
		l.seq.release()
	}
	if key != nil {
		from := next + TagDelay // every member was sent its entry: tag what follows it with it
		if s.cfg.Tags.load() == nil || s.cfg.Tags.load().Epoch() != key.Epoch() {
			from = next // the epoch's first key: no member holds another, nor checks tags yet
		}
		s.cfg.Tags.store(key, from)
	}
	return r
}

// TagDelay is how many sequence numbers after a seed round's last datagram
// the frames switch to the round's member key (docs/protocol.md §10.2),
// but for an epoch's first key, which tags at once, and at the latest
// when the next round begins: a receiver that checks datagrams on several
// cores may check the frames right after a seed datagram before it has
// opened the seed datagram's entry, and they carry the key it already
// holds. It is well inside the replay window (1024), so members still
// hold the previous key.
const TagDelay = 256

// seedPace returns the pace of a round of n datagrams, in datagrams per
// second: spread over the first half of the interval, and no slower than
// MinSeedRate.
func seedPace(n int, interval time.Duration) float64 {
	return max(MinSeedRate, float64(n)/(interval.Seconds()/2))
}

// sequence hands out the (e, n) of a Loop's datagrams, frames and seed
// datagrams alike (docs/protocol.md §4 and §9.2), and holds frames back
// so that none is numbered more than [MaxAhead] past a reserved seed
// datagram not yet sent. Its methods are safe for concurrent use.
type sequence struct {
	mu          sync.Mutex
	epoch, next uint64
	held        bool          // a batch is reserved and not all sent
	low         uint64        // the lowest number of the batch not yet sent
	wake        chan struct{} // closed when low moves or the hold ends
}

// roll starts a new epoch (docs/protocol.md §4) if k numbers from next go
// past frame.MaxSeq. The caller holds mu.
func (s *sequence) roll(k uint64, now func() time.Time) {
	if s.next+k-1 > frame.MaxSeq {
		s.epoch, s.next = max(uint64(now().UnixMilli()), s.epoch+1), 0
	}
}

// frame returns the (e, n) of the next frame, made at now, waiting while
// it would be too far past a seed datagram not yet sent. It fails only if
// ctx is done first.
func (s *sequence) frame(ctx context.Context, now func() time.Time) (e, n uint64, err error) {
	for {
		e, n, wake := s.tryFrame(now)
		if wake == nil {
			return e, n, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-wake:
		}
	}
}

// tryFrame is frame without the wait: if the frame would have to wait,
// it takes no number and returns the channel to wait on, else nil.
func (s *sequence) tryFrame(now func() time.Time) (e, n uint64, wake <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held && (s.next > frame.MaxSeq || s.next-s.low >= MaxAhead) {
		return 0, 0, s.wake
	}
	s.roll(1, now)
	e, n = s.epoch, s.next
	s.next++
	return e, n, nil
}

// reserve takes k consecutive numbers for a batch of seed datagrams made
// at now, and holds frames back until [sequence.sent] says they went out
// or [sequence.release] ends the hold.
func (s *sequence) reserve(k int, now time.Time) (e, n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roll(uint64(k), func() time.Time { return now })
	e, n = s.epoch, s.next
	s.next += uint64(k)
	s.held, s.low, s.wake = true, n, make(chan struct{})
	return e, n
}

// sent records that the reserved datagram numbered n was sent.
func (s *sequence) sent(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held && n+1 > s.low {
		s.low = n + 1
		close(s.wake)
		s.wake = make(chan struct{})
	}
}

// release ends the hold of the reserved batch: every number of it was
// sent, or will never be.
func (s *sequence) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		close(s.wake)
	}
}
