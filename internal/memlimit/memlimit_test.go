package memlimit_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/nordunet/ssmrandom/internal/memlimit"
)

// TestFit checks that the limit is never below the floor, grows with what
// is held, and is the one in force.
func TestFit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	small := memlimit.Fit()
	if small < memlimit.Floor {
		t.Errorf("limit: got %d, want at least %d", small, memlimit.Floor)
	}
	held := make([]byte, 32<<20)
	for i := range held {
		held[i] = byte(i)
	}
	big := memlimit.Fit()
	if big < 2*int64(len(held)) {
		t.Errorf("limit holding %d MiB: got %d MiB, want at least %d MiB", len(held)>>20, big>>20, 2*len(held)>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != big {
		t.Errorf("limit in force: got %d, want %d", got, big)
	}
	runtime.KeepAlive(held)
}
