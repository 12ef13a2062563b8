// Package report decides what the daemons tell their operator in their
// logs: which verdicts and events become lines, at which level, when an
// alarm or a state changes, and what a periodic summary holds. It logs
// nothing itself (STYLE.md: internal packages never log): it returns
// [Line]s, each a level, a message and fields in order, which cmd hands to
// its logger. It never puts key material or payload bytes in a line.
package report

import "github.com/nordunet/ssmrandom/internal/amt"

// Level is a line's severity, as zerolog's levels.
type Level int8

// The levels a line may have.
const (
	Debug Level = iota
	Info
	Warn
	Error
)

// Line is one log line: its level, its fields in order, and its message.
type Line struct {
	Level  Level
	Fields Fields
	Msg    string
}

// Field is one key and value of a line. Value is a string, bool, int,
// uint64, float64, error (a nil error leaves the field out), a [Fields]
// (an object), a []string or a []Fields (an array).
type Field struct {
	Key   string
	Value any
}

// Fields are the fields of a line or an object, in order.
type Fields []Field

// add appends key and value to f.
func (f *Fields) add(key string, value any) { *f = append(*f, Field{key, value}) }

// Transport says how datagrams arrive, for the summaries: natively (s
// nil), or through an AMT relay with the tunnel's state and counts.
func Transport(s *amt.Stats) Fields {
	if s == nil {
		return Fields{{"kind", "native"}}
	}
	f := Fields{{"kind", "amt"}, {"state", s.State.String()}, {"discovery", s.Discovery.String()},
		{"rediscoveries", s.Rediscoveries}, {"queries", s.Queries}, {"data", s.Data},
		{"foreign", s.Foreign}, {"malformed", s.Malformed}, {"stray", s.Stray}, {"local", s.Local.String()}}
	if s.Relay.IsValid() {
		f.add("relay", s.Relay.String())
	}
	return f
}
