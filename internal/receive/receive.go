// Package receive is the receive path of ssmrandom: it takes datagrams as
// they come off the socket, checks each one (size, JWS, trusted key,
// payload, freshness and replay, signature) and writes the entropy bytes
// of those that pass to an output. Anything else is dropped and counted by
// [Reason]; not one of its bytes reaches the output.
//
// The checks run cheapest first (docs/protocol.md §5), so that a forged
// flood costs as little as it can: only a datagram that names a trusted
// key, carries a well-formed, fresh, unseen frame and has a signature of
// the right length costs an Ed25519 verification.
//
// The package does no socket I/O and no logging: the caller reads the
// datagrams, and reads the counts with [Pipeline.Stats].
package receive

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/sink"
)

// Reason says why a datagram was not forwarded.
type Reason int

// The reasons, in the order the checks run.
const (
	Forwarded    Reason = iota // not a reject: the bytes were written
	TooBig                     // the datagram is over the size limit
	Malformed                  // not a compact JWS, or a payload that is not a canonical IEDP frame
	BadAlg                     // the JWS alg is not EdDSA
	UnknownKey                 // the kid is not in the keyring
	KeyNotValid                // the frame's time is outside its key's validity period
	Stale                      // the frame is older than the maximum age, or older than the receiver
	Future                     // the frame is dated further ahead than the maximum skew
	Replay                     // the frame was forwarded before, is behind the window, or of an earlier epoch
	SampledOut                 // not a reject: sampling chose not to keep the frame (so it was not verified)
	BadSignature               // the signature does not verify
	Unhealthy                  // verified, but the producer's bytes fail the health tests
	OutputFull                 // verified, but the output would block (a FIFO nobody drains)
	numReasons
)

var reasonNames = [numReasons]string{
	Forwarded:    "forwarded",
	TooBig:       "too_big",
	Malformed:    "malformed",
	BadAlg:       "bad_alg",
	UnknownKey:   "unknown_key",
	KeyNotValid:  "key_not_valid",
	Stale:        "stale",
	Future:       "future",
	Replay:       "replay",
	SampledOut:   "sampled_out",
	BadSignature: "bad_signature",
	Unhealthy:    "unhealthy",
	OutputFull:   "output_full",
}

// String returns the reason's name as it appears in logs and metrics,
// such as "bad_signature".
func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return fmt.Sprintf("Reason(%d)", int(r))
	}
	return reasonNames[r]
}

// Reasons returns every reason other than [Forwarded], in check order.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := TooBig; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Stats is a snapshot of a [Pipeline]'s counters.
type Stats struct {
	Datagrams uint64             // datagrams handled
	Frames    uint64             // frames forwarded
	Bytes     uint64             // entropy bytes forwarded
	Dropped   [numReasons]uint64 // datagrams dropped, by reason; Dropped[Forwarded] is 0
	Unsigned  uint64             // unsigned version 1.0 frames forwarded (Config.AllowUnsigned), also counted in Frames and Bytes
}

// Rejected returns the number of datagrams dropped for any reason but
// [SampledOut], which is by choice.
func (s Stats) Rejected() uint64 {
	var n uint64
	for r, c := range s.Dropped {
		if Reason(r) != SampledOut {
			n += c
		}
	}
	return n
}

// Config configures a [Pipeline].
type Config struct {
	// Trust holds the keys whose frames are forwarded. Required, with at
	// least one key; [Pipeline.SetTrust] replaces it.
	Trust *sign.Keyring
	// Output receives the entropy bytes of each forwarded frame in one
	// Write. A Write error wrapping [sink.ErrFull] drops the frame
	// ([OutputFull]); any other error is returned by [Pipeline.Handle].
	Output io.Writer
	// MaxDatagram is the size limit in bytes; larger datagrams are
	// dropped before any parsing. Required.
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
	// verified bytes; it is called once per key, on its first verified
	// frame. A frame whose check fails is dropped as [Unhealthy].
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
}

// Sampler decides which frames to keep (package sample's Sampler).
type Sampler interface {
	// Keep reports whether to keep a frame that arrives at now.
	Keep(now time.Time) bool
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
// [New]. Handle must not be called concurrently; Stats may be called from
// any goroutine at any time.
type Pipeline struct {
	cfg    Config
	now    func() time.Time
	work   work // the sequential path's buffers
	health map[string]HealthCheck
	trust  atomic.Pointer[sign.Keyring]

	producers sync.Map // kid → *producer, for keys that sent a verified frame

	mu    sync.Mutex // guards guard and sample, shared with parallel workers
	guard *replay.Guard

	received atomic.Uint64
	frames   atomic.Uint64
	bytes    atomic.Uint64
	dropped  [numReasons]atomic.Uint64
	unsigned atomic.Uint64 // unsigned frames forwarded
}

// New returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Trust == nil || cfg.Trust.Len() == 0 {
		return nil, errors.New("receive: no trusted key")
	}
	if cfg.Output == nil {
		return nil, errors.New("receive: no output")
	}
	if cfg.MaxDatagram <= 0 {
		return nil, errors.New("receive: no datagram size limit")
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = replay.DefaultMaxAge
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = replay.DefaultMaxSkew
	}
	guard, err := replay.New(replay.Config{MaxAge: cfg.MaxAge, MaxSkew: cfg.MaxSkew, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{cfg: cfg, now: now, guard: guard, work: newWork(cfg.MaxDatagram), health: make(map[string]HealthCheck)}
	p.trust.Store(cfg.Trust)
	p.cfg.Trust = nil // p.trust is the keyring in use; a reload must not leave the first one here
	return p, nil
}

// SetTrust replaces the keyring, at once and as a whole: from the next
// check on, frames are accepted only from ring's keys, within their
// validity periods, including frames already being checked (their key is
// looked up again before they are written). An empty ring trusts nothing.
// A key that stays keeps its replay state, health state and counters. It
// is safe to call from any goroutine.
func (p *Pipeline) SetTrust(ring *sign.Keyring) {
	if ring == nil {
		ring = new(sign.Keyring)
	}
	p.trust.Store(ring)
}

// Trust returns the keyring in use.
func (p *Pipeline) Trust() *sign.Keyring { return p.trust.Load() }

// producer holds one producer key's counters.
type producer struct {
	frames, forwarded, bytes atomic.Uint64
	last                     atomic.Int64 // Unix nanoseconds of the last verified frame
}

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
}

// Producers returns the counters of each key in the keyring in use and of
// each key that sent a verified frame before it was removed, sorted by
// key id.
func (p *Pipeline) Producers() []ProducerStats {
	ring := p.trust.Load()
	var out []ProducerStats
	seen := make(map[string]bool)
	for _, k := range ring.Keys() {
		out = append(out, ProducerStats{KeyID: k.ID, File: k.File, Valid: k.Valid, Trusted: true})
		seen[k.ID] = true
	}
	p.producers.Range(func(kid, _ any) bool {
		if !seen[kid.(string)] {
			out = append(out, ProducerStats{KeyID: kid.(string)})
		}
		return true
	})
	slices.SortFunc(out, func(a, b ProducerStats) int { return strings.Compare(a.KeyID, b.KeyID) })
	for i := range out {
		if v, ok := p.producers.Load(out[i].KeyID); ok {
			c := v.(*producer)
			out[i].Frames, out[i].Forwarded, out[i].Bytes = c.frames.Load(), c.forwarded.Load(), c.bytes.Load()
			if ns := c.last.Load(); ns != 0 {
				out[i].LastFrame = time.Unix(0, ns)
			}
		}
	}
	return out
}

// producer returns the counters of kid, made on first use.
func (p *Pipeline) producer(kid string) *producer {
	if v, ok := p.producers.Load(kid); ok {
		return v.(*producer)
	}
	v, _ := p.producers.LoadOrStore(kid, new(producer))
	return v.(*producer)
}

// Verdict is the outcome of one datagram.
type Verdict struct {
	Reason Reason // Forwarded, or why the datagram was dropped
	KeyID  string // the signing key, once the signature has been verified
	Err    error  // for a drop, the check that failed
}

// Handle runs every check on datagram and, if all pass, writes the
// frame's entropy bytes to the output. The returned error is only for a
// failed output write other than a full one, or [ErrLimit]; the caller
// decides whether that ends the run, and the Verdict then means nothing.
// Handle does not keep datagram.
//
// A frame is marked seen once its signature verifies, before the write: a
// frame dropped because the output was full is not forwarded later when
// another copy of it arrives.
func (p *Pipeline) Handle(datagram []byte) (Verdict, error) {
	p.received.Add(1)
	v := p.check(&p.work, datagram)
	return p.finish(&p.work, v)
}

// work holds the buffers of one frame in flight.
type work struct {
	head    []byte      // the payload's first bytes, for the freshness and replay check
	payload []byte      // the decoded JWS payload
	frame   frame.Frame // the decoded frame
	signed  sign.Signed // the datagram, once prechecked
	// unsigned says that frame is an unsigned version 1.0 frame, which
	// has no signature to verify (Config.AllowUnsigned).
	unsigned bool
}

func newWork(maxDatagram int) work {
	return work{
		head:    make([]byte, 0, frame.MaxHead+3),
		payload: make([]byte, 0, maxDatagram),
		frame:   frame.Frame{Data: make([]byte, 0, maxDatagram)},
	}
}

// check runs the checks up to and including the signature, cheapest
// first, and leaves the decoded frame in w. It changes no replay state, so
// it may run on several frames at once. Its errors are sentinels:
// [Pipeline.Explain] says more.
func (p *Pipeline) check(w *work, datagram []byte) Verdict {
	v := p.precheck(w, datagram)
	if v.Reason == Forwarded && !w.unsigned {
		var start time.Time
		if p.cfg.ObserveVerify != nil {
			start = time.Now()
		}
		err := w.signed.Verify()
		if p.cfg.ObserveVerify != nil {
			p.cfg.ObserveVerify(time.Since(start))
		}
		if err != nil {
			return Verdict{Reason: BadSignature, Err: err}
		}
	}
	return v
}

// precheck is check but for the Ed25519 verification: a Verdict of
// Forwarded means the frame is worth verifying, and w.signed holds it.
func (p *Pipeline) precheck(w *work, datagram []byte) Verdict {
	w.unsigned = false // w may hold the last datagram's state
	if len(datagram) > p.cfg.MaxDatagram {
		return Verdict{Reason: TooBig, Err: errTooBig}
	}
	if w.unsigned = p.cfg.AllowUnsigned && isUnsigned(datagram); w.unsigned {
		return p.precheckUnsigned(w, datagram)
	}
	m, err := p.trust.Load().ParseLazy(datagram)
	if err != nil {
		return Verdict{Reason: signReason(err), Err: err}
	}
	// Validity, freshness and replay are judged on the payload's first
	// bytes, so a replayed or stale frame costs no decoding of the rest.
	epoch, seq, t, err := frame.ParseHead(m.PayloadHead(w.head[:0], frame.MaxHead))
	if err != nil {
		return Verdict{Reason: Malformed, Err: err}
	}
	if !m.Valid.Contains(time.UnixMilli(t)) {
		return Verdict{Reason: KeyNotValid, Err: ErrKeyNotValid}
	}
	p.mu.Lock()
	err = p.guard.Check(m.KeyID, epoch, seq, t)
	keep := err != nil || p.cfg.Sample == nil || p.cfg.Sample.Keep(p.now())
	p.mu.Unlock()
	if err != nil {
		return Verdict{Reason: replayReason(err), Err: err}
	}
	if err := m.DecodePayload(w.payload); err != nil {
		return Verdict{Reason: Malformed, Err: err}
	}
	w.payload = m.Payload[:0] // keep a buffer that grew
	d, err := frame.ParseFields(&w.frame, m.Payload)
	if err != nil {
		return Verdict{Reason: Malformed, Err: err}
	}
	f := &w.frame
	if !keep {
		return Verdict{Reason: SampledOut, KeyID: m.KeyID}
	}
	if err := frame.DecodeData(f, d); err != nil {
		return Verdict{Reason: Malformed, Err: err}
	}
	w.signed = m
	return Verdict{Reason: Forwarded, KeyID: m.KeyID}
}

// finish completes a frame that check passed, in arrival order: it checks
// and records the frame in the replay window (which catches a frame
// verified twice at once by parallel workers), runs the health check and
// writes the bytes. It counts every datagram.
func (p *Pipeline) finish(w *work, v Verdict) (Verdict, error) {
	var prod *producer
	if v.Reason == Forwarded && !w.unsigned {
		// The keyring may have changed since check: the key must still
		// be trusted, and the frame within its (perhaps new) validity.
		f := &w.frame
		if k, ok := p.trust.Load().Lookup(v.KeyID); !ok {
			v = Verdict{Reason: UnknownKey, Err: sign.ErrUnknownKey}
		} else if !k.Valid.Contains(time.UnixMilli(f.Time)) {
			v = Verdict{Reason: KeyNotValid, Err: ErrKeyNotValid}
		}
	}
	if v.Reason == Forwarded && !w.unsigned {
		f := &w.frame
		prod = p.producer(v.KeyID)
		prod.frames.Add(1)
		prod.last.Store(p.now().UnixNano())
		p.mu.Lock()
		err := p.guard.Check(v.KeyID, f.Epoch, f.Seq, f.Time)
		if err == nil {
			// Only a verified frame moves the window.
			p.guard.Commit(v.KeyID, f.Epoch, f.Seq)
		}
		p.mu.Unlock()
		if err != nil {
			v = Verdict{Reason: replayReason(err), Err: err}
		}
	}
	if v.Reason == Forwarded && p.cfg.Health != nil {
		h := p.health[v.KeyID]
		if h == nil {
			h = p.cfg.Health(v.KeyID)
			p.health[v.KeyID] = h
		}
		if err := h.Check(w.frame.Data); err != nil {
			v.Reason, v.Err = Unhealthy, err
		}
	}
	if v.Reason == Forwarded && p.cfg.Sample != nil {
		p.mu.Lock()
		open := p.cfg.Sample.Open(p.now())
		p.mu.Unlock()
		if !open {
			v = Verdict{Reason: SampledOut, KeyID: v.KeyID}
		}
	}
	if v.Reason == Forwarded && p.cfg.Limit > 0 && p.frames.Load() >= p.cfg.Limit {
		return Verdict{}, ErrLimit
	}
	if v.Reason == Forwarded {
		_, err := p.cfg.Output.Write(w.frame.Data)
		switch {
		case err == nil:
			if p.cfg.Sample != nil {
				p.mu.Lock()
				p.cfg.Sample.Kept(p.now())
				p.mu.Unlock()
			}
			p.bytes.Add(uint64(len(w.frame.Data)))
			if prod != nil {
				prod.forwarded.Add(1)
				prod.bytes.Add(uint64(len(w.frame.Data)))
			} else {
				p.unsigned.Add(1)
			}
			if n := p.frames.Add(1); p.cfg.Limit > 0 && n >= p.cfg.Limit {
				return v, ErrLimit
			}
			return v, nil
		case errors.Is(err, sink.ErrFull):
			v.Reason, v.Err = OutputFull, err
		default:
			return Verdict{}, fmt.Errorf("receive: write output: %w", err)
		}
	}
	p.dropped[v.Reason].Add(1)
	return v, nil
}

var errTooBig = errors.New("receive: datagram over the size limit")

// ErrKeyNotValid reports a frame made outside its key's validity period.
var ErrKeyNotValid = errors.New("receive: frame made outside its key's validity period")

// ErrLimit is returned once [Config.Limit] frames were forwarded.
var ErrLimit = errors.New("receive: frame limit reached")

// Explain runs the checks on datagram again, without counting it or
// changing any state, and returns an error that says what is wrong with
// it in more words than a [Verdict] does, or nil. It is for logs.
func (p *Pipeline) Explain(datagram []byte) error {
	if len(datagram) > p.cfg.MaxDatagram {
		return fmt.Errorf("receive: datagram over the limit of %d bytes", p.cfg.MaxDatagram)
	}
	if isUnsigned(datagram) {
		if done, err := p.explainUnsigned(datagram); done {
			return err
		}
	}
	ring := p.trust.Load()
	m, err := ring.ParseLazy(datagram)
	if err != nil {
		_, _, err = ring.Verify(datagram) // the same check, in words
		return err
	}
	epoch, seq, t, err := frame.ParseHead(m.PayloadHead(nil, frame.MaxHead))
	if err != nil {
		return err
	}
	if at := time.UnixMilli(t); !m.Valid.Contains(at) {
		return fmt.Errorf("%w: kid %s is valid %s, frame made %s", ErrKeyNotValid, m.KeyID, m.Valid, at.UTC().Format(time.RFC3339))
	}
	p.mu.Lock()
	err = p.guard.Check(m.KeyID, epoch, seq, t)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: kid %s, epoch %d, seq %d, time %s", err, m.KeyID, epoch, seq, time.UnixMilli(t).UTC().Format(time.RFC3339Nano))
	}
	if err := m.DecodePayload(nil); err != nil {
		return fmt.Errorf("%w: payload is not canonical base64url", err)
	}
	var f frame.Frame
	d, err := frame.ParseFields(&f, m.Payload)
	if err != nil {
		return err
	}
	if err := frame.DecodeData(&f, d); err != nil {
		return err
	}
	if err := m.Verify(); err != nil {
		return fmt.Errorf("%w: kid %s", err, m.KeyID)
	}
	return nil
}

// signReason maps an error of [sign.Keyring.Parse] to a Reason.
func signReason(err error) Reason {
	switch {
	case errors.Is(err, sign.ErrBadAlg):
		return BadAlg
	case errors.Is(err, sign.ErrUnknownKey):
		return UnknownKey
	case errors.Is(err, sign.ErrBadSignature):
		return BadSignature
	default:
		return Malformed
	}
}

// replayReason maps an error of [replay.Guard.Check] to a Reason.
func replayReason(err error) Reason {
	switch err {
	case replay.ErrStale:
		return Stale
	case replay.ErrFuture:
		return Future
	default:
		return Replay
	}
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	s := Stats{Datagrams: p.received.Load(), Frames: p.frames.Load(), Bytes: p.bytes.Load(), Unsigned: p.unsigned.Load()}
	for i := range p.dropped {
		s.Dropped[i] = p.dropped[i].Load()
	}
	return s
}
