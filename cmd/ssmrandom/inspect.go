package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/describe"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// inspectLimits are the sizes inspect judges a datagram against: the
// read buffer, and the default --max-datagram over IPv4 on Ethernet.
var inspectLimits = describe.Limits{Datagram: mcast.ReadBufferSize, Default: maxDatagramEthernet4}

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

func runInspect(c *cli.Context, e *env) error {
	for _, a := range c.Args().Slice() {
		if len(a) > 1 && a[0] == '-' {
			return usagef("put flags before the file: ssmrandom inspect [--trust PATH] [FILE|-]", "flag %q after the file", a)
		}
	}
	if c.NArg() > 1 {
		return usagef("inspect reads one datagram: ssmrandom inspect [--trust PATH] [FILE|-]", "inspect takes one file; got %d arguments", c.NArg())
	}
	ring, err := inspectTrust(c.String("trust"), e)
	if err != nil {
		return err
	}
	in, display, err := readInput(c.Args().First(), e.stdin)
	if err != nil {
		return err
	}
	rep, err := describe.Read(in, display, ring, time.Now(), inspectLimits)
	if errors.Is(err, describe.ErrAmbiguous) {
		return usagef("give the datagram as it is, or in an encoding that leaves no doubt", "the input is a datagram both in hex and in base64")
	}
	if c.Bool("json") {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	return rep.Err()
}

// inspectTrust loads --trust, if given, and warns on stderr of what it
// skipped.
func inspectTrust(path string, e *env) (*sign.Keyring, error) {
	if path == "" {
		return nil, nil
	}
	r, warnings, skipped, err := sign.ReloadTrust(path)
	if err != nil {
		return nil, asUsage(err, "--trust takes a folder of public JWK files, a JWK file or a JWK Set file")
	}
	for _, w := range report.TrustWarnings(warnings) {
		fmt.Fprintf(e.stderr, "ssmrandom: warning: %s\n", w)
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stderr, "ssmrandom: warning: skipped %s\n", s)
	}
	if r.Len() == 0 {
		return nil, usagef("--trust takes a folder of public JWK files, a JWK file or a JWK Set file", "no Ed25519 key in %s", path)
	}
	return r, nil
}

// readInput reads at most inspectLimits.MaxInput() bytes, and one more to tell
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
	b, err := io.ReadAll(io.LimitReader(r, int64(inspectLimits.MaxInput())+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", display, err)
	}
	return b, display, nil
}
