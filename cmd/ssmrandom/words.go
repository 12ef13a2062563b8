package main

import "fmt"

// plural returns n and noun, with an s unless n is 1: "1 frame",
// "2 frames".
func plural(n uint64, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
