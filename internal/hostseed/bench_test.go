package hostseed_test

import (
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/seal"
)

// benchRound returns a full datagram (8 entries) of a round for host 0
// and seven others, and one of eight other hosts.
func benchRound(b *testing.B) (mine, others []byte, k *seal.HostKey) {
	k = hostKey(b, 0)
	ks := []*seal.HostKey{k}
	for range 15 {
		o, err := seal.GenerateHostKey()
		if err != nil {
			b.Fatal(err)
		}
		ks = append(ks, o)
	}
	p := producer(b, 0)
	dgs := round(b, p, members(b, ks[:8]...), 0, 0, vecNow)
	if len(dgs) != 1 {
		b.Fatalf("got %d datagrams, want 1", len(dgs))
	}
	others = round(b, p, members(b, ks[8:]...), 0, 0, vecNow)[0]
	return dgs[0], others, k
}

// BenchmarkTake is the host's whole cost to take its seed from one full
// seed datagram: a new Taker, the cheap scan, the JWS checks, freshness
// and replay, the Ed25519 verification, the HPKE open of its entry and
// the combination (K = 1).
func BenchmarkTake(b *testing.B) {
	dg, _, k := benchRound(b)
	ring := keyring(b, producer(b, 0))
	clk := &clock{ms: vecNow}
	b.ReportAllocs()
	b.SetBytes(int64(len(dg)))
	cpu := cpuTime()
	for b.Loop() {
		tk, err := hostseed.New(hostseed.Config{Trust: ring, Key: k, Need: 1, MaxDatagram: 1472, Now: clk.now})
		if err != nil {
			b.Fatal(err)
		}
		if v := tk.Handle(dg); v.Reason != hostseed.Taken {
			b.Fatalf("got %s", v.Reason)
		}
		if _, err := tk.Seed(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkOtherHost is what a full seed datagram with no entry for this
// host costs it: the scan of the header and host ids, nothing more.
func BenchmarkOtherHost(b *testing.B) {
	_, dg, k := benchRound(b)
	tk, _ := newTaker(b, keyring(b, producer(b, 0)), k, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(dg)))
	cpu := cpuTime()
	for b.Loop() {
		if v := tk.Handle(dg); v.Reason != hostseed.OtherHost {
			b.Fatalf("got %s", v.Reason)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkReplay is a replayed copy of the host's own datagram: every
// check but the signature and the open.
func BenchmarkReplay(b *testing.B) {
	dg, _, k := benchRound(b)
	tk, _ := newTaker(b, keyring(b, producer(b, 0)), k, 1)
	if v := tk.Handle(dg); v.Reason != hostseed.Taken {
		b.Fatalf("got %s", v.Reason)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(dg)))
	cpu := cpuTime()
	for b.Loop() {
		if v := tk.Handle(dg); v.Reason != hostseed.Replay {
			b.Fatalf("got %s", v.Reason)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user and system CPU time, in nanoseconds:
// on a machine shared with other work, a cost that wall time inflates.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
