package receive

import (
	"errors"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// UnsignedID is the producer id under which a [Pipeline] health-tests
// unsigned version 1.0 frames ([Config.AllowUnsigned]) and reports them in
// a [Verdict]'s KeyID. All unsigned frames share it, whichever host sent
// them: they carry nothing to tell producers apart. No key id (43
// base64url characters) can be equal to it.
const UnsignedID = "unsigned"

// ErrUnsigned reports an unsigned version 1.0 frame of the original
// ssmrandom to a [Pipeline] that does not accept them; the frame is
// dropped as [Malformed], and its [Verdict.Why] wraps ErrUnsigned and
// [sign.ErrMalformed].
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
func (p *Pipeline) precheckUnsigned(w *work, datagram []byte, sample bool) {
	v := &w.v
	w.prod = &p.unsigned
	if err := frame.ParseV1(&w.frame, datagram); err != nil {
		v.reject(Malformed, err, unsignedBad)
		return
	}
	v.KeyID, v.Facts.Source, v.Facts.DataBytes = UnsignedID, w.frame.Source, len(w.frame.Data)
	if sample && p.cfg.Sample != nil {
		p.mu.Lock()
		w.id = append(append(append(w.id[:0], UnsignedID...), 0), w.frame.Data...)
		keep := p.cfg.Sample.Keep(p.now(), w.id)
		p.mu.Unlock()
		if !keep {
			v.Reason = SampledOut
		}
	}
}
