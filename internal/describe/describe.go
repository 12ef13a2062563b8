// Package describe says what one captured datagram is: a signed frame,
// an unsigned frame of the original ssmrandom, an unsigned payload, or
// none of these; what its header and frame fields hold; and, given a
// keyring, the verdict of the receive pipeline on it, in recv's words. It
// is the library behind ssmrandom inspect: it reads and prints nothing,
// and trusts nothing the datagram says.
package describe

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// LegacyText is what a Report says of an unsigned version 1.0 frame.
const LegacyText = "unsigned IEDP 1.0 frame (legacy); cannot be verified"

// Kinds of datagram, a [Report]'s Kind.
const (
	KindJWS     = "jws"      // a JWS in the Compact Serialization: what send sends
	KindLegacy  = "iedp-1.0" // the original ssmrandom's unsigned JSON frame
	KindPayload = "payload"  // an IEDP 2.0 payload alone, unsigned
	KindUnknown = "unknown"  // anything else
)

// Report is what a datagram is, and its JSON form (inspect --json).
type Report struct {
	// Input is where the datagram came from; the caller fills it in.
	Input   Input  `json:"input"`
	Kind    string `json:"kind"`    // one of the Kind constants
	Summary string `json:"summary"` // the kind, in words
	// Header is the decoded JWS header, if it is not the canonical one.
	Header string `json:"header,omitempty"`
	Alg    string `json:"alg,omitempty"`
	KeyID  string `json:"kid,omitempty"`
	// SignatureBytes is the decoded signature's length.
	SignatureBytes *int `json:"signature_bytes,omitempty"`
	// TagRound is the seed round named by the header's member tag "mt"
	// (docs/protocol.md §10), if it has one: only a member holding that
	// round's key can check the tag.
	TagRound *uint64 `json:"mt_round,omitempty"`

	// Trusted says whether the keyring holds the kid; nil without one.
	Trusted      *bool      `json:"trusted,omitempty"`
	KeyFile      string     `json:"key_file,omitempty"`
	KeyNotBefore *time.Time `json:"key_not_before,omitempty"`
	KeyNotAfter  *time.Time `json:"key_not_after,omitempty"`

	Frame *Frame `json:"frame,omitempty"`
	// FrameError says why the payload is not an IEDP frame.
	FrameError string `json:"frame_error,omitempty"`

	// Verified says whether the datagram verifies; nil without a keyring.
	Verified *bool `json:"verified,omitempty"`
	// Reason is recv's reason for dropping it (such as bad_signature),
	// and Error recv's words for why.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Notes are the caller's remarks: a stripped newline, a frame recv
	// would now drop as stale, a datagram over recv's default size limit.
	Notes []string `json:"notes,omitempty"`

	// Made is when a signed frame says it was made, if it says; the
	// caller may judge its freshness now with replay.Fresh.
	Made time.Time `json:"-"`
}

// Input is where a datagram came from, and how it was given.
type Input struct {
	Name     string `json:"name"`     // the file, or "stdin"
	Encoding string `json:"encoding"` // raw, hex or base64
	Bytes    int    `json:"bytes"`    // the datagram's length, decoded
	// TooLong says the input was longer than the caller reads, and
	// Bytes is how much it read.
	TooLong bool `json:"too_long,omitempty"`
}

// Frame is the IEDP fields; a legacy frame has only v, s and d.
type Frame struct {
	Version    string     `json:"v"`
	Source     string     `json:"s,omitempty"`
	Epoch      *uint64    `json:"e,omitempty"`
	Seq        *uint64    `json:"n,omitempty"`
	TimeMillis *int64     `json:"t,omitempty"`
	Time       *time.Time `json:"time,omitempty"`        // t as a time
	AgeSeconds *float64   `json:"age_seconds,omitempty"` // how long before now t was
	DataBytes  *int       `json:"d_bytes,omitempty"`     // the length of d, decoded
}

// Datagram says what dgram is, as of now; with ring (nil for none),
// whether it verifies, against the datagram size limit maxDatagram. It
// leaves Input and Notes to the caller. Any input, however hostile, gives a Report; its
// work is proportional to the datagram's length, which the caller bounds.
func Datagram(dgram []byte, ring *sign.Keyring, now time.Time, maxDatagram int) *Report {
	rep := &Report{}
	switch u, jwsErr := sign.Inspect(dgram); {
	case jwsErr == nil:
		rep.Made = rep.describeJWS(u, ring, now)
	case len(dgram) > 0 && dgram[0] == '{':
		rep.describeJSON(dgram)
	case len(dgram) == 0:
		rep.Kind, rep.Summary = KindUnknown, "empty: not a datagram"
		rep.Error = "empty input"
	default:
		rep.Kind, rep.Summary = KindUnknown, "not a datagram ssmrandom knows: neither a JWS nor an IEDP 1.0 frame"
		rep.Error = jwsErr.Error()
	}
	if ring != nil {
		rep.verify(dgram, ring, rep.Made, maxDatagram)
	}
	return rep
}

// describeJWS fills in what u, a datagram taken apart, holds, and returns
// the time its frame says it was made, if it parses that far.
func (rep *Report) describeJWS(u sign.Unverified, ring *sign.Keyring, now time.Time) time.Time {
	rep.Kind, rep.Summary = KindJWS, "signed IEDP frame (JWS, compact serialization)"
	rep.Alg, rep.KeyID = u.Alg, u.KeyID
	n := len(u.Signature)
	rep.SignatureBytes = &n
	canonical := u.CanonicalHeader()
	if !canonical {
		rep.Header = string(u.Header)
	}
	var mt [membertag.Size]byte
	if n, err := base64.RawURLEncoding.Decode(mt[:], []byte(u.MemberTag())); err == nil && n == membertag.Size {
		r := membertag.RoundOf(mt[:])
		rep.TagRound = &r
	}
	if ring != nil {
		k, ok := ring.Lookup(u.KeyID)
		rep.Trusted = &ok
		if ok {
			rep.KeyFile = k.File
			if !k.Valid.NotBefore.IsZero() {
				rep.KeyNotBefore = &k.Valid.NotBefore
			}
			if !k.Valid.NotAfter.IsZero() {
				rep.KeyNotAfter = &k.Valid.NotAfter
			}
		}
	}
	var t time.Time
	f, err := frame.Parse(u.Payload)
	if err != nil {
		rep.FrameError = err.Error()
		// The head alone still dates the frame, for the checks below.
		if _, _, ms, herr := frame.ParseHead(u.Payload); herr == nil {
			t = time.UnixMilli(ms)
		}
	} else {
		t = time.UnixMilli(f.Time)
		age := now.Sub(t).Seconds()
		d := len(f.Data)
		rep.Frame = &Frame{Version: frame.Version, Source: f.Source, Epoch: &f.Epoch, Seq: &f.Seq,
			TimeMillis: &f.Time, Time: &t, AgeSeconds: &age, DataBytes: &d}
	}
	if ring == nil { // what can be said without the key
		switch {
		case !canonical && u.Alg != sign.Alg:
			rep.Error = fmt.Sprintf("alg %s is not %s", Quote(u.Alg), sign.Alg)
		case !canonical:
			rep.Error = `header is not {"alg":"EdDSA","kid":KID} byte for byte`
		case rep.FrameError != "":
			rep.Error = rep.FrameError
		case n != 64:
			rep.Error = fmt.Sprintf("signature of %d bytes; want 64", n)
		}
	}
	return t
}

// describeJSON fills in what b, a datagram that is not a JWS but starts
// like a JSON object, is: a legacy frame (as recv --allow-unsigned parses
// it), an unsigned payload, or neither.
func (rep *Report) describeJSON(b []byte) {
	if f, err := frame.Parse(b); err == nil {
		rep.Kind, rep.Summary = KindPayload, "unsigned IEDP 2.0 payload: not a datagram, which is a JWS of it"
		t := time.UnixMilli(f.Time)
		d := len(f.Data)
		rep.Frame = &Frame{Version: frame.Version, Source: f.Source, Epoch: &f.Epoch, Seq: &f.Seq, TimeMillis: &f.Time, Time: &t, DataBytes: &d}
		rep.Error = "an unsigned payload cannot be verified"
		return
	}
	// What it claims to be is its "v"; whether it is one, frame.ParseV1.
	var claim struct {
		V *string `json:"v"`
	}
	if err := json.Unmarshal(b, &claim); err != nil {
		rep.Kind, rep.Summary = KindUnknown, "not a datagram ssmrandom knows: neither a JWS nor an IEDP 1.0 frame"
		rep.Error = "not JSON: " + err.Error()
		return
	}
	if claim.V == nil || *claim.V != frame.V1Version {
		v := "no \"v\""
		if claim.V != nil {
			v = "\"v\" " + strconv.Quote(*claim.V)
		}
		rep.Kind, rep.Summary = KindUnknown, "not a datagram ssmrandom knows: a JSON object, but not an IEDP 1.0 frame"
		rep.Error = "a JSON object with " + v + "; not a JWS, nor an IEDP 1.0 frame"
		return
	}
	var f frame.Frame
	err := frame.ParseV1(&f, b)
	rep.Kind, rep.Summary = KindLegacy, LegacyText
	rep.Frame = &Frame{Version: frame.V1Version}
	if err != nil {
		rep.FrameError = err.Error()
		rep.Error = "not a well-formed IEDP 1.0 frame: " + err.Error()
		return
	}
	n := len(f.Data)
	rep.Frame.Source, rep.Frame.DataBytes = f.Source, &n
}

// verify runs recv's checks on dgram, as of t, when the frame says it was
// made (now if it does not say): a receive.Pipeline whose clock stands
// then, so that freshness and replay pass and the key's validity is
// judged against the frame's time. Its reason and words are those of the
// pipeline's verdict.
func (rep *Report) verify(dgram []byte, ring *sign.Keyring, t time.Time, maxDatagram int) {
	if t.IsZero() {
		t = time.Now()
	}
	p, err := receive.New(receive.Config{Trust: ring, Output: io.Discard, MaxDatagram: maxDatagram, Now: func() time.Time { return t }})
	if err != nil { // only for a ring with no key, or no size limit
		rep.Verified, rep.Error = new(bool), err.Error()
		return
	}
	v, err := p.Handle(dgram)
	ok := err == nil && v.Forwarded()
	rep.Verified = &ok
	if ok {
		return
	}
	if err != nil {
		rep.Error = err.Error()
		return
	}
	rep.Reason = v.Reason.String()
	if rep.Kind == KindLegacy { // say what it is, not just that it is malformed
		if rep.FrameError == "" {
			rep.Error = LegacyText
		}
		return
	}
	if why := v.Why(); why != nil {
		rep.Error = why.Error()
	}
}

// Quote returns s as it is if it is printable ASCII of at most 200 bytes,
// and otherwise quoted and cut, so that no datagram can put control
// characters on a terminal or flood it.
func Quote(s string) string {
	const most = 200
	plain := len(s) > 0 && len(s) <= most
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	if len(s) > most {
		return strconv.QuoteToASCII(s[:most]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
