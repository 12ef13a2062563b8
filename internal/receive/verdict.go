package receive

import (
	"errors"
	"fmt"
	"time"

	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// Verdict is the outcome of one datagram: the reason it was dropped, or
// [None], with what the checks read of it on the way. It is made in one
// pass over the checks; [Verdict.Why] puts it in words for logs and tools
// without checking anything again.
type Verdict struct {
	Reason Reason // None, or why the datagram was dropped
	KeyID  string // the signing key, once the signature has been verified
	Err    error  // for a drop, the check that failed: a sentinel or a parse error
	Facts  Facts  // what the datagram says of itself, as far as it was read
	// Health says whether this frame changed its producer's health state:
	// the one event per failure and per recovery to log.
	Health HealthChange
	// Member says whether this datagram changed its producer's member
	// state (Config.Member): one event to log.
	Member MemberEvent

	detail  detail       // how Why words it
	refusal sign.Refusal // sign's words, for a datagram sign refused
	limit   int          // the datagram size limit, for TooBig
	signed  bool         // the signature verified (a drop after check 12)
}

// Facts are what the checks read of a datagram before they forwarded or
// dropped it; a field stays zero if no check got to it. Nothing in them
// is authentic unless the frame was forwarded: they are for logs.
type Facts struct {
	Size      int           // the datagram's length in bytes
	KeyID     string        // the trusted key its header names
	Valid     sign.Validity // that key's validity period
	Epoch     uint64        // the frame's "e"
	Seq       uint64        // the frame's "n"
	Time      int64         // the frame's "t", Unix milliseconds
	Source    string        // the frame's "s"
	DataBytes int           // the length of its entropy bytes, decoded
}

// detail says how [Verdict.Why] words a verdict.
type detail uint8

const (
	plain           detail = iota // Err as it is
	tooBig                        // over the datagram size limit
	refusal                       // sign refused it: sign's words
	unsignedRefused               // a version 1.0 frame, not accepted
	notCanonical                  // the payload is not canonical base64url
	withKid                       // Err, and the kid
	notValid                      // made outside its key's validity period
	replayed                      // stale, future or replay, with the frame's fields
	unsignedBad                   // an unsigned frame that does not parse
	unknownNow                    // the key was removed while the frame was checked
)

// reject makes v a drop for reason r, with error err worded as d. The
// KeyID goes: the frame is not verified, or not from a key trusted now.
func (v *Verdict) reject(r Reason, err error, d detail) {
	v.Reason, v.Err, v.detail, v.KeyID = r, err, d, ""
}

// Forwarded reports whether the datagram's bytes were written.
func (v Verdict) Forwarded() bool { return v.Reason == None }

// Why returns an error that says what is wrong with the datagram in more
// words than Err, with the facts that matter (the limit, the kid, the
// frame's fields and time), wrapping Err; nil for a forwarded datagram,
// and for one sampled out. It is for logs.
func (v Verdict) Why() error {
	err := v.why()
	if v.signed && v.Reason == Malformed {
		return fmt.Errorf("%w (signed by kid %s: its signature verified)", err, v.Facts.KeyID)
	}
	return err
}

// why is Why but for the note that the signature verified.
func (v Verdict) why() error {
	f := &v.Facts
	switch v.detail {
	case tooBig:
		return fmt.Errorf("receive: datagram over the limit of %d bytes", v.limit)
	case refusal:
		return v.refusal.Explain()
	case unsignedRefused:
		return fmt.Errorf("%w (source %q, %d bytes): %w", ErrUnsigned, f.Source, f.DataBytes, v.Err)
	case notCanonical:
		return fmt.Errorf("%w: payload is not canonical base64url", v.Err)
	case withKid:
		return fmt.Errorf("%w: kid %s", v.Err, f.KeyID)
	case notValid:
		return fmt.Errorf("%w: kid %s is valid %s, frame made %s", v.Err, f.KeyID, f.Valid, time.UnixMilli(f.Time).UTC().Format(time.RFC3339))
	case replayed:
		return fmt.Errorf("%w: kid %s, epoch %d, seq %d, time %s", v.Err, f.KeyID, f.Epoch, f.Seq, time.UnixMilli(f.Time).UTC().Format(time.RFC3339Nano))
	case unsignedBad:
		return fmt.Errorf("receive: unsigned frame: %w", v.Err)
	case unknownNow:
		return fmt.Errorf("%w: %q", v.Err, f.KeyID)
	}
	return v.Err
}

// HealthChange is a change of a producer's health state that a verified
// frame caused; its zero value, [HealthSame], is no change.
type HealthChange uint8

// The health changes.
const (
	HealthSame      HealthChange = iota // no change
	BecameUnhealthy                     // the frame failed a test, and the producer was healthy
	Recovered                           // the frame ended the producer's probation: it is forwarded again
)

// HealthFailed reports whether v is a new failure of a producer's health
// tests, the one event of a failure to report (log it, count it): an
// [Unhealthy] verdict whose error is neither that of a frame refused
// while the producer is on probation after a failure (health.ErrFailed)
// nor an isolated FIPS block failure ([Verdict.BlockFailed]).
func (v Verdict) HealthFailed() bool {
	return v.Reason == Unhealthy && !errors.Is(v.Err, health.ErrFailed) && !errors.Is(v.Err, health.ErrBlock)
}

// BlockFailed reports whether v refused a frame for an isolated FIPS
// 140-2 block failure (health.ErrBlock): the chance failure of a good
// source, about one block in 1,270, which changes nothing but this frame.
// Count it; it is no news to log.
func (v Verdict) BlockFailed() bool {
	return v.Reason == Unhealthy && errors.Is(v.Err, health.ErrBlock)
}

// HealthMonitors returns a [Config.Health] that gives each producer a
// health.Monitor with the tests of cfg, or an error if cfg is not valid.
// A Monitor that cannot be made later (it cannot, for a cfg that was
// valid once) refuses every frame of its producer with the error. The
// function is not safe for concurrent use; a Pipeline calls it from one
// goroutine.
func HealthMonitors(cfg health.Config) (func(kid string) HealthCheck, error) {
	first, err := health.New(cfg) // checks cfg; the first producer's
	if err != nil {
		return nil, err
	}
	return func(string) HealthCheck {
		if m := first; m != nil {
			first = nil
			return m
		}
		m, err := health.New(cfg)
		if err != nil {
			return failedCheck{err}
		}
		return m
	}, nil
}

// failedCheck refuses every frame, with the error that kept the real
// check from being made.
type failedCheck struct{ err error }

func (c failedCheck) Check([]byte) error { return c.err }
