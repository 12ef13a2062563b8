//go:build race

package mcast_test

const raceEnabled = true
