package report

import (
	"fmt"

	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// Reload is the outcome of loading a daemon's key path again: recv's
// --trust or send's --members.
type Reload struct {
	Trigger  string   // why it was loaded again: "SIGHUP", or a file's change
	Err      error    // the path could not be read: nothing else is set
	Gone     bool     // Err is that the path is gone: no key is in use until it is back
	Removed  int      // with Gone, the keys that were in use
	Warnings []string // about keys that loaded
	Skipped  []error  // the files passed over
}

// TrustReload returns the lines of a reload of --trust, path, that put
// keys keys in place, of which added and removed are new and gone and
// changed have a new validity period.
func TrustReload(r Reload, path string, keys int, added, removed, changed []string) []Line {
	switch {
	case r.Gone:
		return []Line{
			{Level: Error, Fields: Fields{{"error", words.Error(r.Err)}, {"trigger", r.Trigger}}, Msg: "--trust is gone: trusting no key until it is back"},
			{Level: Warn, Fields: Fields{{"removed", r.Removed}}, Msg: "trust reloaded: 0 keys"},
		}
	case r.Err != nil:
		return []Line{{Level: Error, Fields: Fields{{"error", words.Error(r.Err)}, {"trigger", r.Trigger}}, Msg: "could not read --trust again; keeping the keys in use"}}
	}
	lines := r.notes("--trust", "the other keys stay trusted", true)
	lines = append(lines, Line{Level: r.level(), Fields: Fields{{"trigger", r.Trigger}, {"keys", keys}, {"added", added}, {"removed", removed},
		{"validity_changed", changed}, {"skipped_files", len(r.Skipped)}},
		Msg: fmt.Sprintf("trust reloaded: %d keys (%d added, %d removed)", keys, len(added), len(removed))})
	if keys == 0 {
		lines = append(lines, Line{Level: Error, Fields: Fields{{"trust", path}}, Msg: "no trusted key left: every frame is dropped until a key is added"})
	}
	return lines
}

// MembersReload returns the lines of a reload of send's --members that put
// members members in place, added of them new, and removed gone. It names
// no member, only counts them.
func MembersReload(r Reload, members, added, removed int) []Line {
	var lines []Line
	switch {
	case r.Gone:
		lines = append(lines, Line{Level: Error, Fields: Fields{{"error", r.Err}, {"trigger", r.Trigger}}, Msg: "--members is gone: sealing seeds to no host until it is back"})
	case r.Err != nil:
		return []Line{{Level: Error, Fields: Fields{{"error", r.Err}, {"trigger", r.Trigger}}, Msg: "could not read --members again; keeping the members in use"}}
	}
	lines = append(lines, r.notes("--members", "the other members stay", false)...)
	return append(lines, Line{Level: r.level(), Fields: Fields{{"trigger", r.Trigger}, {"members", members}, {"added", added}, {"removed", removed}, {"skipped_files", len(r.Skipped)}},
		Msg: fmt.Sprintf("members reloaded: %d members (%d added, %d removed)", members, added, removed)})
}

// notes are a line for each warning and each file passed over, in the
// words of an operator if plain.
func (r Reload) notes(flag, stay string, plain bool) []Line {
	var lines []Line
	for _, w := range r.Warnings {
		if plain {
			w = words.Plain(w)
		}
		lines = append(lines, Line{Level: Warn, Msg: w})
	}
	for _, err := range r.Skipped {
		var e any = err
		if plain {
			e = words.Error(err)
		}
		lines = append(lines, Line{Level: Error, Fields: Fields{{"error", e}}, Msg: "passed over a " + flag + " file that does not load; " + stay})
	}
	return lines
}

// level is the level of a reload's summing-up line: warn if a file was
// passed over.
func (r Reload) level() Level {
	if len(r.Skipped) > 0 {
		return Warn
	}
	return Info
}

// TrustWarnings words the warnings of sign.LoadTrust and ReloadTrust, one
// line each.
func TrustWarnings(ws []sign.Warning) []string {
	lines := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.Private {
			lines = append(lines, fmt.Sprintf("%s is a private key; trusting only its public half (keep private keys out of trust folders)", w.File))
		} else {
			lines = append(lines, fmt.Sprintf("key %s is in %s (valid %s) and in %s (valid %s); trusting it only when both say it is valid",
				w.KeyID, w.File, w.Valid, w.Other, w.OtherValid))
		}
	}
	return lines
}
