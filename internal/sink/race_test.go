//go:build race

package sink_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = true
