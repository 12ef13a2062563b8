package describe

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// ErrAmbiguous is [Input]'s error for input that is a datagram both in
// hex and in base64.
var ErrAmbiguous = errors.New("describe: the input is a datagram both in hex and in base64")

// Limits are the datagram sizes a [Read] judges its input against.
type Limits struct {
	// Datagram is the largest datagram there can be: the read buffer.
	Datagram int
	// Default is recv's default datagram size limit (--max-datagram).
	Default int
}

// MaxInput is the most bytes [Read] looks at: the largest datagram in
// hex (twice its length), with room for line breaks. A caller reads one
// more, to tell that there is more.
func (l Limits) MaxInput() int { return 3 * l.Datagram }

// Read decodes in, the input as read from name, and says what it is, as
// of now; with ring (nil for none), whether it verifies. The input may be
// the datagram as it is, in hex or in base64 (see ssmrandom inspect's
// description). Its only error is [ErrAmbiguous]; anything else, however
// hostile, gives a Report.
func Read(in []byte, name string, ring *sign.Keyring, now time.Time, l Limits) (*Report, error) {
	if max := l.MaxInput(); len(in) > max {
		rep := &Report{Input: Input{Name: name, Encoding: "raw", Bytes: max, TooLong: true},
			Kind: KindUnknown, Summary: "not a datagram"}
		rep.Error = fmt.Sprintf("over %d bytes; a datagram is at most %d", max, l.Datagram)
		if ring != nil {
			rep.Verified, rep.Reason = new(bool), receive.TooBig.String()
		}
		return rep, nil
	}
	dgram, encoding, err := decode(in)
	if err != nil {
		return nil, err
	}
	var notes []string
	if encoding == "raw" && len(dgram) > 0 && dgram[len(dgram)-1] == '\n' && bytes.IndexByte(dgram[:len(dgram)-1], '\n') < 0 {
		dgram = bytes.TrimSuffix(dgram[:len(dgram)-1], []byte{'\r'})
		notes = append(notes, "a final newline was dropped: it is no part of a datagram, and recv drops a datagram with one as malformed")
	}
	if len(dgram) > l.Datagram {
		notes = append(notes, fmt.Sprintf("over %d bytes: no UDP datagram is this long", l.Datagram))
	} else if len(dgram) > l.Default {
		notes = append(notes, fmt.Sprintf("over %d bytes: recv with the default --max-datagram drops it as %s", l.Default, receive.TooBig))
	}
	rep := Datagram(dgram, ring, now, l.Datagram)
	rep.Input = Input{Name: name, Encoding: encoding, Bytes: len(dgram)}
	rep.Notes = append(notes, rep.Notes...)
	if made := rep.Made; !made.IsZero() {
		switch replay.Fresh(made, now, replay.DefaultMaxAge, replay.DefaultMaxSkew) {
		case replay.ErrStale:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: made %s ago, more than the default --max-age of %s", receive.Stale, words.Duration(now.Sub(made)), replay.DefaultMaxAge))
		case replay.ErrFuture:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: dated %s ahead, more than the default --max-skew of %s", receive.Future, words.Duration(made.Sub(now)), replay.DefaultMaxSkew))
		}
	}
	return rep, nil
}

// decode returns the datagram that in holds, and its encoding: raw, hex
// or base64. Input that holds a dot or starts with { is raw; otherwise it
// is hex or base64 if exactly one of them gives a datagram.
func decode(in []byte) ([]byte, string, error) {
	if bytes.IndexByte(in, '.') >= 0 || len(in) > 0 && in[0] == '{' {
		return in, "raw", nil
	}
	compact := make([]byte, 0, len(in))
	for _, c := range in {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			compact = append(compact, c)
		}
	}
	var found [][]byte
	var encodings []string
	if b, err := hex.DecodeString(string(compact)); err == nil && looksLikeDatagram(b) {
		found, encodings = append(found, b), append(encodings, "hex")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(string(compact)); err == nil {
			if looksLikeDatagram(b) {
				found, encodings = append(found, b), append(encodings, "base64")
			}
			break
		}
	}
	switch len(found) {
	case 0:
		return in, "raw", nil
	case 1:
		return found[0], encodings[0], nil
	}
	return nil, "", ErrAmbiguous
}

// looksLikeDatagram reports whether b could be a datagram: a JWS, which
// has two dots, or a JSON object.
func looksLikeDatagram(b []byte) bool {
	return bytes.Count(b, []byte{'.'}) == 2 || len(b) > 0 && b[0] == '{'
}
