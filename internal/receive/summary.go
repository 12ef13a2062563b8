package receive

import "sync"

// Summary is a snapshot of a [Pipeline]'s counters for a periodic report.
type Summary struct {
	Stats
	Producers []ProducerStats
	// NewRejects is how many datagrams were rejected ([Stats.Rejected])
	// since the previous Summary of the same [Summaries].
	NewRejects uint64
}

// Summaries makes a Pipeline's successive summaries. Make one with
// [NewSummaries]; it is safe for concurrent use.
type Summaries struct {
	p    *Pipeline
	mu   sync.Mutex
	last Stats // at the previous summary
}

// NewSummaries returns the Summaries of p, counting from zero.
func NewSummaries(p *Pipeline) *Summaries { return &Summaries{p: p} }

// Next returns the counters now, and what changed since the last call.
func (s *Summaries) Next() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := Summary{Stats: s.p.Stats(), Producers: s.p.Producers()}
	if r, last := sum.Rejected(), s.last.Rejected(); r > last {
		sum.NewRejects = r - last
	}
	s.last = sum.Stats
	return sum
}
