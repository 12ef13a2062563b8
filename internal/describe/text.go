package describe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nordunet/ssmrandom/internal/words"
)

// Err is the report's outcome as an error, in printable ASCII: nil if the
// datagram verifies, or, without a keyring, if it parses.
func (r *Report) Err() error {
	var msg string
	switch {
	case r.Verified != nil && *r.Verified:
		return nil
	case r.Verified != nil && r.Reason == "":
		msg = fmt.Sprintf("%s does not verify: %s", r.Input.Name, r.Error)
	case r.Verified != nil:
		msg = fmt.Sprintf("%s does not verify: %s: %s", r.Input.Name, r.Reason, r.Error)
	case r.Error != "":
		msg = fmt.Sprintf("%s does not parse: %s", r.Input.Name, r.Error)
	default:
		return nil
	}
	return &outcomeError{words.Escape(msg)}
}

// outcomeError is [Report.Err]'s error: its text is the whole message.
type outcomeError struct{ msg string }

func (e *outcomeError) Error() string { return e.msg }

// WriteJSON writes the report as indented JSON (inspect --json).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as "name: value" lines, every byte that is
// not printable ASCII escaped.
func (r *Report) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&buf, "%-10s %s\n", name+":", words.Escape(fmt.Sprintf(format, args...)))
	}
	if r.Input.TooLong {
		line("input", "%s, more than %d bytes, not read further", Quote(r.Input.Name), r.Input.Bytes)
	} else {
		line("input", "%s, %d bytes, %s", Quote(r.Input.Name), r.Input.Bytes, r.Input.Encoding)
	}
	line("kind", "%s", r.Summary)
	if r.Header != "" {
		line("header", "%s", Quote(r.Header))
	}
	if r.Kind == KindJWS {
		r.writeKey(line)
	}
	if r.Frame != nil {
		r.Frame.write(line)
	}
	if r.FrameError != "" {
		line("payload", "%s", r.FrameError)
	}
	switch {
	case r.Verified != nil && *r.Verified:
		line("verified", "yes, by kid %s (%s)", r.KeyID, r.KeyFile)
	case r.Verified != nil && r.Reason != "":
		line("verified", "no: %s: %s", r.Reason, r.Error)
	case r.Verified != nil:
		line("verified", "no: %s", r.Error)
	case r.Kind == KindLegacy && r.Error == "":
		line("verified", "no: %s", LegacyText)
	case r.Error != "":
		line("verified", "not checked (no --trust); does not parse: %s", r.Error)
	default:
		line("verified", "not checked (no --trust)")
	}
	for _, n := range r.Notes {
		line("note", "%s", n)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeKey writes a JWS's header fields, and whether its key is trusted.
func (r *Report) writeKey(line func(name, format string, args ...any)) {
	line("alg", "%s", Quote(r.Alg))
	line("kid", "%s", Quote(r.KeyID))
	if r.TagRound != nil {
		line("mt", "member tag of seed round %d (only a member can check it)", *r.TagRound)
	}
	switch {
	case r.Trusted == nil:
		line("trusted", "not checked (no --trust)")
	case *r.Trusted:
		var nbf, naf time.Time
		if r.KeyNotBefore != nil {
			nbf = *r.KeyNotBefore
		}
		if r.KeyNotAfter != nil {
			naf = *r.KeyNotAfter
		}
		line("trusted", "yes, by %s, valid %s", r.KeyFile, words.Validity(nbf, naf))
	case r.KeyID == "":
		line("trusted", "no: the header names no kid")
	default:
		line("trusted", "no: the kid is in none of the --trust keys")
	}
}

// write writes a frame's fields.
func (f *Frame) write(line func(name, format string, args ...any)) {
	line("v", "%s", Quote(f.Version))
	if f.Source != "" {
		line("s", "%s", Quote(f.Source))
	}
	if f.Epoch != nil {
		line("e", "%d (%s)", *f.Epoch, words.Time(time.UnixMilli(int64(*f.Epoch))))
	}
	if f.Seq != nil {
		line("n", "%d", *f.Seq)
	}
	if f.Time != nil {
		if f.AgeSeconds != nil {
			line("t", "%d (%s, %s)", *f.TimeMillis, words.Time(*f.Time), words.Ago(time.Duration(*f.AgeSeconds*float64(time.Second))))
		} else {
			line("t", "%d (%s)", *f.TimeMillis, words.Time(*f.Time))
		}
	}
	if f.DataBytes != nil {
		line("d", "%d bytes", *f.DataBytes)
	}
}
