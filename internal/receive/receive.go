// Package receive is the receive path of ssmrandom: it takes datagrams as
// they come off the socket, checks each one (size, JWS, trusted key,
// signature, payload) and writes the entropy bytes of those that pass to
// an output. Anything else is dropped and counted by [Reason]; not one of
// its bytes reaches the output.
//
// The package does no socket I/O and no logging: the caller reads the
// datagrams, and reads the counts with [Pipeline.Stats].
package receive

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/nordunet/ssmrandom/internal/frame"
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
	BadSignature               // the signature does not verify
	OutputFull                 // verified, but the output would block (a FIFO nobody drains)
	numReasons
)

var reasonNames = [numReasons]string{
	Forwarded:    "forwarded",
	TooBig:       "too_big",
	Malformed:    "malformed",
	BadAlg:       "bad_alg",
	UnknownKey:   "unknown_key",
	BadSignature: "bad_signature",
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
}

// Rejected returns the number of datagrams dropped for any reason.
func (s Stats) Rejected() uint64 {
	var n uint64
	for _, c := range s.Dropped {
		n += c
	}
	return n
}

// Config configures a [Pipeline].
type Config struct {
	// Trust holds the keys whose frames are forwarded. Required.
	Trust *sign.Keyring
	// Output receives the entropy bytes of each forwarded frame in one
	// Write. A Write error wrapping [sink.ErrFull] drops the frame
	// ([OutputFull]); any other error is returned by [Pipeline.Handle].
	Output io.Writer
	// MaxDatagram is the size limit in bytes; larger datagrams are
	// dropped before any parsing. Required.
	MaxDatagram int
}

// Pipeline checks datagrams and forwards the good ones. Make one with
// [New]. Handle must not be called concurrently; Stats may be called from
// any goroutine at any time.
type Pipeline struct {
	cfg      Config
	frame    frame.Frame
	received atomic.Uint64
	frames   atomic.Uint64
	bytes    atomic.Uint64
	dropped  [numReasons]atomic.Uint64
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
	return &Pipeline{cfg: cfg}, nil
}

// Verdict is the outcome of one datagram.
type Verdict struct {
	Reason Reason // Forwarded, or why the datagram was dropped
	KeyID  string // the signing key, once the signature has been verified
	Err    error  // for a drop, the check that failed
}

// Handle runs every check on datagram and, if all pass, writes the
// frame's entropy bytes to the output. The returned error is only for a
// failed output write other than a full one; the caller decides whether
// that ends the run. Handle does not keep datagram.
func (p *Pipeline) Handle(datagram []byte) (Verdict, error) {
	p.received.Add(1)
	v := p.check(datagram)
	if v.Reason == Forwarded {
		_, err := p.cfg.Output.Write(p.frame.Data)
		switch {
		case err == nil:
			p.frames.Add(1)
			p.bytes.Add(uint64(len(p.frame.Data)))
			return v, nil
		case errors.Is(err, sink.ErrFull):
			v.Reason, v.Err = OutputFull, err
		default:
			return v, fmt.Errorf("receive: write output: %w", err)
		}
	}
	p.dropped[v.Reason].Add(1)
	return v, nil
}

// check runs the checks and leaves the decoded frame in p.frame.
func (p *Pipeline) check(datagram []byte) Verdict {
	if len(datagram) > p.cfg.MaxDatagram {
		return Verdict{Reason: TooBig, Err: fmt.Errorf("receive: datagram of %d bytes is over the limit of %d", len(datagram), p.cfg.MaxDatagram)}
	}
	payload, kid, err := p.cfg.Trust.Verify(datagram)
	if err != nil {
		return Verdict{Reason: verifyReason(err), Err: err}
	}
	if err := frame.ParseInto(&p.frame, payload); err != nil {
		return Verdict{Reason: Malformed, KeyID: kid, Err: err}
	}
	return Verdict{Reason: Forwarded, KeyID: kid}
}

// verifyReason maps an error of [sign.Keyring.Verify] to a Reason.
func verifyReason(err error) Reason {
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

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	s := Stats{Datagrams: p.received.Load(), Frames: p.frames.Load(), Bytes: p.bytes.Load()}
	for i := range p.dropped {
		s.Dropped[i] = p.dropped[i].Load()
	}
	return s
}
