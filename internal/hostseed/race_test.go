//go:build race

package hostseed_test

const raceEnabled = true
