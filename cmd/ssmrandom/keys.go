package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/keylist"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// metricsTimeout bounds the whole --metrics request, body included.
const metricsTimeout = 10 * time.Second

func keysCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "list the trusted producer keys, or with --members the host keys, as loaded",
		Description: "Reads --trust as recv does and lists each key: its kid, the file it came from, its\n" +
			"validity period (the JWK members \"nbf\" and \"exp\") and whether it is valid now,\n" +
			"expired or not yet valid. A file that does not load is listed as skipped, with why,\n" +
			"and the exit status is then 1: recv refuses to start with such a file, and a running\n" +
			"recv passes it over when it reloads its keys.\n\n" +
			"With --metrics URL, the metrics endpoint of a running receiver (such as\n" +
			"http://127.0.0.1:9641/metrics), it also shows when the receiver last verified a frame\n" +
			"of each key, and how long ago (" + metrics.LastFrameName + ").\n\n" +
			"With --members PATH instead of --trust it lists the host keys that send --members seals\n" +
			"seeds to: host key id, host id (the 8 bytes sent in the clear), state, validity, file.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trust", Usage: "trusted producer keys: a `PATH` to a folder of JWK files, one JWK file, or a JWK Set file (required)"},
			&cli.StringFlag{Name: "members", Usage: "list the host keys in `PATH` (send's --members) instead"},
			&cli.StringFlag{Name: "metrics", Usage: "read the last frame of each key from a running receiver's metrics endpoint at `URL`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
		},
		Action: func(c *cli.Context) error { return runKeys(c, e) },
	}
}

func runKeys(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	path := c.String("trust")
	if c.String("members") != "" {
		if path != "" || c.String("metrics") != "" {
			return usagef("give --trust (with or without --metrics), or --members alone", "--members does not go with --trust or --metrics")
		}
		return runKeysMembers(c, e)
	}
	if path == "" {
		return usagef("name the keys with --trust, e.g. --trust /etc/ssmrandom/trust, or --members", "keys lists the keys of --trust or --members, and neither was given")
	}
	metricsURL, err := metricsURLFlag(c)
	if err != nil {
		return err
	}
	ring, warnings, skipped, err := sign.ReloadTrust(path)
	if err != nil {
		return asUsage(err, "--trust takes a folder of public JWK files, a JWK file or a JWK Set file")
	}
	var last map[string]time.Time
	if metricsURL != nil {
		ctx, cancel := context.WithTimeout(c.Context, metricsTimeout)
		last, err = metrics.LastFrames(ctx, metricsURL.String())
		cancel()
		if err != nil {
			return withHint(err, "--metrics takes the metrics endpoint of a running recv, such as http://127.0.0.1:9641/metrics")
		}
	}
	list := keylist.NewTrust(path, ring, skipped, report.TrustWarnings(warnings), c.String("metrics"), last, time.Now())
	if err := writeListing(c, e, list, list.Warnings); err != nil {
		return err
	}
	switch {
	case len(skipped) > 0:
		return withHint(fmt.Errorf("%s of --trust %s did not load (listed as skipped): recv refuses to start with it, and a running recv passes it over when it reloads its keys", words.Plural(uint64(len(skipped)), "file"), path),
			"fix or remove what was skipped")
	case ring.Len() == 0:
		return fmt.Errorf("no Ed25519 key in %s; recv would refuse to start", path)
	}
	return nil
}

// metricsURLFlag reads --metrics: nil if it is not set.
func metricsURLFlag(c *cli.Context) (*url.URL, error) {
	s := c.String("metrics")
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--metrics takes the URL of a receiver's metrics endpoint, such as http://127.0.0.1:9641/metrics", "bad --metrics URL %q", s)
	}
	return u, nil
}

// writeListing writes a key listing: JSON with --json, else the warnings
// to stderr and a table to stdout.
func writeListing(c *cli.Context, e *env, list interface {
	WriteJSON(io.Writer) error
	WriteText(io.Writer) error
}, warnings []string) error {
	if c.Bool("json") {
		return list.WriteJSON(e.stdout)
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "ssmrandom: warning: %s\n", w)
	}
	return list.WriteText(e.stdout)
}
