package health_test

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/nordunet/ssmrandom/internal/health"
)

// A producer whose source got stuck: its frames are refused, and it stays
// on probation for as long as it sends bad frames.
func Example() {
	m, err := health.New(health.Config{})
	if err != nil {
		panic(err)
	}
	rct, apt, _ := health.Cutoffs(health.DefaultMinEntropy, health.DefaultAlpha, health.DefaultWindow)
	fmt.Println("cutoffs:", rct, apt)

	stuck := make([]byte, 512)
	err = m.Check(stuck)
	fmt.Println(err)
	fmt.Println(errors.Is(err, health.ErrRepetition), m.Failed())

	err = m.Check(stuck)
	fmt.Println(err)
	fmt.Println(m.Stats().Refused)
	// Output:
	// cutoffs: 6 19
	// health: repetition count test failed: a byte value 6 times in a row
	// true true
	// health: data repeats a recent frame (one of the last 64)
	// 2
}

// A producer tests its source before it uses any of it, in reads of any
// size, and releases only bytes whose FIPS block has passed: the last
// Pending bytes wait for the next read.
func ExampleMonitor_Pending() {
	m, err := health.New(health.Config{})
	if err != nil {
		panic(err)
	}
	var held []byte // checked, waiting for their block's verdict
	released := 0
	src := rand.NewChaCha8([32]byte{1}) // stands in for the hardware RNG
	buf := make([]byte, 1000)
	for range 6 {
		src.Read(buf)
		if err := m.Check(buf); err != nil {
			held = held[:0] // drop the whole failing block
			continue
		}
		held = append(held, buf...)
		ready := len(held) - m.Pending()
		released += ready // sign and send held[:ready] here
		held = append(held[:0], held[ready:]...)
		fmt.Println(ready, m.Pending())
	}
	fmt.Println(released, "bytes released,", len(held), "held back")
	// Output:
	// 0 1000
	// 0 2000
	// 2500 500
	// 0 1500
	// 2500 0
	// 0 1000
	// 5000 bytes released, 1000 held back
}
