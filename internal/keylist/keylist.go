// Package keylist builds and prints the key listings of ssmrandom keys:
// the trusted producer keys (with, from a running receiver, the last
// frame of each) and the host keys that send --members seals seeds to. A
// listing holds key ids, files and validity periods, never a key. It
// reads no file and no flag: the caller loads the keys and hands them in.
package keylist

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// Key states: where a moment stands in a key's validity period, and a
// key the receiver reports that the listed keys do not hold.
const (
	Valid      = "valid"
	Expired    = "expired"
	NotYet     = "not yet valid"
	NotTrusted = "not trusted"
)

// State returns the state of a key with period v at now: [Valid],
// [Expired] or [NotYet].
func State(v sign.Validity, now time.Time) string {
	switch {
	case v.Contains(now):
		return Valid
	case !v.NotAfter.IsZero() && !now.Before(v.NotAfter):
		return Expired
	}
	return NotYet
}

// Skipped is a key file that did not load.
type Skipped struct {
	Error string `json:"error"` // names the file
}

// skippedRows returns errs as Skipped rows, never nil.
func skippedRows(errs []error) []Skipped {
	rows := []Skipped{}
	for _, err := range errs {
		rows = append(rows, Skipped{Error: err.Error()})
	}
	return rows
}

// period returns v's ends, nil where open.
func period(v sign.Validity) (notBefore, notAfter *time.Time) {
	if !v.NotBefore.IsZero() {
		notBefore = &v.NotBefore
	}
	if !v.NotAfter.IsZero() {
		notAfter = &v.NotAfter
	}
	return notBefore, notAfter
}

// orDash returns t as words.Time, or - for nil.
func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return words.Time(*t)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable writes the header and rows as an aligned table, then the
// skipped files.
func writeTable(w io.Writer, header string, rows [][]string, skipped []Skipped) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range skipped {
		if _, err := fmt.Fprintf(w, "skipped: %s\n", s.Error); err != nil {
			return err
		}
	}
	return nil
}
