package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/nordunet/ssmrandom/internal/report"
)

// TestLogLines checks that a line of internal/report reaches the log as
// zerolog's typed methods would write it: fields in order, a nil error
// left out, objects and arrays nested.
func TestLogLines(t *testing.T) {
	var got, want bytes.Buffer
	f := func(kv ...any) report.Fields { // keys and values
		var fs report.Fields
		for i := 0; i < len(kv); i += 2 {
			fs = append(fs, report.Field{Key: kv[i].(string), Value: kv[i+1]})
		}
		return fs
	}
	logLines(zerolog.New(&got), report.Line{Level: report.Warn, Msg: "m <x>", Fields: f(
		"s", "a<b>&\"c", "n", uint64(7), "i", 3, "f", 0.123, "b", true, "e", errors.New("boom"), "nil", error(nil),
		"d", f("k", "v", "u", uint64(1)), "empty", report.Fields(nil), "arr", []string{"x", "y"},
		"objs", []report.Fields{f("kid", "a"), f("kid", "b", "age", 1.5)})})
	wantLog := zerolog.New(&want)
	wantLog.Warn().Str("s", "a<b>&\"c").Uint64("n", 7).Int("i", 3).Float64("f", 0.123).Bool("b", true).AnErr("e", errors.New("boom")).AnErr("nil", nil).
		Dict("d", zerolog.Dict().Str("k", "v").Uint64("u", 1)).Dict("empty", zerolog.Dict()).Array("arr", zerolog.Arr().Str("x").Str("y")).
		Array("objs", zerolog.Arr().Dict(zerolog.Dict().Str("kid", "a")).Dict(zerolog.Dict().Str("kid", "b").Float64("age", 1.5))).Msg("m <x>")
	if got.String() != want.String() {
		t.Errorf("got %s, want %s", got.String(), want.String())
	}
	var debug bytes.Buffer
	logLines(zerolog.New(&debug).Level(zerolog.InfoLevel), report.Line{Level: report.Debug, Msg: "dropped"})
	if debug.Len() != 0 {
		t.Errorf("a debug line at info level: got %q, want nothing", debug.String())
	}
}
