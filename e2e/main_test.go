//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// raceEnabled reports whether the tests run with the race detector
// (race_test.go).
var raceEnabled bool

// ssmrandomBin is the ssmrandom command TestMain built, or "" with
// buildErr saying why not; raceBin is the one built with the race
// detector, when the tests run with it (raceEnabled).
var (
	ssmrandomBin, raceBin string
	buildErr              error
)

// TestMain builds ssmrandom once for every test, into a folder removed at
// the end. It does not when the binary runs as one of the tests' helper
// processes (TestNetnsHelper, TestNetnsHostileHelper).
//
// The command the namespace tests run is built without the race detector
// even when the tests have it: instrumented, a receiver handles datagrams
// several times slower, and under the spoofed flood of TestNetns its
// socket buffer overflows on a two-CPU machine unless the flood is paced
// to a trickle (the unit tests run the receive pipeline under -race).
// With -race, a second one is built with it for the rngd tests, whose
// feed is slow enough: recv and its FIFO under the race detector.
func TestMain(m *testing.M) {
	if os.Getenv("SSMRANDOM_NETNS_HELPER") != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ssmrandom-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	ssmrandomBin = filepath.Join(dir, "ssmrandom")
	buildErr = harness.Build(ctx, ssmrandomBin)
	if raceBin = ssmrandomBin; raceEnabled && buildErr == nil {
		raceBin = filepath.Join(dir, "ssmrandom-race")
		buildErr = harness.Build(ctx, raceBin, "-race")
	}
	cancel()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ssmrandomBinary returns the ssmrandom command TestMain built, failing t
// if it could not.
func ssmrandomBinary(t *testing.T) string {
	t.Helper()
	if errors.Is(buildErr, exec.ErrNotFound) {
		harness.CannotRun(t, buildErr.Error())
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ssmrandomBin
}

// raceBinary returns the ssmrandom command built with the race detector
// if the tests run with it, else the one ssmrandomBinary returns.
func raceBinary(t *testing.T) string {
	t.Helper()
	ssmrandomBinary(t)
	return raceBin
}
