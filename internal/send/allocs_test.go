//go:build !race

package send_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/send"
)

// TestAllocsPerFrame pins the per-frame path at no allocation: a run of
// 2000 frames allocates about what a run of 1000 does (a run's buffers,
// its reader goroutine and its channel are allocated once; the runtime
// may allocate a few times when a goroutine parks). One allocation per
// frame would add 1000.
func TestAllocsPerFrame(t *testing.T) {
	for _, bc := range []struct {
		name   string
		framer send.Framer
	}{{"signed", send.NewSigned(signer(t))}, {"v1", send.V1{}}, {"raw", send.Raw{}}} {
		allocs := func(count uint64) float64 {
			return testing.AllocsPerRun(5, func() {
				l, err := send.New(send.Config{Input: zeros{}, Conn: discard{}, Framer: bc.framer, Source: "a.example.org", Size: 512, Count: count})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		}
		if few, many := allocs(1000), allocs(2000); many-few >= 100 {
			t.Errorf("%s: allocations of a run of 1000 frames: %v, of 2000: %v; want fewer than 100 more", bc.name, few, many)
		}
	}
}

// TestAllocsPerFrameHealth pins the per-read path of the health tests at
// no allocation the same way: 1000 more frames of 512 bytes read through
// them are about 30 reads of the input and 200 FIPS blocks more.
func TestAllocsPerFrameHealth(t *testing.T) {
	allocs := func(count uint64) float64 {
		return testing.AllocsPerRun(5, func() {
			l, err := send.New(send.Config{Input: rand.NewChaCha8([32]byte{4}), Conn: discard{}, Framer: send.Raw{}, Size: 512, Count: count,
				Health: &health.Config{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	if few, many := allocs(1000), allocs(2000); many-few >= 100 {
		t.Errorf("allocations of a run of 1000 frames: %v, of 2000: %v; want fewer than 100 more", few, many)
	}
}
