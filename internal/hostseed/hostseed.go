// Package hostseed takes this host's sealed seeds off the channel: it runs
// the host's checks of docs/protocol.md §9.6 on each datagram, in order,
// opens the entry for its host key in the seed datagrams that pass, keeps
// one seed per distinct trusted producer key and, once it has as many as
// it needs, combines them into one seed ([seal.Combine], §9.7).
//
// The checks run cheapest first: the size limit, whether the datagram is
// a seed datagram at all ([seedwire.IsSeed]) and whether it has an entry
// for this host ([seedwire.Scan]) come before any signature work, so a
// flood of frames or of seeds for other hosts costs little. Then the same
// strict JWS rules, trusted key, key validity, freshness and replay
// checks as frames ([sign.Keyring.Check], package replay; one replay
// state per producer key), the signature, and the HPKE open of the entry.
//
// Each datagram gets one [Verdict]; [Taker.Stats] counts them by
// [Reason], so that a host that timed out can say what it heard
// ([Stats.Heard]). [Run] is the read loop around a [Taker]. The checks
// themselves are an [Opener]'s, which a member recv's receive pipeline
// holds too (docs/protocol.md §10): it opens every round's entry for its
// member key, and gives check 10, the member tag, through [Tags]. The
// package does no socket I/O and no logging, and no verdict, count or
// error holds a seed.
package hostseed

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nordunet/ssmrandom/internal/reason"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// Reason says what became of a datagram; its zero value, [Taken], means
// its seed was taken.
type Reason int

// The reasons, in the order the checks run (docs/protocol.md §9.6).
const (
	Taken            Reason = iota // the entry opened and its seed was kept
	TooBig                         // over the datagram size limit
	NotSeed                        // not a seed datagram (a frame): skipped
	Malformed                      // not a canonical seed datagram, or a malformed member plaintext
	UnsupportedSuite               // sealed with an HPKE suite this host does not know
	OtherHost                      // no entry for this host: skipped, not a reject
	BadAlg                         // the JWS alg is not EdDSA
	UnknownKey                     // the kid is not in the keyring: an untrusted signer
	KeyNotValid                    // made outside its key's validity period
	Stale                          // older than the maximum age, or than this host's start
	Future                         // dated further ahead than the maximum skew
	Replay                         // seen before, behind the window, or of an earlier epoch
	BadTag                         // a member's check of the member tag failed (§10; only with [Opener.Open]'s tags)
	BadSignature                   // the signature does not verify
	OpenFailed                     // the entry does not open with this host key
	Again                          // verified and opened, but its producer key has given a seed already: not used
	numReasons
)

// reasons are the words of each reason: its name, as in logs and
// docs/protocol.md §9.6, and its count as [Stats.Heard] says it.
var reasons = [numReasons]struct{ name, heard string }{
	Taken:            {"taken", "%d seeds taken"},
	TooBig:           {"too_big", "%d over the size limit (too_big)"},
	NotSeed:          {"not_seed", "%d frames or other datagrams that are not seed datagrams (not_seed)"},
	Malformed:        {"malformed", "%d malformed (malformed)"},
	UnsupportedSuite: {"unsupported_suite", "%d sealed with an unsupported HPKE suite (unsupported_suite)"},
	OtherHost:        {"other_host", "%d seed datagrams with no entry for this host (other_host)"},
	BadAlg:           {"bad_alg", "%d with an alg other than EdDSA (bad_alg)"},
	UnknownKey:       {"unknown_key", "%d from untrusted signers (unknown_key)"},
	KeyNotValid:      {"key_not_valid", "%d signed outside their key's validity period (key_not_valid)"},
	Stale:            {"stale", "%d stale (stale: older than the maximum age, or than this run)"},
	Future:           {"future", "%d dated in the future (future: check the clocks)"},
	Replay:           {"replay", "%d replayed (replay)"},
	BadTag:           {"bad_tag", "%d with a bad member tag (bad_tag)"},
	BadSignature:     {"bad_signature", "%d with a bad signature (bad_signature)"},
	OpenFailed:       {"open_failed", "%d entries for this host that failed to open (open_failed: the wrong host key?)"},
	Again:            {"again", "%d more seeds of producers already taken (again)"},
}

// reasonNames are the reasons' names, for [Reason.String].
var reasonNames = func() (names [numReasons]string) {
	for r, w := range reasons {
		names[r] = w.name
	}
	return names
}()

// String returns the reason's name as in logs and docs/protocol.md §9.6,
// such as "other_host".
func (r Reason) String() string {
	return reason.Name(reasonNames[:], r)
}

// Reasons returns every reason, [Taken] first, in check order.
func Reasons() []Reason {
	return reason.From(Taken, numReasons)
}

// Errors a [Verdict] wraps for the reasons that have no sentinel of
// another package.
var (
	ErrTooBig      = errors.New("hostseed: datagram over the size limit")
	ErrNotSeed     = errors.New("hostseed: not a seed datagram")
	ErrOtherHost   = errors.New("hostseed: no entry for this host")
	ErrKeyNotValid = errors.New("hostseed: datagram made outside its key's validity period")
	ErrAgain       = errors.New("hostseed: this producer key has given a seed already")
)

// Verdict is the outcome of one datagram: the reason, the error of the
// check that decided it and what the checks read of the datagram. It
// never holds a seed.
type Verdict struct {
	Reason Reason
	Err    error // nil for Taken; the check that failed otherwise
	Facts  Facts
	// Verified says that the datagram's signature verified (check 11 of
	// §9.6 passed), whatever came of it after.
	Verified bool
}

// Facts are what the checks read of a datagram, as far as they got; a
// field stays zero if no check reached it. They are authentic only for a
// datagram whose signature verified ([Taken], [OpenFailed], [Again]).
type Facts struct {
	Size  int    // the datagram's length in bytes
	KeyID string // the trusted key its header names
	Epoch uint64 // the payload's e
	Seq   uint64 // its n
	Time  int64  // its t, Unix milliseconds
	Round uint64 // its round
}

// Why returns an error that says what became of the datagram, with the
// facts that matter, wrapping Err; nil for [Taken]. It is for logs.
func (v Verdict) Why() error {
	f := &v.Facts
	switch v.Reason {
	case Taken:
		return nil
	case KeyNotValid, Stale, Future, Replay, BadTag, BadSignature, OpenFailed, Again:
		return fmt.Errorf("%w: kid %s, epoch %d, seq %d, round %d, time %s", v.Err, f.KeyID, f.Epoch, f.Seq, f.Round,
			time.UnixMilli(f.Time).UTC().Format(time.RFC3339Nano))
	}
	return v.Err
}

// Config configures a [Taker].
type Config struct {
	// Trust holds the producer keys whose seeds are taken. Required, with
	// at least one key.
	Trust *sign.Keyring
	// Key is this host's key. Required.
	Key *seal.HostKey
	// Need is K, how many distinct producer keys must give a seed before
	// they are combined: 1 to 255, and no more than Trust holds.
	Need int
	// MaxDatagram is the datagram size limit in bytes; larger ones are
	// dropped unread. Required.
	MaxDatagram int
	// MaxAge and MaxSkew are the freshness limits (package replay); zero
	// means replay.DefaultMaxAge and replay.DefaultMaxSkew.
	MaxAge, MaxSkew time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Stats is a snapshot of a [Taker]'s counters.
type Stats struct {
	Datagrams uint64             // datagrams handled
	Count     [numReasons]uint64 // datagrams by reason; Count[Taken] is the seeds taken
	Need      int                // seeds needed (Config.Need)
}

// Taker takes this host's seeds. Make one with [New]; its zero value is
// not usable. It keeps one replay state per trusted producer key that
// sent a well-formed seed datagram for this host, so its memory is
// bounded by the keyring whatever arrives. It is not safe for concurrent
// use: one goroutine calls Handle, Done, Seed, Producers and Stats ([Run]
// does).
type Taker struct {
	open  *Opener
	need  int
	taken map[string]bool // the producer keys that gave a seed

	seeds []seal.Contribution // one per producer key, in arrival order, until Seed
	used  []string            // the kids of the seeds taken
	stats Stats
}

// Opener runs the host's checks of docs/protocol.md §9.6 on seed
// datagrams and opens this host's entry in each that passes: the part of
// a [Taker] that a member recv shares, which opens every round's entry
// (its member key, §10) instead of one seed per producer key. Make one
// with [NewOpener]; it keeps one replay state per trusted producer key
// that sent a well-formed seed datagram for this host. It is not safe
// for concurrent use.
type Opener struct {
	ring    *sign.Keyring
	key     *seal.HostKey
	max     int
	guard   *replay.Guard
	filters map[string]*replay.Filter // by kid, made for trusted keys only
	payload []byte                    // the decoded payload's buffer
	jws     sign.JWS                  // the datagram being checked, kept here so that Tags may take its address
}

// Tags is check 10 of §9.6 for a host that holds member keys (a member
// recv, §10): CheckTag is asked about a datagram that passed checks 1 to
// 9, with its epoch and sequence number, and returns nil to go on to the
// signature, or an error to drop it: one wrapping [ErrBadTag] as
// [BadTag], one wrapping sign.ErrBadSignature as [BadSignature] (a copy
// of a datagram whose signature already failed, §10.4). Verified is then
// told whether the signature of a datagram CheckTag let on verified.
type Tags interface {
	CheckTag(m *sign.JWS, epoch, seq uint64) error
	Verified(m *sign.JWS, epoch, seq uint64, ok bool)
}

// ErrBadTag reports a datagram whose member tag a member refuses (§10.4).
var ErrBadTag = errors.New("hostseed: bad member tag")

// New returns a Taker.
func New(cfg Config) (*Taker, error) {
	o, err := NewOpener(cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Need < 1 || cfg.Need > 255:
		return nil, fmt.Errorf("hostseed: need %d seeds; want 1 to 255", cfg.Need)
	case cfg.Need > cfg.Trust.Len():
		return nil, fmt.Errorf("hostseed: need seeds of %d distinct producer keys, and %d are trusted", cfg.Need, cfg.Trust.Len())
	}
	return &Taker{open: o, need: cfg.Need, taken: make(map[string]bool), stats: Stats{Need: cfg.Need}}, nil
}

// NewOpener returns an Opener of cfg, whose Need it ignores.
func NewOpener(cfg Config) (*Opener, error) {
	switch {
	case cfg.Trust == nil || cfg.Trust.Len() == 0:
		return nil, errors.New("hostseed: no trusted producer key")
	case cfg.Key == nil:
		return nil, errors.New("hostseed: no host key")
	case cfg.MaxDatagram <= 0:
		return nil, errors.New("hostseed: no datagram size limit")
	}
	guard, err := replay.New(replay.Config{MaxAge: cfg.MaxAge, MaxSkew: cfg.MaxSkew, Now: cfg.Now}.Defaults())
	if err != nil {
		return nil, fmt.Errorf("hostseed: %w", err)
	}
	return &Opener{ring: cfg.Trust, key: cfg.Key, max: cfg.MaxDatagram, guard: guard,
		filters: make(map[string]*replay.Filter), payload: make([]byte, 0, cfg.MaxDatagram)}, nil
}

// SetTrust replaces the keyring the Opener checks against; a key that
// stays, or comes back, keeps its replay state.
func (o *Opener) SetTrust(ring *sign.Keyring) { o.ring = ring }

// Key returns the host key.
func (o *Opener) Key() *seal.HostKey { return o.key }

// Handle runs the host's checks on datagram and, if it holds a seed for
// this host from a trusted producer key that has not given one yet, keeps
// the seed. It returns the datagram's verdict. Handle does not keep
// datagram.
func (t *Taker) Handle(datagram []byte) Verdict {
	t.stats.Datagrams++
	v := t.take(datagram)
	t.stats.Count[v.Reason]++
	return v
}

// take opens datagram's entry and keeps its seed if its producer key
// has not given one yet.
func (t *Taker) take(datagram []byte) Verdict {
	v, pt := t.open.Open(datagram, nil)
	defer clear(pt.Seed[:])
	if v.Reason != Taken {
		return v
	}
	kid := v.Facts.KeyID
	if t.taken[kid] {
		v.Reason, v.Err = Again, ErrAgain
		return v
	}
	t.taken[kid] = true
	t.used = append(t.used, kid)
	if len(t.seeds) < t.need {
		t.seeds = append(t.seeds, seal.Contribution{Producer: kid, Seed: pt.Seed})
	}
	return v
}

// Done reports whether seeds of Config.Need distinct producer keys were
// taken.
func (t *Taker) Done() bool { return len(t.used) >= t.need }

// Producers returns the kids of the producer keys whose seeds were taken,
// sorted.
func (t *Taker) Producers() []string {
	kids := slices.Clone(t.used)
	slices.Sort(kids)
	return kids
}

// ErrNotDone is returned by [Taker.Seed] before enough seeds were taken.
var ErrNotDone = errors.New("hostseed: not enough seeds yet")

// Seed returns the combination of the seeds taken (docs/protocol.md §9.7)
// once [Taker.Done]; before, [ErrNotDone]. The seeds taken are erased
// from the Taker: Seed returns the seed once, and ErrNotDone after. (A
// Taker keeps taking the seeds of new producer keys after it is done, but
// Seed uses the first Config.Need.)
func (t *Taker) Seed() ([seedwire.SeedSize]byte, error) {
	if !t.Done() || len(t.seeds) == 0 {
		return [seedwire.SeedSize]byte{}, ErrNotDone
	}
	seed, err := seal.Combine(t.seeds)
	for i := range t.seeds {
		clear(t.seeds[i].Seed[:])
	}
	t.seeds = nil
	return seed, err
}

// Stats returns the counters so far.
func (t *Taker) Stats() Stats { return t.stats }

// Open runs the checks of docs/protocol.md §9.6 in order on datagram and
// returns its verdict and, for [Taken], the plaintext of this host's
// entry: its seed, and its member key if it has one. The caller must
// erase the seed when done with it. tags, if not nil, is check 10 (a
// member's); nil skips it, as a host without member keys does. Open does
// not keep datagram.
func (o *Opener) Open(dg []byte, tags Tags) (Verdict, seedwire.Plaintext) {
	v := Verdict{Facts: Facts{Size: len(dg)}}
	reject := func(r Reason, err error) (Verdict, seedwire.Plaintext) {
		v.Reason, v.Err = r, err
		o.jws = sign.JWS{} // it refers to dg
		return v, seedwire.Plaintext{}
	}
	if len(dg) > o.max {
		return reject(TooBig, ErrTooBig)
	}
	if !seedwire.IsSeed(dg) {
		return reject(NotSeed, ErrNotSeed)
	}
	// The cheap filter: header and host ids only, before any signature.
	switch found, err := seedwire.Scan(dg, o.key.HostID()); {
	case err != nil:
		return reject(parseReason(err), err)
	case !found:
		return reject(OtherHost, ErrOtherHost)
	}
	var refusal sign.Refusal
	o.jws, refusal = o.ring.Check(dg)
	m := &o.jws
	if err := refusal.Err(); err != nil {
		return reject(signReason(err), refusal.Explain())
	}
	v.Facts.KeyID = m.KeyID
	if err := m.DecodePayload(o.payload); err != nil {
		return reject(Malformed, fmt.Errorf("hostseed: payload is not canonical base64url: %w", err))
	}
	o.payload = m.Payload[:0] // keep a buffer that grew
	p, err := seedwire.Parse(m.Payload)
	if err != nil {
		return reject(parseReason(err), err)
	}
	v.Facts.Epoch, v.Facts.Seq, v.Facts.Time, v.Facts.Round = p.Epoch, p.Seq, p.Time, p.Round
	if !m.Valid.Contains(time.UnixMilli(p.Time)) {
		return reject(KeyNotValid, fmt.Errorf("%w (valid %s)", ErrKeyNotValid, m.Valid))
	}
	filter := o.filters[m.KeyID]
	if filter == nil { // m.KeyID is in the keyring: the map is bounded by it
		filter = new(replay.Filter)
		o.filters[m.KeyID] = filter
	}
	if err := o.guard.Check(filter, p.Epoch, p.Seq, p.Time); err != nil {
		return reject(replayReason(err), err)
	}
	if tags != nil {
		if err := tags.CheckTag(m, p.Epoch, p.Seq); err != nil {
			if errors.Is(err, sign.ErrBadSignature) {
				return reject(BadSignature, err)
			}
			return reject(BadTag, err)
		}
	}
	err = m.Verify()
	if tags != nil {
		tags.Verified(m, p.Epoch, p.Seq, err == nil)
	}
	if err != nil {
		return reject(BadSignature, err)
	}
	v.Verified = true
	// Only a verified datagram moves the window. Open runs one datagram
	// at a time and the keyring does not change meanwhile, so check 12
	// of §9.6 is this commit alone.
	o.guard.Commit(filter, p.Epoch, p.Seq)
	pt, err := o.key.Open(&p, m.KeyID)
	switch {
	case errors.Is(err, seal.ErrOpen):
		return reject(OpenFailed, err)
	case errors.Is(err, seal.ErrNoEntry): // Scan found it; Parse agrees
		return reject(OtherHost, ErrOtherHost)
	case err != nil:
		return reject(parseReason(err), err)
	}
	o.jws = sign.JWS{} // it refers to dg
	return v, pt
}

// parseReason maps an error of package seedwire to a Reason.
func parseReason(err error) Reason {
	if errors.Is(err, seedwire.ErrSuite) {
		return UnsupportedSuite
	}
	return Malformed
}

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
