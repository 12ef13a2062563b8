// Package receive is the receive path of ssmrandom: it takes datagrams as
// they come off the socket, checks each one (size, JWS, trusted key,
// payload, freshness and replay, signature) and writes the entropy bytes
// of those that pass to an output. Anything else is dropped and counted by
// [Reason]; not one of its bytes reaches the output.
//
// The checks run cheapest first (docs/protocol.md §5), so that a forged
// flood costs as little as it can: only a datagram that names a trusted
// key, has a signature of the right length and whose payload's first
// fields are well-formed, fresh and unseen costs an Ed25519
// verification, and only one whose signature verifies has the rest of
// its payload decoded.
//
// The package does no socket I/O and no logging: the caller reads the
// datagrams, and reads the counts with [Pipeline.Stats]. Each datagram's
// checks run once, in one sequence, and leave a [Verdict]: the reason, the
// facts the checks read (kid, epoch, sequence number, time, size) and
// [Verdict.Why], the words for logs and tools.
package receive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/reason"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// Reason says why a datagram was not forwarded; its zero value, [None],
// is no reason: the datagram was forwarded.
type Reason int

// The reasons, in the order the checks run.
const (
	None         Reason = iota // no reason: the bytes were written
	TooBig                     // the datagram is over the size limit
	Malformed                  // not a compact JWS, or a payload that is not a canonical IEDP frame
	BadAlg                     // the JWS alg is not EdDSA
	UnknownKey                 // the kid is not in the keyring
	Seed                       // not a reject: a seed datagram (docs/protocol.md §9), for the seed command, skipped unverified
	KeyNotValid                // the frame's time is outside its key's validity period
	Stale                      // the frame is older than the maximum age, or older than the receiver
	Future                     // the frame is dated further ahead than the maximum skew
	Replay                     // the frame was forwarded before, is behind the window, or of an earlier epoch
	BadTag                     // a member's check of the member tag failed (docs/protocol.md §10)
	SampledOut                 // not a reject: sampling chose not to keep the frame (so it was not verified)
	BadSignature               // the signature does not verify
	Unhealthy                  // verified, but the producer's bytes fail the health tests
	OutputFull                 // verified, but the output would block (a FIFO nobody drains)
	OutputTooBig               // verified, but more bytes than the output takes in one write (over PIPE_BUF to a FIFO)
	numReasons
)

var reasonNames = [numReasons]string{
	None:         "none",
	TooBig:       "too_big",
	Malformed:    "malformed",
	BadAlg:       "bad_alg",
	UnknownKey:   "unknown_key",
	Seed:         "seed",
	KeyNotValid:  "key_not_valid",
	Stale:        "stale",
	Future:       "future",
	Replay:       "replay",
	BadTag:       "bad_tag",
	SampledOut:   "sampled_out",
	BadSignature: "bad_signature",
	Unhealthy:    "unhealthy",
	OutputFull:   "output_full",
	OutputTooBig: "output_too_big",
}

// String returns the reason's name as it appears in logs and metrics,
// such as "bad_signature".
func (r Reason) String() string {
	return reason.Name(reasonNames[:], r)
}

// Reasons returns every reason other than [None], in check order.
func Reasons() []Reason {
	return reason.From(TooBig, numReasons)
}

// Stats is a snapshot of a [Pipeline]'s counters.
type Stats struct {
	Datagrams uint64             // datagrams handled
	Frames    uint64             // frames forwarded
	Bytes     uint64             // entropy bytes forwarded
	Dropped   [numReasons]uint64 // datagrams dropped, by reason; Dropped[None] is 0
	Unsigned  uint64             // unsigned version 1.0 frames forwarded (Config.AllowUnsigned), also counted in Frames and Bytes
	Member    MemberStats        // a member's counters (Config.Member); zero for a receiver that is not one
}

// Rejected returns the number of datagrams dropped for any reason but
// [SampledOut], which is by choice, and [Seed], which is not for recv.
func (s Stats) Rejected() uint64 {
	var n uint64
	for r, c := range s.Dropped {
		if Reason(r) != SampledOut && Reason(r) != Seed {
			n += c
		}
	}
	return n
}

// Config configures a [Pipeline].
type Config struct {
	// Trust holds the keys whose frames are forwarded. Required, with at
	// least one key unless AllowUnsigned (then only unsigned frames are
	// forwarded until a key is added); [Pipeline.SetTrust] replaces it.
	Trust *sign.Keyring
	// Output receives the entropy bytes of each forwarded frame in one
	// Write. A Write error that has a method Full returning true (such as
	// sink.ErrFull) drops the frame ([OutputFull]), one that has a method
	// TooBig returning true (sink.ErrTooBig) drops it as [OutputTooBig];
	// any other error is returned by [Pipeline.Handle].
	Output io.Writer
	// MaxDatagram is the datagram size limit in bytes (recv's
	// --max-datagram); larger datagrams are dropped before any parsing.
	// Required.
	MaxDatagram int
	// MaxAge and MaxSkew are the freshness limits (package replay); zero
	// means replay.DefaultMaxAge and replay.DefaultMaxSkew.
	MaxAge, MaxSkew time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
	// Sample, if not nil, decides which frames to keep; the others are
	// dropped as [SampledOut] before their signature is verified.
	Sample Sampler
	// Limit, if not 0, is how many frames to forward: [Pipeline.Handle]
	// returns [ErrLimit] with the frame that reaches it (written), and for
	// any frame after (not written).
	Limit uint64
	// Health, if not nil, returns the health check of a producer key's
	// verified bytes ([HealthMonitors] makes the usual one); it is called
	// once per key, on its first verified frame, from one goroutine at a
	// time. A frame whose check fails is dropped as [Unhealthy].
	Health func(kid string) HealthCheck
	// ObserveVerify, if not nil, is told how long each Ed25519
	// verification took, per frame (a batch's time divided among its
	// frames). It is called from several goroutines at once under
	// [Parallel], and must be quick.
	ObserveVerify func(time.Duration)
	// AllowUnsigned, if true, forwards the original ssmrandom's unsigned
	// version 1.0 frames too (docs/protocol.md §8), which have no
	// signature, key, sequence number or time. They pass the size limit,
	// strict parsing, sampling and the health tests, the latter under
	// the producer id [UnsignedID], and no other check (docs/security.md
	// says what is lost). Signed frames are checked as ever.
	AllowUnsigned bool
	// Member, if not nil, makes the pipeline a member of its producers'
	// seed rounds (docs/protocol.md §10) with the Opener's host key: it
	// opens this host's entries of seed datagrams (the checks of §9.6),
	// learns each producer's member keys from them, and from then on
	// drops a datagram of that producer whose member tag is missing or
	// wrong ([BadTag]) before its signature is verified. The Opener's
	// keyring follows [Pipeline.SetTrust]. A producer whose member key
	// this host does not hold is checked on its signature alone, as
	// with Member nil.
	Member *hostseed.Opener
	// Seed, if not nil, is given the seed of each of this host's entries
	// that Member opens (recv -o kernel credits it to the kernel); it
	// must not keep the slice. With Seed nil the seed is erased unused.
	// It is called from the goroutines that check datagrams, one at a
	// time.
	Seed func(seed []byte) error
}

// Sampler decides which frames to keep (package sample's Sampler).
type Sampler interface {
	// Keep reports whether to keep a frame that arrives at now; id is the
	// frame's identity ([FrameID]), and every copy of a frame must get
	// the same answer (while the sampler is open), so that replaying the
	// frames not kept cannot get more of them kept.
	Keep(now time.Time, id []byte) bool
	// Open reports whether a frame may be kept at now at all; it is asked
	// again before a verified frame is written, since frames verified at
	// once by parallel workers were all chosen before any was kept.
	Open(now time.Time) bool
	// Kept says that a frame Keep chose was forwarded.
	Kept(now time.Time)
}

// HealthCheck tests one producer's verified bytes (package health's
// Monitor): Check returns an error if data must not be forwarded.
type HealthCheck interface {
	Check(data []byte) error
}

// Pipeline checks datagrams and forwards the good ones. Make one with
// [New]. Handle must not be called concurrently; Stats, Producers, Trust
// and SetTrust may be called from any goroutine at any time.
type Pipeline struct {
	cfg   Config
	now   func() time.Time
	guard *replay.Guard
	work  work // the sequential path's buffers

	trust atomic.Pointer[trust] // the keyring in use, with its producers
	setMu sync.Mutex            // one SetTrust at a time
	// mu guards every producer's replay filter and the sampler, shared
	// with parallel workers.
	mu sync.Mutex
	// unsigned is the state of unsigned frames (Config.AllowUnsigned):
	// its health check only.
	unsigned producer
	// seedMu serializes Config.Member and Config.Seed.
	seedMu sync.Mutex
	member memberCounters

	received atomic.Uint64
	frames   atomic.Uint64
	bytes    atomic.Uint64
	dropped  [numReasons]atomic.Uint64
	nUnsign  atomic.Uint64 // unsigned frames forwarded

	// Unix nanoseconds: when the Pipeline was made, and of the last
	// verified (or forwarded unsigned) frame, the last write to the output
	// and the last frame dropped because the output was full; 0 for none.
	start, heard, wrote, full atomic.Int64
}

// trust is a keyring and the state of each of its keys, and of each key
// that an earlier keyring held. It is not changed once stored: SetTrust
// stores a new one that shares the producers of the keys that stay.
type trust struct {
	ring      *sign.Keyring
	producers map[string]*producer
}

// producer is the state of one producer key: its replay filter, its
// health check and its counters, kept from the first keyring that
// trusts the key for the life of the Pipeline.
type producer struct {
	filter replay.Filter // guarded by Pipeline.mu
	health HealthCheck   // made on the first verified frame; used by finish only

	frames, forwarded, bytes atomic.Uint64
	last                     atomic.Int64 // Unix nanoseconds of the last verified frame
	// unhealthy is set from a failed health test until the producer
	// recovers; failures counts failed tests, not frames on probation
	// nor isolated FIPS block failures, which blocks counts.
	unhealthy atomic.Bool
	failures  atomic.Uint64
	blocks    atomic.Uint64
	// dropped counts the key's verified frames that were not forwarded,
	// by reason.
	dropped [numReasons]atomic.Uint64
	// member holds the member keys of the producer this host opened
	// (Config.Member).
	member member
}

// New returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Trust == nil || cfg.Trust.Len() == 0 && !cfg.AllowUnsigned {
		return nil, errors.New("receive: no trusted key")
	}
	if cfg.Output == nil {
		return nil, errors.New("receive: no output")
	}
	if cfg.MaxDatagram <= 0 {
		return nil, errors.New("receive: no datagram size limit")
	}
	rc := replay.Config{MaxAge: cfg.MaxAge, MaxSkew: cfg.MaxSkew, Now: cfg.Now}.Defaults()
	cfg.MaxAge, cfg.MaxSkew = rc.MaxAge, rc.MaxSkew // the member tag's staleness reads MaxAge too
	guard, err := replay.New(rc)
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{cfg: cfg, now: now, guard: guard, work: newWork(cfg.MaxDatagram)}
	p.start.Store(now().UnixNano())
	p.SetTrust(cfg.Trust)
	p.cfg.Trust = nil // p.trust holds the keyring in use; a reload must not leave the first one here
	return p, nil
}

// SetTrust replaces the keyring, at once and as a whole: from the next
// check on, frames are accepted only from ring's keys, within their
// validity periods, including frames already being checked (their key is
// looked up again before they are written). An empty ring trusts nothing.
// A key that stays keeps its replay state, health state and counters; so
// does a key removed and trusted again later. It is safe to call from any
// goroutine.
func (p *Pipeline) SetTrust(ring *sign.Keyring) {
	if ring == nil {
		ring = new(sign.Keyring)
	}
	p.setMu.Lock()
	defer p.setMu.Unlock()
	next := &trust{ring: ring, producers: make(map[string]*producer)}
	if prev := p.trust.Load(); prev != nil {
		maps.Copy(next.producers, prev.producers)
	}
	for _, k := range ring.Keys() {
		if next.producers[k.ID] == nil {
			next.producers[k.ID] = new(producer)
		}
	}
	p.trust.Store(next)
	if p.cfg.Member != nil {
		p.seedMu.Lock()
		p.cfg.Member.SetTrust(ring)
		p.seedMu.Unlock()
	}
}

// Trust returns the keyring in use.
func (p *Pipeline) Trust() *sign.Keyring { return p.trust.Load().ring }

// ProducerStats is a snapshot of one producer key's counters.
type ProducerStats struct {
	KeyID     string
	File      string        // the file the key was loaded from, if it is still trusted
	Valid     sign.Validity // the key's validity period, if it is still trusted
	Trusted   bool          // the key is in the keyring in use
	Frames    uint64        // frames whose signature verified, forwarded or not
	Forwarded uint64        // frames written to the output
	Bytes     uint64        // entropy bytes written to the output
	LastFrame time.Time     // when the last verified frame was checked; zero if none
	Unhealthy bool          // the producer failed a health test and has not recovered
	// HealthFailures counts the producer's frames that failed a health
	// test, not those refused on probation after a failure nor isolated
	// FIPS block failures; HealthBlocks counts those (health.ErrBlock):
	// frames refused with no change of the producer's state.
	HealthFailures, HealthBlocks uint64
	// Dropped counts the key's verified frames that were not forwarded,
	// by reason ([Replay], [Unhealthy], [OutputFull], [SampledOut] and
	// such): a datagram that only names the key is not counted here,
	// since anyone can send one.
	Dropped [numReasons]uint64
}

// Producers returns the counters of each key in the keyring in use and of
// each key that sent a verified frame before it was removed, sorted by
// key id.
func (p *Pipeline) Producers() []ProducerStats {
	t := p.trust.Load()
	out := make([]ProducerStats, 0, len(t.producers))
	for kid, c := range t.producers {
		k, trusted := t.ring.Lookup(kid)
		s := ProducerStats{KeyID: kid, File: k.File, Valid: k.Valid, Trusted: trusted,
			Frames: c.frames.Load(), Forwarded: c.forwarded.Load(), Bytes: c.bytes.Load(),
			Unhealthy: c.unhealthy.Load(), HealthFailures: c.failures.Load(), HealthBlocks: c.blocks.Load()}
		for i := range c.dropped {
			s.Dropped[i] = c.dropped[i].Load()
		}
		if !trusted && s.Frames == 0 {
			continue
		}
		if ns := c.last.Load(); ns != 0 {
			s.LastFrame = time.Unix(0, ns)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ProducerStats) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out
}

// Handle runs every check on datagram and, if all pass, writes the
// frame's entropy bytes to the output. The returned error is only for a
// failed output write other than a full one ([ErrOutput]), or [ErrLimit]; the caller
// decides whether that ends the run, and the Verdict then means nothing.
// Handle does not keep datagram.
//
// A frame is marked seen once its signature verifies, before the write: a
// frame dropped because the output was full is not forwarded later when
// another copy of it arrives.
func (p *Pipeline) Handle(datagram []byte) (Verdict, error) {
	p.received.Add(1)
	p.check(&p.work, datagram, true)
	return p.finish(&p.work)
}

// work holds the buffers of one frame in flight, and its verdict so far.
type work struct {
	v       Verdict     // the verdict so far
	head    []byte      // the payload's first bytes, for the freshness and replay check
	payload []byte      // the decoded JWS payload
	frame   frame.Frame // the decoded frame
	jws     sign.JWS    // the datagram, once prechecked
	trust   *trust      // the keyring it was checked against
	prod    *producer   // the state of its key; of unsigned frames if unsigned
	// unsigned says that frame is an unsigned version 1.0 frame, which
	// has no signature to verify (Config.AllowUnsigned).
	unsigned bool
	id       []byte // the frame's identity, for the sampler
	// tag is how the member tag check let the frame on, and tagGen the
	// generation of its producer's keys then (member.go).
	tag    tagState
	tagGen uint64
	tags   memberTags // check 10 of a seed datagram, for Config.Member
}

// frameID returns, in w's buffer, the identity of the signed frame
// (kid, e, n) that a [Sampler] decides on: kid, a zero byte, then e and n
// as 8 bytes each, big-endian. Every copy of a frame, and nothing else,
// has it. (An unsigned version 1.0 frame, which has no (e, n), is
// identified by [UnsignedID], a zero byte and its entropy bytes.)
func (w *work) frameID(kid string, epoch, seq uint64) []byte {
	w.id = append(append(w.id[:0], kid...), 0)
	w.id = binary.BigEndian.AppendUint64(w.id, epoch)
	w.id = binary.BigEndian.AppendUint64(w.id, seq)
	return w.id
}

func newWork(maxDatagram int) work {
	return work{
		head:    make([]byte, 0, frame.MaxHead+3),
		id:      make([]byte, 0, 64),
		payload: make([]byte, 0, maxDatagram),
		frame:   frame.Frame{Data: make([]byte, 0, maxDatagram)},
	}
}

// check runs the checks up to and including the payload decode (checks 1
// to 13 of docs/protocol.md §5), cheapest first, and leaves the decoded
// frame and the verdict in w. It changes no replay state, so it may run
// on several frames at once; sample says whether to ask the sampler
// (which it changes).
func (p *Pipeline) check(w *work, datagram []byte, sample bool) {
	p.precheck(w, datagram, sample)
	if w.v.Reason != None || w.unsigned {
		return
	}
	var start time.Time
	if p.cfg.ObserveVerify != nil {
		start = time.Now()
	}
	err := w.jws.Verify()
	if p.cfg.ObserveVerify != nil {
		p.cfg.ObserveVerify(time.Since(start))
	}
	p.afterVerify(w, err == nil)
	if err != nil {
		w.v.reject(BadSignature, err, withKid)
		return
	}
	p.decode(w)
}

// precheck runs the checks that come before the Ed25519 verification, on
// the datagram's head only (checks 1 to 11 of §5): a verdict of None
// means the frame is worth verifying, and w.jws holds it. The payload
// past its first [frame.MaxHead] bytes is not read.
func (p *Pipeline) precheck(w *work, datagram []byte, sample bool) {
	w.v = Verdict{Facts: Facts{Size: len(datagram)}}
	v := &w.v
	w.unsigned, w.prod, w.tag = false, nil, tagNone // w may hold the last datagram's state
	if len(datagram) > p.cfg.MaxDatagram {
		v.limit = p.cfg.MaxDatagram
		v.reject(TooBig, errTooBig, tooBig)
		return
	}
	if w.unsigned = p.cfg.AllowUnsigned && isUnsigned(datagram); w.unsigned {
		p.precheckUnsigned(w, datagram, sample)
		return
	}
	t := p.trust.Load()
	m, refused := t.ring.Check(datagram)
	if err := refused.Err(); err != nil {
		v.refusal = refused
		if isUnsigned(datagram) && frame.ParseV1(&w.frame, datagram) == nil {
			// A version 1.0 frame, which this pipeline does not accept:
			// as Handle counts it, a malformed JWS.
			v.Facts.Source, v.Facts.DataBytes = w.frame.Source, len(w.frame.Data)
			v.reject(signReason(err), err, unsignedRefused)
			return
		}
		v.reject(signReason(err), err, refusal)
		return
	}
	w.trust, w.prod = t, t.producers[m.KeyID]
	v.Facts.KeyID, v.Facts.Valid = m.KeyID, m.Valid
	if seedwire.IsSeed(datagram) { // its payload is not a frame; seed datagrams are the seed command's
		if p.cfg.Member != nil { // or a member's
			p.openSeed(w, datagram)
			return
		}
		v.reject(Seed, ErrSeed, plain)
		return
	}
	// Validity, freshness, replay and sampling are judged on the
	// payload's first bytes, so a replayed, stale or unwanted frame costs
	// no verification and no decoding of the rest.
	epoch, seq, ms, err := frame.ParseHead(m.PayloadHead(w.head[:0], frame.MaxHead))
	if err != nil {
		v.reject(Malformed, err, plain)
		return
	}
	v.Facts.Epoch, v.Facts.Seq, v.Facts.Time = epoch, seq, ms
	if !m.Valid.Contains(time.UnixMilli(ms)) {
		v.reject(KeyNotValid, ErrKeyNotValid, notValid)
		return
	}
	p.mu.Lock()
	err = p.guard.Check(&w.prod.filter, epoch, seq, ms)
	p.mu.Unlock()
	if err != nil {
		v.reject(replayReason(err), err, replayed)
		return
	}
	// Check 10, the member tag (docs/protocol.md §5): after replay,
	// before sampling and the signature.
	if !p.memberCheck(w, &m, epoch, seq) {
		return
	}
	if sample && p.cfg.Sample != nil {
		p.mu.Lock()
		keep := p.cfg.Sample.Keep(p.now(), w.frameID(m.KeyID, epoch, seq))
		p.mu.Unlock()
		if !keep {
			v.Reason, v.KeyID = SampledOut, m.KeyID
			return
		}
	}
	w.jws = m
}

// decode runs the check that follows a good signature (check 13 of §5):
// the whole payload is canonical base64url and a canonical frame, and its
// entropy bytes decode; it leaves them in w.frame. A frame it refuses is
// [Malformed], though signed by its key: only the key's owner makes one.
// It is not recorded in the replay window (§5.2), like every drop.
func (p *Pipeline) decode(w *work) {
	v, m := &w.v, &w.jws
	v.signed = true
	if err := m.DecodePayload(w.payload); err != nil {
		v.reject(Malformed, err, notCanonical)
		return
	}
	w.payload = m.Payload[:0] // keep a buffer that grew
	d, err := frame.ParseFields(&w.frame, m.Payload)
	if err != nil {
		v.reject(Malformed, err, plain)
		return
	}
	v.Facts.Source = w.frame.Source
	if err := frame.DecodeData(&w.frame, d); err != nil {
		v.reject(Malformed, err, plain)
		return
	}
	v.Facts.DataBytes = len(w.frame.Data)
	v.KeyID = m.KeyID
}

// finish completes a frame that check passed, in arrival order, and
// writes its bytes; it counts every datagram, and returns its verdict.
func (p *Pipeline) finish(w *work) (Verdict, error) {
	v := &w.v
	if v.Reason == None {
		p.admit(w)
	}
	if v.Reason != None {
		p.dropped[v.Reason].Add(1)
		if v.KeyID != "" && !w.unsigned {
			w.prod.dropped[v.Reason].Add(1)
		}
		return *v, nil
	}
	if p.cfg.Limit > 0 && p.frames.Load() >= p.cfg.Limit {
		return Verdict{}, ErrLimit
	}
	data := w.frame.Data
	if _, err := p.cfg.Output.Write(data); err != nil {
		switch {
		case isFull(err):
			v.Reason = OutputFull
		case isTooBig(err):
			v.Reason = OutputTooBig
		default:
			return Verdict{}, fmt.Errorf("%w: %w", ErrOutput, err)
		}
		v.Err = err
		p.dropped[v.Reason].Add(1)
		if !w.unsigned {
			w.prod.dropped[v.Reason].Add(1)
		}
		if v.Reason == OutputFull {
			p.full.Store(p.now().UnixNano())
		}
		return *v, nil
	}
	p.wrote.Store(p.now().UnixNano())
	if p.cfg.Sample != nil {
		p.mu.Lock()
		p.cfg.Sample.Kept(p.now())
		p.mu.Unlock()
	}
	p.bytes.Add(uint64(len(data)))
	if w.unsigned {
		p.nUnsign.Add(1)
		p.heard.Store(p.now().UnixNano())
	} else {
		w.prod.forwarded.Add(1)
		w.prod.bytes.Add(uint64(len(data)))
	}
	if n := p.frames.Add(1); p.cfg.Limit > 0 && n >= p.cfg.Limit {
		return *v, ErrLimit
	}
	return *v, nil
}

// admit runs the checks of a frame that check passed that must run in
// arrival order: its key must still be trusted (the keyring may have
// changed since check), the replay window must still take it (which
// catches a frame verified twice at once by parallel workers) and then
// records it, the health check must pass and the sampler still be open.
func (p *Pipeline) admit(w *work) {
	v := &w.v
	if !w.unsigned {
		if t := p.trust.Load(); t != w.trust {
			k, ok := t.ring.Lookup(v.KeyID)
			if !ok {
				v.reject(UnknownKey, sign.ErrUnknownKey, unknownNow)
				return
			}
			if v.Facts.Valid = k.Valid; !k.Valid.Contains(time.UnixMilli(v.Facts.Time)) {
				v.reject(KeyNotValid, ErrKeyNotValid, notValid)
				return
			}
		}
		prod := w.prod
		prod.frames.Add(1)
		t := p.now().UnixNano()
		prod.last.Store(t)
		p.heard.Store(t)
		p.mu.Lock()
		err := p.guard.Check(&prod.filter, v.Facts.Epoch, v.Facts.Seq, v.Facts.Time)
		if err == nil {
			// Only a verified frame moves the window.
			p.guard.Commit(&prod.filter, v.Facts.Epoch, v.Facts.Seq)
		}
		p.mu.Unlock()
		if err != nil {
			v.reject(replayReason(err), err, replayed)
			return
		}
	}
	if p.cfg.Health != nil {
		if w.prod.health == nil {
			w.prod.health = p.cfg.Health(v.KeyID)
		}
		if err := w.prod.health.Check(w.frame.Data); err != nil {
			v.Reason, v.Err = Unhealthy, err
			switch {
			case v.BlockFailed():
				// Refused, and nothing else: the producer's state is
				// what it was.
				w.prod.blocks.Add(1)
				return
			case v.HealthFailed():
				w.prod.failures.Add(1)
			}
			if !w.prod.unhealthy.Swap(true) {
				v.Health = BecameUnhealthy
			}
			return
		}
		if w.prod.unhealthy.Swap(false) {
			v.Health = Recovered
		}
	}
	if p.cfg.Sample != nil {
		p.mu.Lock()
		open := p.cfg.Sample.Open(p.now())
		p.mu.Unlock()
		if !open {
			*v = Verdict{Reason: SampledOut, KeyID: v.KeyID, Facts: v.Facts, Health: v.Health}
		}
	}
}

// isFull reports whether err is an output's "full" ([Config.Output]).
func isFull(err error) bool {
	var full interface{ Full() bool }
	return errors.As(err, &full) && full.Full()
}

// isTooBig reports whether err is an output's "too big" ([Config.Output]).
func isTooBig(err error) bool {
	var big interface{ TooBig() bool }
	return errors.As(err, &big) && big.TooBig()
}

var errTooBig = errors.New("receive: datagram over the size limit")

// ErrKeyNotValid reports a frame made outside its key's validity period.
var ErrKeyNotValid = errors.New("receive: frame made outside its key's validity period")

// ErrSeed reports a seed datagram (docs/protocol.md §9), which carries
// sealed per-host seeds for the seed command, not entropy for recv.
var ErrSeed = errors.New("receive: a seed datagram (sealed per-host seeds, for ssmrandom seed), not a frame")

// ErrLimit is returned once [Config.Limit] frames were forwarded.
var ErrLimit = errors.New("receive: frame limit reached")

// signReasons are the reasons of the refusals of [sign.Keyring.Check];
// any other is [Malformed].
var signReasons = []reason.Case[Reason]{{Err: sign.ErrBadAlg, Reason: BadAlg}, {Err: sign.ErrUnknownKey, Reason: UnknownKey}, {Err: sign.ErrBadSignature, Reason: BadSignature}}

// signReason maps a refusal of [sign.Keyring.Check] to a Reason.
func signReason(err error) Reason { return reason.Of(err, Malformed, signReasons...) }

// replayReasons are the reasons of the errors of [replay.Guard.Check];
// any other is [Replay].
var replayReasons = []reason.Case[Reason]{{Err: replay.ErrStale, Reason: Stale}, {Err: replay.ErrFuture, Reason: Future}}

// replayReason maps an error of [replay.Guard.Check] to a Reason.
func replayReason(err error) Reason { return reason.Of(err, Replay, replayReasons...) }

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	s := Stats{Datagrams: p.received.Load(), Frames: p.frames.Load(), Bytes: p.bytes.Load(), Unsigned: p.nUnsign.Load(), Member: p.member.load()}
	for i := range p.dropped {
		s.Dropped[i] = p.dropped[i].Load()
	}
	return s
}

// Alarms are the conditions in which a receiver does not do its job,
// each held for at least the time given to [Pipeline.Alarms].
type Alarms struct {
	// Silent: no producer sent a verified frame (or, with
	// [Config.AllowUnsigned], a forwarded unsigned one) for that long,
	// or since the Pipeline was made.
	Silent bool
	// Stuck: the output was full when last written to, and took nothing
	// for that long: nobody drains it.
	Stuck bool
	// Heard is when the last verified frame was checked, and Wrote when
	// the output last took a frame; zero if never.
	Heard, Wrote time.Time
}

// Any reports whether an alarm is raised.
func (a Alarms) Any() bool { return a.Silent || a.Stuck }

// Alarms returns the alarms raised now for a time of after: a receiver
// that heard nothing for after, or whose output took nothing for after
// while it was full. It is safe to call from any goroutine.
func (p *Pipeline) Alarms(after time.Duration) Alarms {
	now := p.now().UnixNano()
	heard, wrote, full := p.heard.Load(), p.wrote.Load(), p.full.Load()
	a := Alarms{Heard: unixNano(heard), Wrote: unixNano(wrote)}
	a.Silent = now-max(heard, p.start.Load()) >= int64(after)
	a.Stuck = full > wrote && now-max(wrote, p.start.Load()) >= int64(after)
	return a
}

// unixNano returns the time of Unix nanoseconds ns, zero for 0.
func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
