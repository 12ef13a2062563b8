package send_test

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/send"
)

// countConn counts what it is given and sends nothing.
type countConn struct{ datagrams, bytes atomic.Int64 }

func (c *countConn) Send(b []byte) error {
	c.datagrams.Add(1)
	c.bytes.Add(int64(len(b)))
	return nil
}

// cpuTime returns the process's user and system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSeedRound is one seed round of send --members, unpaced: the
// member set filtered by validity, a fresh round key, every member's seed
// sealed (on every core) and signed (tags=false: no member key, 8 entries
// a datagram, as the seeds were before member tags; tags=true: what send
// --members does now, a member key in every entry and the datagrams
// tagged, 5 entries a datagram), batch by batch numbered from the
// shared sequence, and handed to the conn (which here only counts). Bytes
// are those on the wire; cpu-ms/round is the producer's CPU per round,
// which divided by --seed-interval is its share of a core.
func BenchmarkSeedRound(b *testing.B) {
	s := signer(b)
	for _, n := range []int{10, 1000, 10000, 100000} {
		ms := make([]seal.Member, n)
		for i := range ms {
			k, err := seal.GenerateHostKey()
			if err != nil {
				b.Fatal(err)
			}
			ms[i] = k.Public()
		}
		set, err := seal.NewMembers(ms...)
		if err != nil {
			b.Fatal(err)
		}
		for _, tags := range []bool{false, true} {
			b.Run(fmt.Sprintf("members=%d/workers=%d/tags=%v", n, runtime.GOMAXPROCS(0), tags), func(b *testing.B) {
				c := new(countConn)
				cfg := send.Config{Input: rand.Reader, Conn: c, Framer: send.Raw{}, Size: 1, Seeds: &send.Seeds{Signer: s, Members: set}}
				if tags { // send --members: member keys, the seed datagrams tagged from round 1 on
					cfg.Seeds.Tags = new(send.TagKey)
					cfg.Framer = send.NewTagged(s, cfg.Seeds.Tags)
				}
				l, err := send.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					if r := send.RunSeedRound(l, uint64(i)); r.Err != nil || r.Sealed != n {
						b.Fatalf("round %+v, want %d members sealed", r, n)
					}
					if i == 0 {
						b.SetBytes(c.bytes.Load())
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu)/1e6/float64(b.N), "cpu-ms/round")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
				b.ReportMetric(float64(c.datagrams.Load())/float64(b.N), "datagrams/round")
			})
		}
	}
}
