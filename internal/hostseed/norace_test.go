//go:build !race

package hostseed_test

const raceEnabled = false
