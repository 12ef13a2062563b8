package seal_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"runtime"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// benchMembers caches the member sets of the benchmarks.
var benchMembers = map[int]struct {
	keys []*seal.HostKey
	ms   []seal.Member
}{}

func membersFor(b *testing.B, n int) ([]*seal.HostKey, []seal.Member) {
	if m, ok := benchMembers[n]; ok {
		return m.keys, m.ms
	}
	keys, ms := hosts(b, n)
	benchMembers[n] = struct {
		keys []*seal.HostKey
		ms   []seal.Member
	}{keys, ms}
	return keys, ms
}

// BenchmarkRound builds one round of N members (sealing, signing) with one
// worker and with every core, with the member key (issue 13's 67-byte
// plaintexts, 5 entries per 1232-byte datagram, with room for the member
// tag; untagged, as a round 0 is). Bytes are those on the
// wire; ns/member is the producer's cost per member per round.
func BenchmarkRound(b *testing.B) {
	p := vecProducer(b, 0)
	for _, n := range []int{10, 1000, 10000} {
		_, ms := membersFor(b, n)
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("members=%d/workers=%d", n, workers), func(b *testing.B) {
				bl, err := seal.NewBuilder(p, seal.Config{Workers: workers, MemberKey: true})
				if err != nil {
					b.Fatal(err)
				}
				var wire int
				b.ReportAllocs()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					dgs, err := bl.Build(ms, seal.Round{Epoch: vecEpoch, Time: vecNow, Round: uint64(i)})
					if err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						for _, d := range dgs {
							wire += len(d)
						}
						b.SetBytes(int64(wire))
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/float64(n), "cpu-ns/member")
				b.ReportMetric(float64(wire)/float64(n), "wire-B/member")
				b.ReportMetric(float64(bl.PerDatagram()), "entries/datagram")
			})
		}
	}
}

// BenchmarkOpen is a host's cost to take its seed from a datagram whose
// signature has been checked: parse and HPKE open.
func BenchmarkOpen(b *testing.B) {
	p := vecProducer(b, 0)
	keys, ms := membersFor(b, 10)
	bl, _ := seal.NewBuilder(p, seal.Config{MemberKey: true})
	dgs, err := bl.Build(ms, seal.Round{Epoch: vecEpoch, Time: vecNow})
	if err != nil {
		b.Fatal(err)
	}
	ring, _ := sign.NewKeyring(sign.Key{Public: p.Public()})
	payload, kid, err := ring.Verify(dgs[0])
	if err != nil {
		b.Fatal(err)
	}
	pl, _ := seedwire.Parse(payload)
	var k *seal.HostKey
	for _, hk := range keys {
		if hk.HostID() == pl.Entry(pl.Count-1).Host {
			k = hk
		}
	}
	b.SetBytes(int64(len(dgs[0])))
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		pl, err := seedwire.Parse(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.Open(&pl, kid); err != nil {
			b.Fatal(err)
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

// BenchmarkScan is a host's cost to skip a datagram with no entry for it,
// before any signature check: seedwire.Scan on a full datagram.
func BenchmarkScan(b *testing.B) {
	p := vecProducer(b, 0)
	_, ms := membersFor(b, 10)
	bl, _ := seal.NewBuilder(p, seal.Config{MemberKey: true})
	dgs, _ := bl.Build(ms, seal.Round{Epoch: vecEpoch, Time: vecNow})
	var absent seedwire.HostID
	absent[0] = 0xff
	b.SetBytes(int64(len(dgs[0])))
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		if found, err := seedwire.Scan(dgs[0], absent); found || err != nil {
			b.Fatal(found, err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// TestScanAllocs pins Scan, the host's filter under a flood, at no
// allocation.
func TestScanAllocs(t *testing.T) {
	p := vecProducer(t, 0)
	_, ms := hosts(t, 6)
	bl, _ := seal.NewBuilder(p, seal.Config{MemberKey: true})
	dgs, _ := bl.Build(ms, seal.Round{Epoch: vecEpoch, Time: vecNow})
	id := ms[5].HostID
	if n := testing.AllocsPerRun(100, func() { seedwire.Scan(dgs[0], id) }); n != 0 {
		t.Errorf("Scan: got %v allocations, want 0", n)
	}
}

// BenchmarkBaseline measures, in the same run, what the figures above are
// made of: an X25519 key generation plus one shared secret (the KEM's
// inherent work per member, sealing) and one shared secret (opening), and
// an Ed25519 verification (what Scan saves a host per datagram skipped).
func BenchmarkBaseline(b *testing.B) {
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	b.Run("x25519-keygen+ecdh", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			k, _ := ecdh.X25519().GenerateKey(rand.Reader)
			if _, err := k.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("x25519-ecdh", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := peer.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("ed25519-verify", func(b *testing.B) {
		priv := ed25519.NewKeyFromSeed(make([]byte, 32))
		msg := make([]byte, 1100)
		sig := ed25519.Sign(priv, msg)
		pub := priv.Public().(ed25519.PublicKey)
		b.ReportAllocs()
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}
