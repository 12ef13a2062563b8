// Package buildinfo says which version of ssmrandom a binary is, from
// what the build linked in or the go command recorded. It is the
// standard library only.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version returns the version ssmrandom reports (--version, the
// man page, ssmrandom_build_info): linked, the one the Makefile sets with
// -X main.version (git describe); else the module version the go command
// stamped into the binary (a tag, or a pseudo-version with the commit's
// date and hash, which go install module@version and, since Go 1.24, a
// plain go build in a clone record); else one made of the VCS revision,
// date and modified flag of the build info; else "dev". The result is
// one word, so that "ssmrandom version X" stays easy to parse.
func Version(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, when string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel"
	if when != "" { // RFC 3339, as a pseudo-version's yyyymmddhhmmss
		v += "-" + strings.NewReplacer("-", "", ":", "", "T", "", "Z", "").Replace(when)
	}
	v += "-" + rev
	if modified {
		v += "+dirty"
	}
	return v
}
