package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// maxInspectInput is the most bytes inspect reads: the largest datagram
// in hex (twice its length), with room for line breaks.
const maxInspectInput = 3 * mcast.MaxDatagram

// legacyText is what inspect says of such a frame.
const legacyText = "unsigned IEDP 1.0 frame (legacy); cannot be verified"

// Kinds of input, the "kind" of inspect's JSON.
const (
	kindJWS     = "jws"      // a JWS in the Compact Serialization: what send sends
	kindLegacy  = "iedp-1.0" // the original ssmrandom's unsigned JSON frame
	kindPayload = "payload"  // an IEDP 2.0 payload alone, unsigned
	kindUnknown = "unknown"  // anything else
)

func inspectCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "say what one captured datagram is, and whether it verifies",
		ArgsUsage: "[FILE|-]",
		Description: "Reads one datagram, the UDP payload as captured, from FILE or, without one or with -,\n" +
			"from stdin, and shows what it is: the JWS header (alg, kid), the IEDP fields (v, s, e, n,\n" +
			"t, the length of d) and, with --trust, whether the kid is trusted and by which file, and\n" +
			"whether the datagram verifies or why not, in the words of recv's logs. The checks are\n" +
			"recv's, as of the moment the frame was made: freshness and replay are left out, and a\n" +
			"note says if recv would now drop the frame as stale. The original ssmrandom's unsigned\n" +
			"IEDP 1.0 frames are recognised, and cannot be verified.\n\n" +
			"The datagram may also be given in hex (as xxd -p or od print it) or in base64 (standard\n" +
			"or URL-safe, padded or not); white space in either is ignored. Input that holds a dot or\n" +
			"starts with { is taken as it is, since a signed datagram always holds two dots and hex\n" +
			"and base64 never hold one; otherwise it is decoded as hex or as base64 if exactly one of\n" +
			"them gives a datagram (a JWS or a JSON object), and taken as it is if neither does. A\n" +
			"single final newline after a raw datagram is dropped, and a note says so.\n\n" +
			"Exit status: 0 if the datagram verifies (without --trust: if it is a well-formed signed\n" +
			"frame or a legacy frame), 1 if not, 2 for bad flags or arguments, a FILE that cannot be\n" +
			"read, a bad --trust, or input that is a datagram both in hex and in base64.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trust", Usage: "verify against the producer keys in `PATH`: a folder of JWK files, one JWK file, or a JWK Set file"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
		},
		Action: func(c *cli.Context) error { return runInspect(c, e) },
	}
}

// inspectReport is what inspect found, and its JSON form.
type inspectReport struct {
	Input struct {
		Name     string `json:"name"`     // the file, or "stdin"
		Encoding string `json:"encoding"` // raw, hex or base64
		Bytes    int    `json:"bytes"`    // the datagram's length, decoded
		// TooLong says the input was longer than inspect reads, and
		// Bytes is how much it read.
		TooLong bool `json:"too_long,omitempty"`
	} `json:"input"`
	Kind    string `json:"kind"`    // one of the kind constants
	Summary string `json:"summary"` // the kind, in words
	// Header is the decoded JWS header, if it is not the canonical one.
	Header string `json:"header,omitempty"`
	Alg    string `json:"alg,omitempty"`
	KeyID  string `json:"kid,omitempty"`
	// SignatureBytes is the decoded signature's length.
	SignatureBytes *int `json:"signature_bytes,omitempty"`

	// Trusted says whether --trust holds the kid; nil without --trust.
	Trusted      *bool      `json:"trusted,omitempty"`
	KeyFile      string     `json:"key_file,omitempty"`
	KeyNotBefore *time.Time `json:"key_not_before,omitempty"`
	KeyNotAfter  *time.Time `json:"key_not_after,omitempty"`

	Frame *inspectFrame `json:"frame,omitempty"`
	// FrameError says why the payload is not an IEDP frame.
	FrameError string `json:"frame_error,omitempty"`

	// Verified says whether the datagram verifies; nil without --trust.
	Verified *bool `json:"verified,omitempty"`
	// Reason is recv's reason for dropping it (such as bad_signature),
	// and Error recv's words for why.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Notes are remarks: a stripped newline, a frame recv would now drop
	// as stale, a datagram over recv's default size limit.
	Notes []string `json:"notes,omitempty"`
}

// inspectFrame is the IEDP fields; a legacy frame has only v, s and d.
type inspectFrame struct {
	Version    string     `json:"v"`
	Source     string     `json:"s,omitempty"`
	Epoch      *uint64    `json:"e,omitempty"`
	Seq        *uint64    `json:"n,omitempty"`
	TimeMillis *int64     `json:"t,omitempty"`
	Time       *time.Time `json:"time,omitempty"`        // t as a time
	AgeSeconds *float64   `json:"age_seconds,omitempty"` // how long before now t was
	DataBytes  *int       `json:"d_bytes,omitempty"`     // the length of d, decoded
}

func runInspect(c *cli.Context, e *env) error {
	for _, a := range c.Args().Slice() {
		if len(a) > 1 && a[0] == '-' {
			return usagef("put flags before the file: ssmrandom inspect [--trust PATH] [FILE|-]", "flag %q after the file", a)
		}
	}
	if c.NArg() > 1 {
		return usagef("inspect reads one datagram: ssmrandom inspect [--trust PATH] [FILE|-]", "inspect takes one file; got %d arguments", c.NArg())
	}
	name := c.Args().First()
	var ring *sign.Keyring
	if path := c.String("trust"); path != "" {
		r, warnings, skipped, err := sign.ReloadTrust(path)
		if err != nil {
			return asUsage(err, "--trust takes a folder of public JWK files, a JWK file or a JWK Set file")
		}
		for _, w := range warnings {
			fmt.Fprintf(e.stderr, "ssmrandom: warning: %s\n", w)
		}
		for _, s := range skipped {
			fmt.Fprintf(e.stderr, "ssmrandom: warning: skipped %s\n", s)
		}
		if r.Len() == 0 {
			return usagef("--trust takes a folder of public JWK files, a JWK file or a JWK Set file", "no Ed25519 key in %s", path)
		}
		ring = r
	}
	in, display, err := readInput(name, e.stdin)
	if err != nil {
		return err
	}
	rep, err := inspect(in, display, ring, time.Now())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printInspect(e.stdout, rep); err != nil {
		return err
	}
	return rep.status()
}

// readInput reads at most [maxInspectInput] bytes, and one more to tell
// that there is more, from the file name or, for "" and "-", from stdin.
func readInput(name string, stdin io.Reader) ([]byte, string, error) {
	r, display := stdin, "stdin"
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, "", asUsage(err, "inspect reads one datagram from a file, or from stdin (- or no file)")
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return nil, "", usagef("inspect reads one datagram from a file, or from stdin (- or no file)", "%s is a folder", name)
		}
		r, display = f, name
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInspectInput+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", display, err)
	}
	return b, display, nil
}

// status is inspect's outcome as an error for run: nil for exit status 0.
func (r *inspectReport) status() error {
	if err := r.outcome(); err != nil {
		return errors.New(escapeControl(err.Error()))
	}
	return nil
}

func (r *inspectReport) outcome() error {
	switch {
	case r.Verified != nil && *r.Verified:
		return nil
	case r.Verified != nil:
		if r.Reason == "" {
			return fmt.Errorf("%s does not verify: %s", r.Input.Name, r.Error)
		}
		return fmt.Errorf("%s does not verify: %s: %s", r.Input.Name, r.Reason, r.Error)
	case r.Error != "":
		return fmt.Errorf("%s does not parse: %s", r.Input.Name, r.Error)
	}
	return nil
}

// inspect decodes in, the input as read, and says what it is; with ring,
// whether it verifies. Its error is only for input that is a datagram
// both in hex and in base64; anything else, however hostile, is reported.
func inspect(in []byte, name string, ring *sign.Keyring, now time.Time) (*inspectReport, error) {
	rep := &inspectReport{}
	rep.Input.Name = name
	if len(in) > maxInspectInput {
		rep.Input.Encoding, rep.Kind, rep.Summary = "raw", kindUnknown, "not a datagram"
		rep.Input.Bytes, rep.Input.TooLong = maxInspectInput, true
		rep.Error = fmt.Sprintf("over %d bytes; a datagram is at most %d", maxInspectInput, mcast.MaxDatagram)
		if ring != nil {
			rep.Verified, rep.Reason = new(bool), receive.TooBig.String()
		}
		return rep, nil
	}
	dgram, encoding, err := decodeInput(in)
	if err != nil {
		return nil, err
	}
	if encoding == "raw" && len(dgram) > 0 && dgram[len(dgram)-1] == '\n' && bytes.IndexByte(dgram[:len(dgram)-1], '\n') < 0 {
		dgram = bytes.TrimSuffix(dgram[:len(dgram)-1], []byte{'\r'})
		rep.Notes = append(rep.Notes, "a final newline was dropped: it is no part of a datagram, and recv drops a datagram with one as malformed")
	}
	rep.Input.Encoding, rep.Input.Bytes = encoding, len(dgram)
	if len(dgram) > mcast.MaxDatagram {
		rep.Notes = append(rep.Notes, fmt.Sprintf("over %d bytes: no UDP datagram is this long", mcast.MaxDatagram))
	} else if len(dgram) > budgetEthernet4 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("over %d bytes: recv with the default --max-datagram drops it as %s", budgetEthernet4, receive.TooBig))
	}

	var frameTime time.Time // when the frame says it was made, if it says
	switch u, jwsErr := sign.Inspect(dgram); {
	case jwsErr == nil:
		frameTime = rep.describeJWS(u, ring, now)
	case len(dgram) > 0 && dgram[0] == '{':
		rep.describeJSON(dgram)
	case len(dgram) == 0:
		rep.Kind, rep.Summary = kindUnknown, "empty: not a datagram"
		rep.Error = "empty input"
	default:
		rep.Kind, rep.Summary = kindUnknown, "not a datagram ssmrandom knows: neither a JWS nor an IEDP 1.0 frame"
		rep.Error = jwsErr.Error()
	}
	if ring != nil {
		rep.verify(dgram, ring, frameTime)
	}
	if !frameTime.IsZero() {
		switch age := now.Sub(frameTime); {
		case age > replay.DefaultMaxAge:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: made %s ago, more than the default --max-age of %s", receive.Stale, durationText(age), replay.DefaultMaxAge))
		case -age > replay.DefaultMaxSkew:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: dated %s ahead, more than the default --max-skew of %s", receive.Future, durationText(-age), replay.DefaultMaxSkew))
		}
	}
	return rep, nil
}

// describeJWS fills in what u, a datagram taken apart, holds, and returns
// the time its frame says it was made, if it parses that far.
func (rep *inspectReport) describeJWS(u sign.Unverified, ring *sign.Keyring, now time.Time) time.Time {
	rep.Kind, rep.Summary = kindJWS, "signed IEDP frame (JWS, compact serialization)"
	rep.Alg, rep.KeyID = u.Alg, u.KeyID
	n := len(u.Signature)
	rep.SignatureBytes = &n
	canonical := u.Alg == sign.Alg && string(u.Header) == `{"alg":"`+sign.Alg+`","kid":"`+u.KeyID+`"}`
	if !canonical {
		rep.Header = string(u.Header)
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
		rep.Frame = &inspectFrame{Version: frame.Version, Source: f.Source, Epoch: &f.Epoch, Seq: &f.Seq,
			TimeMillis: &f.Time, Time: &t, AgeSeconds: &age, DataBytes: &d}
	}
	if ring == nil { // what can be said without the key
		switch {
		case !canonical && u.Alg != sign.Alg:
			rep.Error = fmt.Sprintf("alg %s is not %s", quoteIfNeeded(u.Alg), sign.Alg)
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
func (rep *inspectReport) describeJSON(b []byte) {
	if f, err := frame.Parse(b); err == nil {
		rep.Kind, rep.Summary = kindPayload, "unsigned IEDP 2.0 payload: not a datagram, which is a JWS of it"
		t := time.UnixMilli(f.Time)
		d := len(f.Data)
		rep.Frame = &inspectFrame{Version: frame.Version, Source: f.Source, Epoch: &f.Epoch, Seq: &f.Seq, TimeMillis: &f.Time, Time: &t, DataBytes: &d}
		rep.Error = "an unsigned payload cannot be verified"
		return
	}
	// What it claims to be is its "v"; whether it is one, frame.ParseV1.
	var claim struct {
		V *string `json:"v"`
	}
	if err := json.Unmarshal(b, &claim); err != nil {
		rep.Kind, rep.Summary = kindUnknown, "not a datagram ssmrandom knows: neither a JWS nor an IEDP 1.0 frame"
		rep.Error = "not JSON: " + err.Error()
		return
	}
	if claim.V == nil || *claim.V != frame.V1Version {
		v := "no \"v\""
		if claim.V != nil {
			v = "\"v\" " + strconv.Quote(*claim.V)
		}
		rep.Kind, rep.Summary = kindUnknown, "not a datagram ssmrandom knows: a JSON object, but not an IEDP 1.0 frame"
		rep.Error = "a JSON object with " + v + "; not a JWS, nor an IEDP 1.0 frame"
		return
	}
	var f frame.Frame
	err := frame.ParseV1(&f, b)
	rep.Kind, rep.Summary = kindLegacy, legacyText
	rep.Frame = &inspectFrame{Version: frame.V1Version}
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
// judged against the frame's time. Its reasons and words are recv's.
func (rep *inspectReport) verify(dgram []byte, ring *sign.Keyring, t time.Time) {
	if t.IsZero() {
		t = time.Now()
	}
	p, err := receive.New(receive.Config{Trust: ring, Output: io.Discard, MaxDatagram: mcast.MaxDatagram, Now: func() time.Time { return t }})
	if err != nil { // not reached: ring has a key and the limits are set
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
	if rep.Kind == kindLegacy { // say what it is, not just that it is malformed
		if rep.FrameError == "" {
			rep.Error = legacyText
		}
		return
	}
	if why := v.Why(); why != nil {
		rep.Error = why.Error()
	}
}

// decodeInput returns the datagram that in holds, and its encoding: raw,
// hex or base64 (see inspect's description). An input that is a datagram
// both in hex and in base64 is an error.
func decodeInput(in []byte) ([]byte, string, error) {
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
	return nil, "", usagef("give the datagram as it is, or in an encoding that leaves no doubt", "the input is a datagram both in hex and in base64")
}

// looksLikeDatagram reports whether b could be a datagram: a JWS, which
// has two dots, or a JSON object.
func looksLikeDatagram(b []byte) bool {
	return bytes.Count(b, []byte{'.'}) == 2 || len(b) > 0 && b[0] == '{'
}

// printInspect writes the report as "name: value" lines.
func printInspect(w io.Writer, r *inspectReport) error {
	var buf bytes.Buffer
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&buf, "%-10s %s\n", name+":", escapeControl(fmt.Sprintf(format, args...)))
	}
	if r.Input.TooLong {
		line("input", "%s, more than %d bytes, not read further", quoteIfNeeded(r.Input.Name), r.Input.Bytes)
	} else {
		line("input", "%s, %d bytes, %s", quoteIfNeeded(r.Input.Name), r.Input.Bytes, r.Input.Encoding)
	}
	line("kind", "%s", r.Summary)
	if r.Header != "" {
		line("header", "%s", quoteIfNeeded(r.Header))
	}
	if r.Kind == kindJWS {
		line("alg", "%s", quoteIfNeeded(r.Alg))
		line("kid", "%s", quoteIfNeeded(r.KeyID))
		switch {
		case r.Trusted == nil:
			line("trusted", "not checked (no --trust)")
		case *r.Trusted:
			v := sign.Validity{}
			if r.KeyNotBefore != nil {
				v.NotBefore = *r.KeyNotBefore
			}
			if r.KeyNotAfter != nil {
				v.NotAfter = *r.KeyNotAfter
			}
			line("trusted", "yes, by %s, valid %s", r.KeyFile, validityText(v))
		case r.KeyID == "":
			line("trusted", "no: the header names no kid")
		default:
			line("trusted", "no: the kid is in none of the --trust keys")
		}
	}
	if f := r.Frame; f != nil {
		line("v", "%s", quoteIfNeeded(f.Version))
		if f.Source != "" {
			line("s", "%s", quoteIfNeeded(f.Source))
		}
		if f.Epoch != nil {
			line("e", "%d (%s)", *f.Epoch, rfc3339(time.UnixMilli(int64(*f.Epoch))))
		}
		if f.Seq != nil {
			line("n", "%d", *f.Seq)
		}
		if f.Time != nil {
			if f.AgeSeconds != nil {
				line("t", "%d (%s, %s)", *f.TimeMillis, rfc3339(*f.Time), agoText(time.Duration(*f.AgeSeconds*float64(time.Second))))
			} else {
				line("t", "%d (%s)", *f.TimeMillis, rfc3339(*f.Time))
			}
		}
		if f.DataBytes != nil {
			line("d", "%d bytes", *f.DataBytes)
		}
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
	case r.Kind == kindLegacy && r.Error == "":
		line("verified", "no: %s", legacyText)
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

// escapeControl returns s with every byte that is not printable ASCII
// written as \xNN: error texts may quote the input (encoding/json's do).
func escapeControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quoteIfNeeded returns s as it is if it is printable ASCII of at most
// 200 bytes, and otherwise quoted and cut, so that no input can put
// control characters on a terminal or flood it.
func quoteIfNeeded(s string) string {
	const max = 200
	plain := len(s) > 0 && len(s) <= max
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	if len(s) > max {
		return strconv.QuoteToASCII(s[:max]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
