package sign_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// batchBenchFrames returns n datagrams of 512-byte frames from testKey(1),
// bad of them with the signature of another frame: R and S well formed,
// the equation false, the costliest kind of forgery to reject.
func batchBenchFrames(b *testing.B, n, bad int) [][]byte {
	s := mustSigner(b, testKey(1))
	p := benchPayload(b, 512)
	out := make([][]byte, n)
	for i := range out {
		q := bytes.Clone(p)
		q[len(q)-1] ^= byte(i) // a different frame each
		q[len(q)-2] ^= byte(i >> 8)
		out[i] = mustSign(b, s, q)
	}
	for i := range bad {
		d, other := out[i], out[(i+1)%n]
		dot, odot := bytes.LastIndexByte(d, '.'), bytes.LastIndexByte(other, '.')
		out[i] = append(bytes.Clone(d[:dot]), other[odot:]...)
	}
	return out
}

// BenchmarkBatch is Batch.Verify of n frames from one key, reused as a
// receiver would, against n calls of JWS.Verify ("single"). The
// "-one-bad" and "-all-bad" cases are steady states of a flood: after a
// failed batch the next calls check one by one.
func BenchmarkBatch(b *testing.B) {
	ring := ringOf(testKey(1))
	cases := []struct {
		name   string
		n, bad int
		single bool
	}{
		{"1", 1, 0, false}, {"1-single", 1, 0, true},
		{"2", 2, 0, false}, {"2-single", 2, 0, true},
		{"8", 8, 0, false}, {"8-single", 8, 0, true},
		{"16", 16, 0, false}, {"16-single", 16, 0, true},
		{"64-good", 64, 0, false}, {"64-single", 64, 0, true},
		{"64-one-bad", 64, 1, false}, {"64-one-bad-single", 64, 1, true},
		{"64-all-bad", 64, 64, false}, {"64-all-bad-single", 64, 64, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var ms []sign.JWS
			for _, d := range batchBenchFrames(b, c.n, c.bad) {
				m, err := ring.Parse(nil, d)
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, m)
			}
			var batch sign.Batch
			ok := make([]bool, 0, c.n)
			b.ReportAllocs()
			b.SetBytes(int64(512 * c.n))
			for b.Loop() {
				good := 0
				if c.single {
					for i := range ms {
						if ms[i].Verify() == nil {
							good++
						}
					}
				} else {
					batch.Reset()
					for i := range ms {
						batch.Add(&ms[i])
					}
					for _, v := range batch.Verify(ok) {
						if v {
							good++
						}
					}
				}
				if good != c.n-c.bad {
					b.Fatalf("got %d good, want %d", good, c.n-c.bad)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.n), "ns/frame")
		})
	}
}

// BenchmarkBatchCold is a fresh Batch each time: the key check and the
// buffers are not amortized, and a failed batch falls back without any
// backoff from earlier calls: the most one call can cost.
func BenchmarkBatchCold(b *testing.B) {
	ring := ringOf(testKey(1))
	for _, bad := range []int{0, 1, 64} {
		b.Run("64-bad-"+strconv.Itoa(bad), func(b *testing.B) {
			var ms []sign.JWS
			for _, d := range batchBenchFrames(b, 64, bad) {
				m, err := ring.Parse(nil, d)
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, m)
			}
			b.ReportAllocs()
			b.SetBytes(512 * 64)
			for b.Loop() {
				var batch sign.Batch
				for i := range ms {
					batch.Add(&ms[i])
				}
				batch.Verify(nil)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/frame")
		})
	}
}
