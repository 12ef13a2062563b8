package send_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/send"
)

// BenchmarkLoopVsSign measures the whole Loop (signed frames of 512
// bytes, --rate 0, a conn that discards them) against ed25519.Sign of a
// message as long as the frames' signing input, on one goroutine, in one
// process: the two alternate in rounds of 500, so that a loaded machine
// slows both alike. x-sign is the Loop's frames per second over the
// signatures per second (1 would be the Loop costing only its
// signatures, on one core; more than 1 is several cores). cpu-x-sign is
// the same over CPU time (the process's user and system time): what a
// frame costs beside its signature, whatever else runs on the machine;
// times the workers, it bounds x-sign on as many idle cores. The Loop's
// rounds include each run's start (its buffers and goroutines). Run it
// with -cpu 1,2: two workers on one core show what the hand-overs cost.
func BenchmarkLoopVsSign(b *testing.B) {
	const size, round = 512, 500
	s := signer(b)
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	f := frame.Frame{Source: "bench.example.org", Epoch: 1764547200000, Seq: 1 << 20, Time: 1764547200000, Data: make([]byte, size)}
	d := s.Append(nil, f.Append(nil))
	msg := d[:bytes.LastIndexByte(d, '.')] // the signing input
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			var signT, loopT time.Duration
			var signCPU, loopCPU int64
			for done := 0; done < b.N; {
				n := min(round, b.N-done)
				t0, c0 := time.Now(), cpuTime()
				for range n {
					ed25519.Sign(priv, msg)
				}
				t1, c1 := time.Now(), cpuTime()
				l, err := send.New(send.Config{Input: zeros{}, Conn: discard{}, Framer: send.NewSigned(s), Source: f.Source, Size: size,
					Count: uint64(n), Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				if err := l.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				loopT += time.Since(t1)
				signT += t1.Sub(t0)
				loopCPU += cpuTime() - c1
				signCPU += c1 - c0
				done += n
			}
			b.ReportMetric(float64(signT)/float64(loopT), "x-sign")
			b.ReportMetric(float64(signCPU)/float64(loopCPU), "cpu-x-sign")
			b.ReportMetric(float64(loopT.Nanoseconds())/float64(b.N), "loop-ns/frame")
			b.ReportMetric(float64(signT.Nanoseconds())/float64(b.N), "sign-ns/frame")
		})
	}
}
