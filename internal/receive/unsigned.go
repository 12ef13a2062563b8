package receive

import (
	"errors"
	"fmt"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// UnsignedID is the producer id under which a [Pipeline] health-tests
// unsigned version 1.0 frames ([Config.AllowUnsigned]) and reports them in
// a [Verdict]'s KeyID. All unsigned frames share it, whichever host sent
// them: they carry nothing to tell producers apart. No key id (43
// base64url characters) can be equal to it.
const UnsignedID = "unsigned"

// ErrUnsigned reports an unsigned version 1.0 frame of the original
// ssmrandom to a [Pipeline] that does not accept them; the frame is
// dropped as [Malformed]. [Pipeline.Explain] returns an error wrapping it
// and [sign.ErrMalformed].
var ErrUnsigned = errors.New("receive: an unsigned version 1.0 frame of the original ssmrandom, and unsigned frames are not accepted")

// isUnsigned reports whether datagram is meant as an unsigned version 1.0
// frame: one begins with '{', while a JWS Compact Serialization begins
// with a base64url character (docs/protocol.md §3, §8).
func isUnsigned(datagram []byte) bool {
	return len(datagram) > 0 && datagram[0] == '{'
}

// precheckUnsigned is precheck for an unsigned version 1.0 frame, when the
// pipeline accepts them: strict parsing and sampling. There is nothing to
// verify, no key, and no sequence number or time to judge freshness and
// replay by; finish runs the health tests under [UnsignedID].
func (p *Pipeline) precheckUnsigned(w *work, datagram []byte) Verdict {
	if err := frame.ParseV1(&w.frame, datagram); err != nil {
		return Verdict{Reason: Malformed, Err: err}
	}
	if p.cfg.Sample != nil {
		p.mu.Lock()
		keep := p.cfg.Sample.Keep(p.now())
		p.mu.Unlock()
		if !keep {
			return Verdict{Reason: SampledOut, KeyID: UnsignedID}
		}
	}
	return Verdict{Reason: Forwarded, KeyID: UnsignedID}
}

// explainUnsigned is [Pipeline.Explain] for a datagram that begins like an
// unsigned frame. It reports done false if the datagram is better
// explained as a malformed JWS: it is no version 1.0 frame, and the
// pipeline does not accept those anyway.
func (p *Pipeline) explainUnsigned(datagram []byte) (done bool, err error) {
	var f frame.Frame
	err = frame.ParseV1(&f, datagram)
	switch {
	case !p.cfg.AllowUnsigned && err == nil:
		// It is also, as Handle counts it, a malformed JWS.
		return true, fmt.Errorf("%w (source %q, %d bytes): %w", ErrUnsigned, f.Source, len(f.Data), sign.ErrMalformed)
	case !p.cfg.AllowUnsigned:
		return false, nil
	case err != nil:
		return true, fmt.Errorf("receive: unsigned frame: %w", err)
	}
	return true, nil
}
