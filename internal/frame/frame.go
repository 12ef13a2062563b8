// Package frame implements the IEDP payload: the JSON object that carries
// entropy bytes inside a signed datagram.
//
// The format is specified in docs/protocol.md. A version 2.0 payload is the
// exact canonical serialization
//
//	{"v":"2.0","s":SOURCE,"e":EPOCH,"n":SEQ,"t":TIME,"d":DATA}
//
// with the keys in that order and no white space. [Frame.Append] writes it
// and [Parse] accepts nothing else, so every frame has exactly one encoding.
// The package is pure: it does no I/O and keeps no state.
package frame

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// Version is the value of "v" in a signed IEDP frame.
const Version = "2.0"

// MaxSource is the longest source name, in bytes, a frame may carry. A
// source name is 1 to MaxSource bytes of printable ASCII other than '"' and
// '\', so that it needs no JSON escaping: an RFC 1123 host name always fits.
const MaxSource = 64

// MaxSeq is the largest sequence number a frame may carry. A sender that
// reaches it starts a new epoch; the bound keeps "n" to 12 digits, so a
// frame's length is known before it is sent (see [MaxLen]).
const MaxSeq = 999_999_999_999

// MaxTime is the largest value of "t" and "e", in Unix milliseconds (in the
// year 2286); it keeps both to 13 digits.
const MaxTime = 9_999_999_999_999

// MaxHead is the longest a payload can be up to and including `,"d":"`:
// what [ParseHead] needs to read.
const MaxHead = len(`{"v":"2.0","s":"`) + MaxSource + len(`","e":`) + 13 + len(`,"n":`) + 12 + len(`,"t":`) + 13 + len(`,"d":"`)

// MaxData is the most entropy bytes one frame may carry. No frame this
// large fits an unfragmented datagram; the bound only keeps a parser's work
// small whatever it is handed.
const MaxData = 65536

var (
	// ErrVersion reports a payload whose "v" is not [Version].
	ErrVersion = errors.New("frame: unknown version")
	// ErrSyntax reports a payload that is not the canonical serialization.
	ErrSyntax = errors.New("frame: not a canonical IEDP payload")
)

// A ParseError describes why a payload was refused. Its Unwrap returns
// [ErrVersion] or [ErrSyntax].
type ParseError struct {
	Field string // the JSON key being read, or "" for the object itself
	Msg   string
	Err   error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "frame: " + e.Msg
	}
	return fmt.Sprintf("frame: bad %q: %s", e.Field, e.Msg)
}

// Unwrap returns the sentinel error the ParseError refines.
func (e *ParseError) Unwrap() error { return e.Err }

// Frame is one decoded IEDP payload.
type Frame struct {
	// Source names the producer, as the seed's "s" did. It is informative:
	// trust comes from the signing key, not from this name.
	Source string
	// Epoch is the sender's start time in Unix milliseconds; it grows
	// with every restart of the sender (docs/protocol.md, section 4).
	Epoch uint64
	// Seq counts frames within an epoch, from 0.
	Seq uint64
	// Time is when the frame was made, in Unix milliseconds.
	Time int64
	// Data holds the entropy bytes.
	Data []byte
}

// ValidSource reports whether s may be used as a frame's source name.
func ValidSource(s string) bool {
	if len(s) == 0 || len(s) > MaxSource {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Check reports an error if f cannot be encoded: a source name that is not
// [ValidSource], a sequence number over [MaxSeq], a time or epoch outside
// 0 to [MaxTime], or data that is empty or longer than [MaxData].
func (f *Frame) Check() error {
	switch {
	case !ValidSource(f.Source):
		return fmt.Errorf("frame: source name %q is not 1 to %d bytes of printable ASCII without '\"' or '\\'", f.Source, MaxSource)
	case f.Seq > MaxSeq:
		return fmt.Errorf("frame: sequence number %d is over %d", f.Seq, uint64(MaxSeq))
	case f.Epoch > MaxTime:
		return fmt.Errorf("frame: epoch %d is over %d", f.Epoch, uint64(MaxTime))
	case f.Time < 0 || f.Time > MaxTime:
		return fmt.Errorf("frame: time %d is outside 0 to %d", f.Time, int64(MaxTime))
	case len(f.Data) == 0 || len(f.Data) > MaxData:
		return fmt.Errorf("frame: %d data bytes; want 1 to %d", len(f.Data), MaxData)
	}
	return nil
}

// Append appends the canonical serialization of f to dst and returns the
// extended slice. It does not check f; call [Frame.Check] first.
func (f *Frame) Append(dst []byte) []byte {
	dst = append(dst, `{"v":"`+Version+`","s":"`...)
	dst = append(dst, f.Source...)
	dst = append(dst, `","e":`...)
	dst = strconv.AppendUint(dst, f.Epoch, 10)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendUint(dst, f.Seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, f.Time, 10)
	dst = append(dst, `,"d":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, f.Data)
	return append(dst, `"}`...)
}

// MaxLen returns the longest serialization of a frame with the given source
// name and dataLen bytes of data, over all valid epochs, sequence numbers
// and times. Senders use it to check that every frame fits a datagram.
func MaxLen(source string, dataLen int) int {
	const fixed = len(`{"v":"2.0","s":"","e":,"n":,"t":,"d":""}`)
	const digits = 13 + 12 + 13 // epoch, sequence, time
	return fixed + digits + len(source) + base64.StdEncoding.EncodedLen(dataLen)
}

// Parse decodes a canonical version 2.0 payload. Errors are a *[ParseError].
func Parse(b []byte) (Frame, error) {
	var f Frame
	err := parseInto(&f, b)
	return f, err
}

// parseInto is [Parse] decoding into f, reusing the capacity of f.Data for
// the entropy bytes. On error f holds no meaningful value.
func parseInto(f *Frame, b []byte) error {
	d, err := ParseFields(f, b)
	if err != nil {
		return err
	}
	return DecodeData(f, d)
}

// head reads the fields before "d", up to and including `,"d":"`.
func (p *parser) head() (s []byte, e, n, t uint64, err error) {
	if !p.lit(`{"v":"`) {
		return nil, 0, 0, 0, p.fail("", "payload does not start with {\"v\":\"", ErrSyntax)
	}
	v, ok := p.str()
	if !ok {
		return nil, 0, 0, 0, p.fail("v", "not a string without escapes", ErrSyntax)
	}
	if string(v) != Version {
		return nil, 0, 0, 0, p.fail("v", fmt.Sprintf("%.8q is not %q", v, Version), ErrVersion)
	}
	if !p.lit(`,"s":"`) {
		return nil, 0, 0, 0, p.fail("s", "missing or out of order", ErrSyntax)
	}
	s, ok = p.str()
	if !ok || !ValidSource(string(s)) {
		return nil, 0, 0, 0, p.fail("s", "not a valid source name", ErrSyntax)
	}
	if !p.lit(`,"e":`) {
		return nil, 0, 0, 0, p.fail("e", "missing or out of order", ErrSyntax)
	}
	e, ok = p.uint(MaxTime)
	if !ok {
		return nil, 0, 0, 0, p.fail("e", "not an integer from 0 to 9999999999999", ErrSyntax)
	}
	if !p.lit(`,"n":`) {
		return nil, 0, 0, 0, p.fail("n", "missing or out of order", ErrSyntax)
	}
	n, ok = p.uint(MaxSeq)
	if !ok {
		return nil, 0, 0, 0, p.fail("n", "not an integer from 0 to 999999999999", ErrSyntax)
	}
	if !p.lit(`,"t":`) {
		return nil, 0, 0, 0, p.fail("t", "missing or out of order", ErrSyntax)
	}
	t, ok = p.uint(MaxTime)
	if !ok {
		return nil, 0, 0, 0, p.fail("t", "not an integer from 0 to 9999999999999", ErrSyntax)
	}
	if !p.lit(`,"d":"`) {
		return nil, 0, 0, 0, p.fail("d", "missing or out of order", ErrSyntax)
	}
	return s, e, n, t, nil
}

// ParseHead reads the epoch, sequence number and time of a payload from
// its beginning, which may end anywhere after `,"d":"`: enough to judge a
// frame's freshness before the rest of it is decoded. Errors are a
// *[ParseError]. Only [ParseFields] checks the whole payload.
func ParseHead(b []byte) (epoch, seq uint64, t int64, err error) {
	p := parser{b: b}
	_, e, n, tt, err := p.head()
	return e, n, int64(tt), err
}

// ParseFields is [Parse] into f, reusing its buffers, but for the
// decoding of "d": it checks the whole payload but d's base64 (which
// covers the characters of d but the quote and line breaks), sets every
// field of f but Data (which it empties), and returns the text of "d" for
// [DecodeData]. A receiver can
// so judge a frame by its epoch, sequence number and time before it spends
// work on the data.
func ParseFields(f *Frame, b []byte) (d []byte, err error) {
	f.Data = f.Data[:0]
	p := parser{b: b}
	s, e, n, t, err := p.head()
	if err != nil {
		return nil, err
	}
	d, ok := p.data()
	if !ok {
		return nil, p.fail("d", "not a string without escapes", ErrSyntax)
	}
	if !p.lit(`}`) || p.i != len(p.b) {
		return nil, p.fail("", "trailing bytes after \"d\"", ErrSyntax)
	}
	if len(d) == 0 {
		return nil, p.fail("d", "empty", ErrSyntax)
	}
	if base64.StdEncoding.DecodedLen(len(d)) > MaxData+2 {
		return nil, p.fail("d", "longer than the frame limit", ErrSyntax)
	}
	if f.Source != string(s) { // no allocation while the source stays the same
		f.Source = string(s)
	}
	f.Epoch, f.Seq, f.Time = e, n, int64(t)
	return d, nil
}

// DecodeData decodes d, the text of "d" that [ParseFields] returned, into
// f.Data, reusing its capacity. Errors are a *[ParseError].
func DecodeData(f *Frame, d []byte) error {
	data, err := base64.StdEncoding.Strict().AppendDecode(f.Data[:0], d)
	if err != nil {
		return &ParseError{Field: "d", Msg: "bad base64: " + err.Error(), Err: ErrSyntax}
	}
	if len(data) == 0 || len(data) > MaxData {
		return &ParseError{Field: "d", Msg: "longer than the frame limit", Err: ErrSyntax}
	}
	f.Data = data
	return nil
}

// parser reads the canonical serialization left to right.
type parser struct {
	b []byte
	i int
}

func (p *parser) fail(field, msg string, err error) error {
	return &ParseError{Field: field, Msg: msg, Err: err}
}

// lit consumes s if the input continues with it.
func (p *parser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// str consumes the rest of a string whose opening quote was read, up to and
// including the closing quote. Escapes and control characters are refused:
// no valid frame needs them.
func (p *parser) str() ([]byte, bool) {
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i:j]
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// data is str for the value of "d", the bulk of a payload, in a
// quicker way: it finds the closing quote with one bytes.IndexByte and
// refuses the two characters that strict base64 decoding would skip,
// '\r' and '\n', with two more; every other character that str refuses
// ('\\' and control characters) is outside the base64 alphabet, so
// [DecodeData] refuses it. ([Parse] so refuses what it refused before,
// some of it with another message.)
func (p *parser) data() ([]byte, bool) {
	j := bytes.IndexByte(p.b[p.i:], '"')
	if j < 0 {
		return nil, false
	}
	s := p.b[p.i : p.i+j]
	if bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	p.i += j + 1
	return s, true
}

// uint consumes a JSON integer from 0 to max with no sign, fraction,
// exponent or leading zero.
func (p *parser) uint(max uint64) (uint64, bool) {
	j := p.i
	var v uint64
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		if j-p.i == 13 { // more digits than any bound here allows
			return 0, false
		}
		v = v*10 + uint64(p.b[j]-'0')
		j++
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return 0, false // a fraction or an exponent
	}
	digits := j - p.i
	if digits == 0 || (digits > 1 && p.b[p.i] == '0') || v > max {
		return 0, false
	}
	p.i = j
	return v, true
}
