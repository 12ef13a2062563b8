package keylist

import (
	"io"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// Key is one trusted producer key of a [Trust] listing.
type Key struct {
	KeyID     string     `json:"kid"`
	File      string     `json:"file,omitempty"` // "" for a key only the receiver knows
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	// State is Valid, Expired or NotYet; NotTrusted for a key the
	// receiver reports but the keyring does not hold.
	State string `json:"state"`
	// LastFrame is the receiver's last verified frame of the key; nil if
	// none, or without a receiver's metrics.
	LastFrame *time.Time `json:"last_frame,omitempty"`
	// AgeSeconds is how long before the listing LastFrame was.
	AgeSeconds *float64 `json:"last_frame_age_seconds,omitempty"`
}

// Trust is the listing of the trusted producer keys (ssmrandom keys
// --trust), and its JSON form.
type Trust struct {
	Trust    string    `json:"trust"`             // the path the keys came from
	Metrics  string    `json:"metrics,omitempty"` // the receiver's metrics URL, if asked
	Keys     []Key     `json:"keys"`
	Skipped  []Skipped `json:"skipped"`
	Warnings []string  `json:"warnings"`
}

// NewTrust lists the keys of ring, loaded from path, as of now, with the
// files that did not load and the loader's warnings. With last, the
// receiver's last frame of each kid read from its metrics at metricsURL
// (nil and "" without), it also lists those the receiver still has that
// ring does not.
func NewTrust(path string, ring *sign.Keyring, skipped []error, warnings []string, metricsURL string, last map[string]time.Time, now time.Time) *Trust {
	t := &Trust{Trust: path, Metrics: metricsURL, Keys: []Key{}, Skipped: skippedRows(skipped), Warnings: append([]string{}, warnings...)}
	for _, k := range ring.Keys() {
		row := Key{KeyID: k.ID, File: k.File, State: State(k.Valid, now)}
		row.NotBefore, row.NotAfter = period(k.Valid)
		t.Keys = append(t.Keys, row)
	}
	for kid := range last {
		if _, ok := ring.Lookup(kid); !ok { // still in the receiver, no longer trusted
			t.Keys = append(t.Keys, Key{KeyID: kid, State: NotTrusted})
		}
	}
	for i := range t.Keys {
		if at, ok := last[t.Keys[i].KeyID]; ok && !at.IsZero() {
			age := now.Sub(at).Seconds()
			t.Keys[i].LastFrame, t.Keys[i].AgeSeconds = &at, &age
		}
	}
	return t
}

// WriteJSON writes the listing as indented JSON.
func (t *Trust) WriteJSON(w io.Writer) error { return writeJSON(w, t) }

// WriteText writes the listing as an aligned table, with the last frame
// of each key if it holds a receiver's metrics, then the skipped files.
// The warnings are the caller's to print.
func (t *Trust) WriteText(w io.Writer) error {
	withMetrics := t.Metrics != ""
	head := "KID\tSTATE\tNOT BEFORE\tNOT AFTER\tFILE"
	if withMetrics {
		head += "\tLAST FRAME\tAGE"
	}
	rows := make([][]string, 0, len(t.Keys))
	for _, k := range t.Keys {
		file := k.File
		if file == "" {
			file = "-"
		}
		row := []string{k.KeyID, k.State, orDash(k.NotBefore), orDash(k.NotAfter), file}
		if withMetrics {
			age := "-"
			if k.AgeSeconds != nil {
				age = words.Ago(time.Duration(*k.AgeSeconds * float64(time.Second)))
			}
			last := "none yet"
			if k.LastFrame != nil {
				last = words.Time(k.LastFrame.Truncate(time.Second))
			}
			row = append(row, last, age)
		}
		rows = append(rows, row)
	}
	return writeTable(w, head, rows, t.Skipped)
}
