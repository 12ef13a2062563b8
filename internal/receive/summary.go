package receive

import (
	"sync"
	"time"
)

// Summary is what a [Pipeline] did in one interval, for a periodic report
// or a status query: the counters since the previous Summary of the same
// [Summaries], and the totals since the Pipeline was made.
type Summary struct {
	// Stats are the counters of the interval.
	Stats
	// Total are the counters since the Pipeline was made.
	Total Stats
	// Producers are the per-key counters of the interval (Frames,
	// Forwarded, Bytes, Dropped, HealthFailures, HealthBlocks); the other
	// fields are as [Pipeline.Producers] reports them at the end of the
	// interval.
	Producers []ProducerStats
	// Start and End are the interval: End is when the Summary was made,
	// Start when the previous one was (or when [NewSummaries] was called).
	Start, End time.Time
	// NewRejects is how many datagrams were rejected ([Stats.Rejected])
	// in the interval: Stats.Rejected().
	NewRejects uint64
	// Socket are the socket's counters of the interval, and SocketTotal
	// since the start: zero without a socket function ([NewSummaries]).
	Socket, SocketTotal SocketStats
}

// SocketStats count the datagrams that never reached the [Pipeline].
type SocketStats struct {
	// Foreign is how many came from a source that was not joined, and
	// were skipped.
	Foreign uint64
	// KernelDrops is how many the kernel dropped before they could be
	// read, nearly always because the socket's receive buffer was full.
	KernelDrops uint64
}

// Summaries makes a Pipeline's successive summaries. Make one with
// [NewSummaries]; it is safe for concurrent use.
type Summaries struct {
	p      *Pipeline
	socket func() SocketStats // nil: none
	mu     sync.Mutex
	last   Summary                  // the previous Summary
	prev   map[string]ProducerStats // each key's totals at the previous Summary
}

// NewSummaries returns the Summaries of p, whose first interval starts
// now. socket, if not nil, returns the counters of the socket that p's
// datagrams come from, since the start; it must be safe to call from any
// goroutine.
func NewSummaries(p *Pipeline, socket func() SocketStats) *Summaries {
	return &Summaries{p: p, socket: socket, last: Summary{End: p.now()}, prev: map[string]ProducerStats{}}
}

// Next returns what happened since the last call (or [NewSummaries]),
// and starts the next interval.
func (s *Summaries) Next() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := s.p.Stats()
	sum := Summary{Stats: total.Sub(s.last.Total), Total: total, Start: s.last.End, End: s.p.now()}
	sum.NewRejects = sum.Rejected()
	if s.socket != nil {
		sum.SocketTotal = s.socket()
		sum.Socket = SocketStats{Foreign: sum.SocketTotal.Foreign - s.last.SocketTotal.Foreign,
			KernelDrops: sum.SocketTotal.KernelDrops - s.last.SocketTotal.KernelDrops}
	}
	next := make(map[string]ProducerStats)
	for _, ps := range s.p.Producers() {
		next[ps.KeyID] = ps
		sum.Producers = append(sum.Producers, ps.sub(s.prev[ps.KeyID]))
	}
	s.last, s.prev = sum, next
	return sum
}

// Last returns the Summary that the last call of Next returned: the last
// complete interval. Before the first call, it is empty but for End.
func (s *Summaries) Last() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Sub returns the counters of s less those of an earlier snapshot t.
func (s Stats) Sub(t Stats) Stats {
	d := Stats{Datagrams: s.Datagrams - t.Datagrams, Frames: s.Frames - t.Frames, Bytes: s.Bytes - t.Bytes, Unsigned: s.Unsigned - t.Unsigned,
		Member: s.Member.sub(t.Member)}
	for i := range s.Dropped {
		d.Dropped[i] = s.Dropped[i] - t.Dropped[i]
	}
	return d
}

// sub returns the counters of s less those of an earlier snapshot t of
// the same key.
func (s ProducerStats) sub(t ProducerStats) ProducerStats {
	s.Frames -= t.Frames
	s.Forwarded -= t.Forwarded
	s.Bytes -= t.Bytes
	s.HealthFailures -= t.HealthFailures
	s.HealthBlocks -= t.HealthBlocks
	for i := range s.Dropped {
		s.Dropped[i] -= t.Dropped[i]
	}
	return s
}
