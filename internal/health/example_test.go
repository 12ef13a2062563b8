package health_test

import (
	"errors"
	"fmt"

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
