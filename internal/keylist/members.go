package keylist

import (
	"encoding/hex"
	"io"
	"time"

	"github.com/nordunet/ssmrandom/internal/seal"
)

// Member is one host key of a [Members] listing. It holds the public
// key's id, never the key.
type Member struct {
	KeyID     string     `json:"kid"`
	HostID    string     `json:"host_id"` // the 8 bytes sent in the clear, in hex
	File      string     `json:"file"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	State     string     `json:"state"`
}

// Members is the listing of the host keys send --members seals seeds to
// (ssmrandom keys --members), and its JSON form.
type Members struct {
	Members  string    `json:"members"` // the path the keys came from
	Keys     []Member  `json:"keys"`
	Skipped  []Skipped `json:"skipped"`
	Warnings []string  `json:"warnings"`
}

// NewMembers lists the host keys of set, loaded from path, as of now,
// with the files that did not load and the loader's warnings.
func NewMembers(path string, set *seal.Members, skipped []error, warnings []string, now time.Time) *Members {
	l := &Members{Members: path, Keys: []Member{}, Skipped: skippedRows(skipped), Warnings: append([]string{}, warnings...)}
	for _, m := range set.All() {
		row := Member{KeyID: m.ID, HostID: hex.EncodeToString(m.HostID[:]), File: m.File, State: State(m.Valid, now)}
		row.NotBefore, row.NotAfter = period(m.Valid)
		l.Keys = append(l.Keys, row)
	}
	return l
}

// WriteJSON writes the listing as indented JSON.
func (l *Members) WriteJSON(w io.Writer) error { return writeJSON(w, l) }

// WriteText writes the listing as an aligned table, then the skipped
// files. The warnings are the caller's to print.
func (l *Members) WriteText(w io.Writer) error {
	rows := make([][]string, 0, len(l.Keys))
	for _, m := range l.Keys {
		rows = append(rows, []string{m.KeyID, m.HostID, m.State, orDash(m.NotBefore), orDash(m.NotAfter), m.File})
	}
	return writeTable(w, "HOST KEY ID\tHOST ID\tSTATE\tNOT BEFORE\tNOT AFTER\tFILE", rows, l.Skipped)
}
