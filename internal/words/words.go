// Package words writes counts, durations, times, validity periods and
// error texts (without the prefixes of the internal packages) the
// way ssmrandom says them to a reader, so that every command and report
// says them alike. It is pure: it formats values and does nothing else.
package words

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"
)

// Plural returns n and noun, with an s unless n is 1: "1 frame",
// "2 frames".
func Plural(n uint64, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Duration is d to the second, or from two days on to the hour in days
// and hours: "2h5m0s", "9d4h".
func Duration(d time.Duration) string {
	if d >= 48*time.Hour {
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
	return d.Round(time.Second).String()
}

// Ago says how long ago something happened d before now: "3s ago",
// "2h5m0s ago", "9d4h ago" from two days on, or "in 2s" for a time ahead.
func Ago(d time.Duration) string {
	if d < 0 {
		return "in " + Duration(-d)
	}
	return Duration(d) + " ago"
}

// Time formats t in UTC, in RFC 3339 with fractions of a second only
// where there are some.
func Time(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Validity says when a key with the period from notBefore to notAfter is
// valid; a zero time is an open end.
func Validity(notBefore, notAfter time.Time) string {
	switch {
	case notBefore.IsZero() && notAfter.IsZero():
		return "at all times"
	case notAfter.IsZero():
		return "from " + Time(notBefore) + " on"
	case notBefore.IsZero():
		return "until " + Time(notAfter)
	}
	return "from " + Time(notBefore) + " until " + Time(notAfter)
}

// Escape returns s with every byte that is not printable ASCII written as
// \xNN: error texts may quote hostile input (encoding/json's do).
func Escape(s string) string {
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

// Round rounds d for a reader: to the second from a second on
// ("1m0s"), else to the millisecond ("300ms").
func Round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// pkgPrefix matches the prefix of an internal package in an error's
// text, at its start or after a colon: "sign: trust: ".
var pkgPrefix = regexp.MustCompile(`(^|: |\()(?:sign|trust|mcast|sink|receive|send|frame|replay|health|sample|metrics|control|pidfile|seal|seedwire|describe): `)

// Error returns err's text for an operator: without the prefixes of
// the internal packages it passed through, and a file error as "PATH:
// cause" rather than Go's "stat PATH: cause".
func Error(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = strings.Replace(msg, pe.Error(), pe.Path+": "+pe.Err.Error(), 1)
	}
	return Plain(msg)
}

// Plain returns msg without the prefixes of internal packages.
func Plain(msg string) string {
	for {
		t := pkgPrefix.ReplaceAllString(msg, "$1")
		if t == msg {
			return msg
		}
		msg = t
	}
}
