package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/keylist"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// validityHint is the hint of every bad validity flag.
const validityHint = "--not-before and --not-after take RFC 3339 times such as 2026-01-01T00:00:00Z (--not-before also now); " +
	"--valid-for takes a duration such as 8760h or 365d"

func keygenCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "make a producer key pair, or with --host a host key pair, as JWK files",
		Description: "Writes PREFIX.jwk (the private key, mode 0600) and PREFIX.pub.jwk (the public key, to\n" +
			"copy into receivers' trust folders), and prints the key id: the RFC 7638 thumbprint\n" +
			"that every signed frame carries as its kid. Never overwrites a file without --force.\n\n" +
			"With --host it makes a host key instead: an X25519 key pair (RFC 8037) to which producers\n" +
			"seal this host's secret seeds (docs/protocol.md §9). PREFIX defaults to keys/host; copy\n" +
			"PREFIX.pub.jwk into each producer's members folder (send --members) and keep PREFIX.jwk\n" +
			"for ssmrandom seed. It prints the host key id.\n\n" +
			"--not-before, --not-after and --valid-for limit the key's validity period, written into\n" +
			"both files as the JWK members \"nbf\" and \"exp\" (docs/protocol.md §2.1): receivers refuse\n" +
			"frames made outside it (key_not_valid). Times are whole seconds; --valid-for counts from\n" +
			"--not-before, or from now. Without any of them the key is valid at all times.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "keys/producer", Usage: "write `PREFIX`.jwk and PREFIX.pub.jwk", DefaultText: "keys/producer, with --host keys/host"},
			&cli.BoolFlag{Name: "host", Usage: "make a host key (X25519) for sealed seeds instead of a producer key"},
			&cli.BoolFlag{Name: "force", Usage: "replace existing key files"},
			&cli.StringFlag{Name: "not-before", Usage: "the key is valid from `TIME` on: RFC 3339, such as 2026-01-01T00:00:00Z, or now"},
			&cli.StringFlag{Name: "not-after", Usage: "the key is valid until `TIME`, RFC 3339: the first second it is no longer valid"},
			&cli.StringFlag{Name: "valid-for", Usage: "the key is valid for `DURATION` from --not-before or now, such as 8760h or 365d"},
		},
		Action: func(c *cli.Context) error { return runKeygen(c, e) },
	}
}

func runKeygen(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	prefix := c.String("output")
	if c.Bool("host") && !c.IsSet("output") {
		prefix = "keys/host"
	}
	if prefix == "" || prefix[len(prefix)-1] == '/' {
		return usagef("-o/--output takes a file name prefix such as keys/producer", "bad key prefix %q", prefix)
	}
	now := time.Now()
	valid, err := validityFlags(c, now)
	if err != nil {
		return err
	}
	write, who, refusal := writeProducerKey, "give it to receivers", "receivers refuse its frames"
	past := "receivers would refuse every frame of the key"
	if c.Bool("host") {
		write, who, refusal = writeHostKey, "copy it into producers' members folders", "producers seal no seed to it"
		past = "producers would seal no seed to the key"
	}
	if !valid.NotAfter.IsZero() && !now.Before(valid.NotAfter) {
		// A configuration error: restarting cannot fix it (exit 2).
		return usagef(validityHint, "--not-after %s is already past: %s", words.Time(valid.NotAfter), past)
	}
	if err := makeKeyFolder(prefix, e); err != nil {
		return err
	}
	kid, privPath, pubPath, err := write(prefix, valid, c.Bool("force"))
	if errors.Is(err, fs.ErrExist) {
		// Exit 2: a restart cannot fix it.
		return asUsage(err, "choose another -o/--output prefix, or replace the files with --force")
	}
	if err != nil {
		return withHint(err, "choose another -o/--output prefix, or replace the files with --force")
	}
	fmt.Fprintf(e.stderr, "ssmrandom: wrote %s (private, keep it secret) and %s (public, %s)\n", privPath, pubPath, who)
	switch keylist.State(valid, now) {
	case keylist.Valid:
		fmt.Fprintf(e.stderr, "ssmrandom: the key is valid %s\n", words.Validity(valid.NotBefore, valid.NotAfter))
	default:
		fmt.Fprintf(e.stderr, "ssmrandom: the key is valid %s: not yet valid, %s until then\n", words.Validity(valid.NotBefore, valid.NotAfter), refusal)
	}
	fmt.Fprintln(e.stdout, kid)
	return nil
}

// makeKeyFolder makes the folder of prefix, mode 0700, if it is missing,
// and says so.
func makeKeyFolder(prefix string, e *env) error {
	dir := filepath.Dir(prefix)
	if dir == "." {
		return nil
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(e.stderr, "ssmrandom: made the folder %s (mode 0700)\n", dir)
	return nil
}

// writeProducerKey makes an Ed25519 producer key and writes its files.
func writeProducerKey(prefix string, valid sign.Validity, force bool) (kid, privPath, pubPath string, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", fmt.Errorf("keygen: %w", err)
	}
	privPath, pubPath, err = sign.WriteKeyPair(prefix, priv, valid, force)
	return sign.KeyID(priv.Public().(ed25519.PublicKey)), privPath, pubPath, err
}

// writeHostKey makes an X25519 host key and writes its files.
func writeHostKey(prefix string, valid sign.Validity, force bool) (kid, privPath, pubPath string, err error) {
	k, err := seal.GenerateHostKey()
	if err != nil {
		return "", "", "", fmt.Errorf("keygen: %w", err)
	}
	privPath, pubPath, err = seal.WriteHostKeyPair(prefix, k, valid, force)
	return k.ID(), privPath, pubPath, err
}

// validityFlags reads --not-before, --not-after and --valid-for.
func validityFlags(c *cli.Context, now time.Time) (sign.Validity, error) {
	var v sign.Validity
	now = now.Truncate(time.Second)
	if s := c.String("not-before"); s != "" {
		if s == "now" {
			v.NotBefore = now
		} else {
			t, err := parseBound("not-before", s)
			if err != nil {
				return sign.Validity{}, err
			}
			v.NotBefore = t
		}
	}
	if s := c.String("not-after"); s != "" {
		if c.String("valid-for") != "" {
			return sign.Validity{}, usagef("give either --not-after or --valid-for", "both --not-after and --valid-for given")
		}
		t, err := parseBound("not-after", s)
		if err != nil {
			return sign.Validity{}, err
		}
		v.NotAfter = t
	}
	if s := c.String("valid-for"); s != "" {
		d, ok := parseDays(s)
		if !ok || d <= 0 || d%time.Second != 0 {
			return sign.Validity{}, usagef(validityHint, "bad --valid-for %q: not a positive duration in whole seconds", s)
		}
		from := now
		if !v.NotBefore.IsZero() {
			from = v.NotBefore
		}
		v.NotAfter = from.Add(d)
		if v.NotAfter.Year() > 9999 {
			return sign.Validity{}, usagef(validityHint, "bad --valid-for %q: the key would expire after the year 9999", s)
		}
	}
	if !v.NotBefore.IsZero() && !v.NotAfter.IsZero() && !v.NotAfter.After(v.NotBefore) {
		return sign.Validity{}, usagef(validityHint, "--not-after %s is not after --not-before %s", words.Time(v.NotAfter), words.Time(v.NotBefore))
	}
	if err := v.Check(); err != nil { // what a JWK can hold: up to the year 9999
		return sign.Validity{}, usagef(validityHint, "bad validity period %s: a JWK holds whole seconds from 1970 to the end of 9999", v)
	}
	return v, nil
}

// parseBound reads one RFC 3339 validity bound: a whole second from 1970
// to 9999, as a JWK NumericDate holds.
func parseBound(flag, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		return time.Time{}, usagef(validityHint, "bad --%s %q: not an RFC 3339 time", flag, s)
	case t.Nanosecond() != 0:
		return time.Time{}, usagef(validityHint, "bad --%s %q: not a whole second", flag, s)
	case t.Unix() < 0:
		return time.Time{}, usagef(validityHint, "bad --%s %q: before 1970", flag, s)
	}
	return t.UTC(), nil
}

// parseDays is time.ParseDuration that also takes a whole number of days,
// such as 365d.
func parseDays(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days > uint64(math.MaxInt64/(24*time.Hour)) {
			return 0, false
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
