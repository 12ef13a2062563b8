package main

import (
	"fmt"
	"time"
)

// plural returns n and noun, with an s unless n is 1: "1 frame",
// "2 frames".
func plural(n uint64, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// roundDuration rounds d for a reader: to the second from a second on
// ("1m0s"), else to the millisecond ("300ms").
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
