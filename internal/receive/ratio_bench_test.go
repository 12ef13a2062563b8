package receive_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkRatio times the full check of one good datagram through
// Pipeline.Handle (size limit, JWS parse, header policy, kid lookup,
// the payload's first fields, replay window, Ed25519 verification,
// payload decode, output write)
// and crypto/ed25519.Verify alone on the same signing input, alternately
// in one loop, so that both see the same machine. The metric "ratio" is
// the first over the second: the receive path's overhead over the floor.
// Sizes are entropy bytes per frame: 32, the default 512, and 519, the
// largest whose frames fit the default 1232-byte datagram.
func BenchmarkRatio(b *testing.B) {
	k := newKeys(b)
	for _, size := range []int{32, 512, 519} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			const pool = 2048
			frames := make([][]byte, pool)
			for i := range frames {
				frames[i] = signFrame(b, k.trusted, mkframe(uint64(i), now, strings.Repeat("x", size)))
			}
			// The raw check's inputs: the signing input and signature of
			// each datagram, decoded outside the timing.
			type raw struct{ input, sig []byte }
			raws := make([]raw, pool)
			for i, d := range frames {
				last := strings.LastIndexByte(string(d), '.')
				sig, err := base64.RawURLEncoding.DecodeString(string(d[last+1:]))
				if err != nil {
					b.Fatal(err)
				}
				raws[i] = raw{d[:last], sig}
			}
			pub := k.trusted.Public()
			var p = newPipeline(b, k, discard{}, maxDatagram, &clock{ms: now})
			var full, floor time.Duration
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i%pool == 0 && i > 0 {
					p = newPipeline(b, k, discard{}, maxDatagram, &clock{ms: now})
				}
				j := i % pool
				t0 := time.Now()
				if v, err := p.Handle(frames[j]); err != nil || v.Reason != 0 {
					b.Fatalf("frame %d: %v %v", j, v.Reason, err)
				}
				t1 := time.Now()
				if !ed25519.Verify(pub, raws[j].input, raws[j].sig) {
					b.Fatal("raw verify failed")
				}
				t2 := time.Now()
				full += t1.Sub(t0)
				floor += t2.Sub(t1)
				i++
			}
			b.ReportMetric(float64(full.Nanoseconds())/float64(i), "ns/handle")
			b.ReportMetric(float64(floor.Nanoseconds())/float64(i), "ns/ed25519")
			b.ReportMetric(float64(full)/float64(floor), "ratio")
		})
	}
}
