package mcast_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// BenchmarkReads compares reading datagrams one by one ([mcast.Receiver.Read],
// one recvmsg each) with reading them in batches ([mcast.Receiver.ReadBatch],
// recvmmsg), on loopback: each round queues 1,000 datagrams of 512 bytes in
// the receive buffer, untimed, then times reading them one way, and the
// same again the other way, so both see the same machine at about the same
// time. A third way, x/net's ipv4.PacketConn.ReadBatch (recvmmsg too, but
// two allocations per datagram for its source address), is timed the same
// way for comparison. It reports the median over the rounds of the
// nanoseconds per datagram of each and of their ratios to single reads
// (medians, because other processes on a loaded machine preempt some
// rounds), and x/net's allocations per datagram; an op is one datagram
// read each of the three ways.
func BenchmarkReads(b *testing.B) {
	group := testGroup()
	r := joinLo(b, group)
	s := dialLo(b, group)
	if _, err := r.SetReadBuffer(8 << 20); err != nil {
		b.Fatal(err)
	}
	const queued = 1000
	payload := make([]byte, 512)
	out := make([][]byte, queued)
	for i := range out {
		out[i] = payload
	}
	fill := func() {
		if n, err := s.WriteBatch(out); n != queued || err != nil {
			b.Fatalf("WriteBatch: %d, %v", n, err)
		}
	}
	buf := make([]byte, mcast.ReadBufferSize)
	in := newBatch(mcast.MaxReadBatch, 513)
	if err := r.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	xnet := ipv4.NewPacketConn(r.Conn())
	ms := make([]ipv4.Message, mcast.MaxReadBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 513)}
	}
	var single, batched, xbatched []time.Duration
	var xallocs uint64
	var mem runtime.MemStats
	b.ReportAllocs()
	b.SetBytes(int64(3 * len(payload)))
	b.ResetTimer()
	for done := 0; done < b.N; done += queued {
		b.StopTimer()
		fill()
		b.StartTimer()
		start := time.Now()
		for range queued {
			if _, _, err := r.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
		single = append(single, time.Since(start))
		b.StopTimer()
		fill()
		b.StartTimer()
		start = time.Now()
		for read := 0; read < queued; {
			n, err := in.read(r)
			if err != nil {
				b.Fatal(err)
			}
			read += n
		}
		batched = append(batched, time.Since(start))
		b.StopTimer()
		fill()
		runtime.ReadMemStats(&mem)
		mallocs := mem.Mallocs
		b.StartTimer()
		start = time.Now()
		for read := 0; read < queued; {
			n, err := xnet.ReadBatch(ms, 0)
			if err != nil {
				b.Fatal(err)
			}
			read += n
		}
		xbatched = append(xbatched, time.Since(start))
		b.StopTimer()
		runtime.ReadMemStats(&mem)
		xallocs += mem.Mallocs - mallocs
		b.StartTimer()
	}
	b.StopTimer()
	if d := r.Drops(); d > 0 {
		b.Fatalf("%d datagrams dropped: the buffer was too small for the rounds", d)
	}
	b.ReportMetric(median(single)/queued, "single-ns/datagram")
	b.ReportMetric(median(batched)/queued, "batch-ns/datagram")
	b.ReportMetric(median(xbatched)/queued, "xnet-ns/datagram")
	b.ReportMetric(medianRatio(batched, single), "batch/single")
	b.ReportMetric(medianRatio(xbatched, single), "xnet/single")
	b.ReportMetric(float64(xallocs)/float64(len(single)*queued), "xnet-allocs/datagram")
}

// median returns the median of ds, in nanoseconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Nanoseconds())
}

// medianRatio returns the median over the rounds of a[i]/b[i].
func medianRatio(a, b []time.Duration) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// BenchmarkWrites compares sending datagrams one by one ([mcast.Sender.Send],
// one send each) with sending them in batches ([mcast.Sender.WriteBatch],
// sendmmsg), on loopback to a group no socket joined, alternating 1,000 of
// 512 bytes each way. It reports the medians over the rounds of the
// nanoseconds per datagram of each and of their ratio (batch/single); an
// op is one datagram sent each way.
func BenchmarkWrites(b *testing.B) {
	s := dialLo(b, testGroup())
	const rounds = 1000
	payload := make([]byte, 512)
	out := make([][]byte, rounds)
	for i := range out {
		out[i] = payload
	}
	var single, batched []time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(payload)))
	for done := 0; done < b.N; done += rounds {
		start := time.Now()
		for _, d := range out {
			if err := s.Send(d); err != nil {
				b.Fatal(err)
			}
		}
		single = append(single, time.Since(start))
		start = time.Now()
		if n, err := s.WriteBatch(out); n != rounds || err != nil {
			b.Fatalf("WriteBatch: %d, %v", n, err)
		}
		batched = append(batched, time.Since(start))
	}
	b.ReportMetric(median(single)/rounds, "single-ns/datagram")
	b.ReportMetric(median(batched)/rounds, "batch-ns/datagram")
	b.ReportMetric(medianRatio(batched, single), "batch/single")
}
