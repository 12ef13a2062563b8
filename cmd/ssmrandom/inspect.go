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
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/describe"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// maxInspectInput is the most bytes inspect reads: the largest datagram
// in hex (twice its length), with room for line breaks.
const maxInspectInput = 3 * mcast.ReadBufferSize

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

// inspectReport is what inspect found (describe.Report), with the
// methods that word its outcome.
type inspectReport struct{ *describe.Report }

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
		for _, w := range trustWarnings(warnings) {
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
	if len(in) > maxInspectInput {
		rep := &describe.Report{Input: describe.Input{Name: name, Encoding: "raw", Bytes: maxInspectInput, TooLong: true},
			Kind: describe.KindUnknown, Summary: "not a datagram"}
		rep.Error = fmt.Sprintf("over %d bytes; a datagram is at most %d", maxInspectInput, mcast.ReadBufferSize)
		if ring != nil {
			rep.Verified, rep.Reason = new(bool), receive.TooBig.String()
		}
		return &inspectReport{rep}, nil
	}
	dgram, encoding, err := decodeInput(in)
	if err != nil {
		return nil, err
	}
	var notes []string
	if encoding == "raw" && len(dgram) > 0 && dgram[len(dgram)-1] == '\n' && bytes.IndexByte(dgram[:len(dgram)-1], '\n') < 0 {
		dgram = bytes.TrimSuffix(dgram[:len(dgram)-1], []byte{'\r'})
		notes = append(notes, "a final newline was dropped: it is no part of a datagram, and recv drops a datagram with one as malformed")
	}
	if len(dgram) > mcast.ReadBufferSize {
		notes = append(notes, fmt.Sprintf("over %d bytes: no UDP datagram is this long", mcast.ReadBufferSize))
	} else if len(dgram) > maxDatagramEthernet4 {
		notes = append(notes, fmt.Sprintf("over %d bytes: recv with the default --max-datagram drops it as %s", maxDatagramEthernet4, receive.TooBig))
	}
	rep := describe.Datagram(dgram, ring, now, mcast.ReadBufferSize)
	rep.Input = describe.Input{Name: name, Encoding: encoding, Bytes: len(dgram)}
	rep.Notes = append(notes, rep.Notes...)
	if made := rep.Made; !made.IsZero() {
		switch replay.Fresh(made, now, replay.DefaultMaxAge, replay.DefaultMaxSkew) {
		case replay.ErrStale:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: made %s ago, more than the default --max-age of %s", receive.Stale, durationText(now.Sub(made)), replay.DefaultMaxAge))
		case replay.ErrFuture:
			rep.Notes = append(rep.Notes, fmt.Sprintf("recv would drop it now as %s: dated %s ahead, more than the default --max-skew of %s", receive.Future, durationText(made.Sub(now)), replay.DefaultMaxSkew))
		}
	}
	return &inspectReport{rep}, nil
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
		line("input", "%s, more than %d bytes, not read further", describe.Quote(r.Input.Name), r.Input.Bytes)
	} else {
		line("input", "%s, %d bytes, %s", describe.Quote(r.Input.Name), r.Input.Bytes, r.Input.Encoding)
	}
	line("kind", "%s", r.Summary)
	if r.Header != "" {
		line("header", "%s", describe.Quote(r.Header))
	}
	if r.Kind == describe.KindJWS {
		printKey(line, r)
	}
	if f := r.Frame; f != nil {
		printFrame(line, f)
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
	case r.Kind == describe.KindLegacy && r.Error == "":
		line("verified", "no: %s", describe.LegacyText)
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

// printKey prints a JWS's header fields, and whether its key is trusted.
func printKey(line func(name, format string, args ...any), r *inspectReport) {
	line("alg", "%s", describe.Quote(r.Alg))
	line("kid", "%s", describe.Quote(r.KeyID))
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

// printFrame prints a frame's fields.
func printFrame(line func(name, format string, args ...any), f *describe.Frame) {
	line("v", "%s", describe.Quote(f.Version))
	if f.Source != "" {
		line("s", "%s", describe.Quote(f.Source))
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
