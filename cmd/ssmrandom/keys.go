package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/metrics"
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

// keyRow is one line of the listing, and its JSON form.
type keyRow struct {
	KeyID     string     `json:"kid"`
	File      string     `json:"file,omitempty"` // "" for a key only the receiver knows
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	// State is valid, expired or not yet valid; "not trusted" for a key
	// the receiver reports but --trust does not hold.
	State string `json:"state"`
	// LastFrame is the receiver's last verified frame of the key; nil if
	// none, or without --metrics.
	LastFrame *time.Time `json:"last_frame,omitempty"`
	// AgeSeconds is how long before the listing LastFrame was.
	AgeSeconds *float64 `json:"last_frame_age_seconds,omitempty"`
}

// keysReport is the JSON form of the whole listing.
type keysReport struct {
	Trust    string       `json:"trust"`
	Metrics  string       `json:"metrics,omitempty"`
	Keys     []keyRow     `json:"keys"`
	Skipped  []skippedRow `json:"skipped"`
	Warnings []string     `json:"warnings"`
}

// skippedRow is a trust file that did not load.
type skippedRow struct {
	Error string `json:"error"` // names the file
}

const stateNotTrusted = "not trusted"

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
	rep := keysReport{Trust: path, Metrics: c.String("metrics"), Keys: keyRows(ring, last, time.Now()), Skipped: []skippedRow{}, Warnings: trustWarnings(warnings)}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	for _, err := range skipped {
		rep.Skipped = append(rep.Skipped, skippedRow{Error: err.Error()})
	}
	if err := writeKeys(c, e, &rep, metricsURL != nil); err != nil {
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

// keyRows lists the keys of ring and, with the receiver's last frames of
// each kid (nil without --metrics), those the receiver still has that
// ring does not.
func keyRows(ring *sign.Keyring, last map[string]time.Time, now time.Time) []keyRow {
	rows := []keyRow{}
	for _, k := range ring.Keys() {
		row := keyRow{KeyID: k.ID, File: k.File, State: keyState(k.Valid, now)}
		if !k.Valid.NotBefore.IsZero() {
			row.NotBefore = &k.Valid.NotBefore
		}
		if !k.Valid.NotAfter.IsZero() {
			row.NotAfter = &k.Valid.NotAfter
		}
		rows = append(rows, row)
	}
	for kid := range last {
		if _, ok := ring.Lookup(kid); !ok { // still in the receiver, no longer in --trust
			rows = append(rows, keyRow{KeyID: kid, State: stateNotTrusted})
		}
	}
	for i := range rows {
		if t, ok := last[rows[i].KeyID]; ok && !t.IsZero() {
			age := now.Sub(t).Seconds()
			rows[i].LastFrame, rows[i].AgeSeconds = &t, &age
		}
	}
	return rows
}

// writeKeys writes the listing: JSON with --json, else the warnings to
// stderr and a table to stdout.
func writeKeys(c *cli.Context, e *env, rep *keysReport, withMetrics bool) error {
	if c.Bool("json") {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stderr, "ssmrandom: warning: %s\n", w)
	}
	return printKeys(e.stdout, rep, withMetrics)
}

// printKeys writes the listing as an aligned table, then the skipped
// files.
func printKeys(w io.Writer, rep *keysReport, withMetrics bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "KID\tSTATE\tNOT BEFORE\tNOT AFTER\tFILE"
	if withMetrics {
		head += "\tLAST FRAME\tAGE"
	}
	fmt.Fprintln(tw, head)
	orDash := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return words.Time(*t)
	}
	for _, k := range rep.Keys {
		file := k.File
		if file == "" {
			file = "-"
		}
		line := strings.Join([]string{k.KeyID, k.State, orDash(k.NotBefore), orDash(k.NotAfter), file}, "\t")
		if withMetrics {
			age := "-"
			if k.AgeSeconds != nil {
				age = words.Ago(time.Duration(*k.AgeSeconds * float64(time.Second)))
			}
			last := "none yet"
			if k.LastFrame != nil {
				last = words.Time(k.LastFrame.Truncate(time.Second))
			}
			line += "\t" + last + "\t" + age
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Skipped {
		if _, err := fmt.Fprintf(w, "skipped: %s\n", s.Error); err != nil {
			return err
		}
	}
	return nil
}
