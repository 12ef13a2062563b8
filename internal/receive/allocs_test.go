package receive_test

import (
	"strings"
	"testing"
)

// TestHandleAllocs pins the allocations of the full check of one good
// frame (size limit, JWS parse, header policy, kid lookup, replay window,
// Ed25519 verification, payload decode into reused buffers, output
// write): none, within the budget of 4 that docs/performance.md states.
func TestHandleAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	k := newKeys(t)
	const n = 300
	frames := make([][]byte, n+1)
	for i := range frames {
		frames[i] = signFrame(t, k.trusted, mkframe(uint64(i), now, strings.Repeat("x", 512)))
	}
	p := newPipeline(t, k, discard{}, maxDatagram, &clock{ms: now})
	if _, err := p.Handle(frames[0]); err != nil { // warm the buffers and the window
		t.Fatal(err)
	}
	i := 1
	allocs := testing.AllocsPerRun(n-1, func() {
		if v, err := p.Handle(frames[i]); err != nil || v.Reason != 0 {
			t.Fatalf("frame %d: %v, %v", i, v.Reason, err)
		}
		i++
	})
	if allocs > 0 {
		t.Errorf("allocations per good frame: got %v, want 0 (budget 4)", allocs)
	}
}
