package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestWatchdog: a ping at each tick at which the loop's progress counter
// moved since the tick before, none at a tick at which it did not, none
// without ticks, and the watchdog ends with its context.
func TestWatchdog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	values := make(chan uint64, 1)
	var seen uint64
	var pinged []uint64 // the counter at each ping; the watchdog's goroutine's until done
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdog(ctx, ticks, func() uint64 { seen = <-values; return seen }, func() { pinged = append(pinged, seen) })
	}()
	// The value at the start, then one per tick: it moved, it did not (twice), it moved twice, it did not.
	values <- 7
	for _, v := range []uint64{8, 8, 8, 9, 10, 10} {
		values <- v
		ticks <- time.Time{}
	}
	// The last tick is done once the watchdog waits again: it takes no
	// value then, so the buffer is empty after one more round.
	values <- 10
	ticks <- time.Time{}
	cancel()
	<-done
	if want := []uint64{8, 9, 10}; !slices.Equal(pinged, want) {
		t.Errorf("got pings at counter values %v, want %v", pinged, want)
	}

	// No ticks (no watchdog, or no progress to report): no ping, and it
	// ends with ctx.
	ctx, cancel = context.WithCancel(context.Background())
	pings := 0
	done = make(chan struct{})
	go func() {
		defer close(done)
		watchdog(ctx, nil, nil, func() { pings++ })
	}()
	cancel()
	<-done
	if pings != 0 {
		t.Errorf("got %d pings without ticks, want 0", pings)
	}
}
