//go:build !race

package sign_test

// batchRace reports whether the race detector is on: it adds allocations.
const batchRace = false
