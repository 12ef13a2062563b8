package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// BenchmarkBatchProducers is Batch.Verify of 64 frames (512 entropy
// bytes each) against JWS.Verify of the same 64 frames one by one,
// alternately in one loop, with frames from 1, 64 or 1,000 producers in
// rotation: frame i is from producer i mod n, so with 64 or more every
// frame of a batch is from another key, and with 1,000 the keys change
// from batch to batch. The metric "ratio" is batch over single, once
// every key was met (the first batch to meet a key checks its order,
// which costs about one verification, once).
func BenchmarkBatchProducers(b *testing.B) {
	const batchLen = 64
	for _, n := range []int{1, 64, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			signers := make([]*sign.Signer, n)
			keys := make([]sign.Key, n)
			for i := range signers {
				seed := bytes.Repeat([]byte{0x5a}, ed25519.SeedSize)
				binary.BigEndian.PutUint32(seed, uint32(i))
				signers[i] = mustSigner(b, ed25519.NewKeyFromSeed(seed))
				keys[i] = sign.Key{Public: signers[i].Public()}
			}
			ring, err := sign.NewKeyring(keys...)
			if err != nil {
				b.Fatal(err)
			}
			// 32 batches' worth of frames, so that 1,000 producers
			// rotate through 2,048 frames.
			p := benchPayload(b, 512)
			ms := make([]sign.JWS, 32*batchLen)
			for i := range ms {
				q := bytes.Clone(p)
				q[len(q)-1] ^= byte(i)
				q[len(q)-2] ^= byte(i >> 8)
				if ms[i], err = ring.Parse(nil, mustSign(b, signers[i%n], q)); err != nil {
					b.Fatal(err)
				}
			}
			var batch sign.Batch
			ok := make([]bool, 0, batchLen)
			// One pass over every frame first: the steady state of a
			// receiver, whose batches have met each key before.
			for i := 0; i < len(ms); i += batchLen {
				batch.Reset()
				for j := range ms[i : i+batchLen] {
					batch.Add(&ms[i+j])
				}
				batch.Verify(ok)
			}
			var inBatch, single time.Duration
			b.ReportAllocs()
			b.SetBytes(512 * batchLen)
			for i := 0; b.Loop(); i++ {
				frames := ms[i%32*batchLen:][:batchLen]
				t0 := time.Now()
				batch.Reset()
				for j := range frames {
					batch.Add(&frames[j])
				}
				ok = batch.Verify(ok)
				t1 := time.Now()
				for j := range frames {
					if !ok[j] || frames[j].Verify() != nil {
						b.Fatalf("frame %d: got bad, want good", j)
					}
				}
				t2 := time.Now()
				inBatch += t1.Sub(t0)
				single += t2.Sub(t1)
			}
			perFrame := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / batchLen }
			b.ReportMetric(perFrame(inBatch), "ns/frame-batch")
			b.ReportMetric(perFrame(single), "ns/frame-single")
			b.ReportMetric(float64(inBatch)/float64(single), "ratio")
		})
	}
}
