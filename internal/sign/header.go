package sign

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/nordunet/ssmrandom/internal/membertag"
)

// The protected header of every datagram is exactly
//
//	{"alg":"EdDSA","kid":KID}
//
// with KID the 43-character key id: the bytes go-jose writes for a
// [Signer]; or, for a datagram that carries a member tag
// (docs/protocol.md §10),
//
//	{"alg":"EdDSA","kid":KID,"mt":MT}
//
// with MT the 32 base64url characters of [membertag.Size] bytes.
// Verification compares the decoded header with these shapes and nothing
// else is accepted; the JSON scanner below only serves to say why another
// header was refused.
const (
	headerPrefix = `{"alg":"` + Alg + `","kid":"`
	headerSuffix = `"}`
	tagInfix     = `","mt":"`
	// kidLen is the length of a key id: a SHA-256 digest in base64url.
	kidLen = (sha256.Size*8 + 5) / 6
	// mtLen is the length of MT: base64url of a member tag.
	mtLen = membertag.Size / 3 * 4
	// headerLen is the length of the decoded protected header.
	headerLen = len(headerPrefix) + kidLen + len(headerSuffix)
	// taggedHeaderLen is the length of a decoded header with a tag.
	taggedHeaderLen = headerLen + len(tagInfix) + mtLen
	// maxHeader is the longest decoded header that is scanned as JSON to
	// classify a reject; a longer one is malformed without a look inside.
	maxHeader = 512
	// maxDepth is how deeply JSON values may nest in a scanned header.
	maxDepth = 16
	// maxArg is how many bytes of a header value a [reject] keeps.
	maxArg = 64
)

// reject is why a datagram was refused: a sentinel error and a phrase,
// with a copy of the header value it is about (an alg, a member name, a
// key id) kept in an array, so that refusing allocates nothing.
type reject struct {
	err    error  // ErrMalformed, ErrBadAlg, ErrUnknownKey or ErrBadSignature
	why    string // a constant; it has one verb, for arg, if hasArg
	hasArg bool
	n      int
	arg    [maxArg]byte
}

func refuse(err error, why string) reject { return reject{err: err, why: why} }

func refuseArg(err error, why string, arg []byte) reject {
	v := reject{err: err, why: why, hasArg: true}
	v.n = copy(v.arg[:], arg)
	return v
}

// error returns the reject as an error that wraps its sentinel.
func (v reject) error() error {
	if !v.hasArg {
		return fmt.Errorf("%w: %s", v.err, v.why)
	}
	return fmt.Errorf("%w: "+v.why, v.err, v.arg[:v.n])
}

// canonicalKeyID returns the kid of h, a decoded protected header, if h is
// exactly {"alg":"EdDSA","kid":KID} with KID 43 base64url characters.
func canonicalKeyID(h []byte) ([]byte, bool) {
	if len(h) != headerLen || string(h[:len(headerPrefix)]) != headerPrefix || string(h[headerLen-len(headerSuffix):]) != headerSuffix {
		return nil, false
	}
	kid := h[len(headerPrefix) : headerLen-len(headerSuffix)]
	return kid, isBase64URLKid(kid)
}

// isBase64URLKid reports whether kid is kidLen base64url characters.
func isBase64URLKid(kid []byte) bool { return isBase64URLOf(kid, kidLen) }

// isBase64URLTag reports whether mt is mtLen base64url characters: with
// mtLen a multiple of 4, always a canonical encoding.
func isBase64URLTag(mt []byte) bool { return isBase64URLOf(mt, mtLen) }

// isBase64URLOf reports whether b is n base64url characters.
func isBase64URLOf(b []byte, n int) bool {
	if len(b) != n {
		return false
	}
	for _, c := range b {
		if !base64URLChar[c] {
			return false
		}
	}
	return true
}

// taggedKeyID returns the kid and the encoded MT of h, a decoded
// protected header, if h is exactly {"alg":"EdDSA","kid":KID,"mt":MT}.
func taggedKeyID(h []byte) (kid, mt []byte, ok bool) {
	if len(h) != taggedHeaderLen || string(h[:len(headerPrefix)]) != headerPrefix ||
		string(h[len(headerPrefix)+kidLen:][:len(tagInfix)]) != tagInfix ||
		string(h[taggedHeaderLen-len(headerSuffix):]) != headerSuffix {
		return nil, nil, false
	}
	kid = h[len(headerPrefix):][:kidLen]
	mt = h[len(headerPrefix)+kidLen+len(tagInfix):][:mtLen]
	return kid, mt, isBase64URLKid(kid) && isBase64URLTag(mt)
}

// decodeHeader decodes the protected header part into buf and checks it.
// It returns the key id and, if the header has one, the decoded member
// tag in tag (tagged is then set), or why the header is refused.
func decodeHeader(buf *[maxHeader]byte, part []byte, tag *[membertag.Size]byte) (kid []byte, tagged bool, v reject) {
	if base64.RawURLEncoding.DecodedLen(len(part)) > maxHeader {
		return nil, false, refuse(ErrMalformed, "header of more than 512 bytes")
	}
	n, err := strictB64.Decode(buf[:], part)
	if err != nil {
		return nil, false, refuse(ErrMalformed, "a part is not canonical base64url")
	}
	h := buf[:n]
	if kid, ok := canonicalKeyID(h); ok {
		return kid, false, reject{}
	}
	if kid, mt, ok := taggedKeyID(h); ok {
		if _, err := strictB64.Decode(tag[:], mt); err == nil {
			return kid, true, reject{}
		}
	}
	return nil, false, classifyHeader(h)
}

// classifyHeader returns why h, a decoded protected header that is not
// the canonical one, is refused: [ErrBadAlg] if h is a JSON object with
// one "alg" that is a string, without escapes, other than "EdDSA", and
// [ErrMalformed] for anything else.
func classifyHeader(h []byte) reject {
	s := scanner{b: h}
	if !s.object(0) || s.space() != len(h) {
		return refuse(ErrMalformed, "header is not a JSON object")
	}
	alg, kid, other := h[s.alg.start:s.alg.end], h[s.kid.start:s.kid.end], h[s.other.start:s.other.end]
	mt := h[s.mt.start:s.mt.end]
	nAlg, nKid := s.nAlg, s.nKid
	switch {
	case nAlg == 0:
		return refuse(ErrMalformed, `header has no "alg"`)
	case nAlg > 1:
		return refuse(ErrMalformed, `header member "alg" given twice`)
	case plainString(alg) && string(alg) != `"`+Alg+`"`:
		return refuseArg(ErrBadAlg, "%q", alg[1:len(alg)-1])
	case string(alg) != `"`+Alg+`"`:
		return refuse(ErrMalformed, `header "alg" is not a JSON string without escapes`)
	case s.nOther > 0:
		return refuseArg(ErrMalformed, "header member %q not allowed", other)
	case nKid == 0:
		return refuse(ErrMalformed, `header has no "kid"`)
	case nKid > 1:
		return refuse(ErrMalformed, `header member "kid" given twice`)
	case len(kid) != kidLen+2 || !isBase64URLKid(kid[1:len(kid)-1]) || kid[0] != '"':
		return refuse(ErrMalformed, `header "kid" is not 43 base64url characters`)
	case s.nMt > 1:
		return refuse(ErrMalformed, `header member "mt" given twice`)
	case s.nMt == 1 && (len(mt) != mtLen+2 || mt[0] != '"' || !isBase64URLTag(mt[1:len(mt)-1])):
		return refuse(ErrMalformed, `header "mt" is not 32 base64url characters`)
	case s.nMt == 1:
		return refuse(ErrMalformed, `header is not {"alg":"EdDSA","kid":KID,"mt":MT} byte for byte`)
	}
	return refuse(ErrMalformed, `header is not {"alg":"EdDSA","kid":KID} byte for byte`)
}

// plainString reports whether v is a JSON string without escapes.
func plainString(v []byte) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' {
			return false
		}
	}
	return true
}

// scanner checks JSON text (RFC 8259) without building anything. It
// allocates nothing and gives up below maxDepth levels of nesting. Of the
// outermost object it notes the members that a header check needs.
type scanner struct {
	b []byte
	i int

	// Offsets rather than slices of b, which would let b escape: the raw
	// values of the last "alg" and "kid", how many times each was given,
	// and the name of the first other member (nOther > 0 if there is one).
	alg, kid, mt, other     span
	nAlg, nKid, nMt, nOther int
}

// span is the offsets of b[start:end].
type span struct{ start, end int }

// space skips white space and returns the offset reached.
func (s *scanner) space() int {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
	return s.i
}

// next consumes c, after white space, if it comes next.
func (s *scanner) next(c byte) bool {
	if s.space() < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object consumes an object; at depth 0 it notes its members.
func (s *scanner) object(depth int) bool {
	if depth > maxDepth || !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		start := s.space()
		if !s.str() {
			return false
		}
		name := span{start + 1, s.i - 1}
		if !s.next(':') {
			return false
		}
		start = s.space()
		if !s.value(depth + 1) {
			return false
		}
		if depth == 0 {
			s.note(name, span{start, s.i})
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// note records a member of the outermost object: its raw name, without
// the quotes, and its raw value.
func (s *scanner) note(name, value span) {
	switch string(s.b[name.start:name.end]) {
	case "alg":
		s.alg = value
		s.nAlg++
	case "kid":
		s.kid = value
		s.nKid++
	case "mt":
		s.mt = value
		s.nMt++
	default:
		if s.nOther == 0 {
			s.other = name
		}
		s.nOther++
	}
}

// value consumes one JSON value after white space.
func (s *scanner) value(depth int) bool {
	if depth > maxDepth || s.space() == len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		s.i++
		if s.next(']') {
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			if s.next(']') {
				return true
			}
			if !s.next(',') {
				return false
			}
		}
	case c == '"':
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.lit("true") || s.lit("false") || s.lit("null")
}

// lit consumes w if it comes next.
func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// str consumes a string, quotes included.
func (s *scanner) str() bool {
	if s.i == len(s.b) || s.b[s.i] != '"' {
		return false
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			if s.i == len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i <= 4 {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.lit("-")
	if s.lit("0") {
		// no more digits before a fraction or exponent
	} else if !s.digits() {
		return false
	}
	if s.lit(".") && !s.digits() {
		return false
	}
	if s.lit("e") || s.lit("E") {
		if !s.lit("+") {
			s.lit("-")
		}
		return s.digits()
	}
	return true
}

// digits consumes one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
