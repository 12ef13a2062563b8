package send

import "sync"

// Sub returns the counters of s less those of an earlier snapshot t:
// frames, bytes, send errors and seeds. The health counts are left 0 and
// Unhealthy false: they are the input's state, which an interval does
// not have.
func (s Stats) Sub(t Stats) Stats {
	return Stats{Frames: s.Frames - t.Frames, Bytes: s.Bytes - t.Bytes, SendErrors: s.SendErrors - t.SendErrors,
		SeedRounds: s.SeedRounds - t.SeedRounds, SeedMembers: s.SeedMembers - t.SeedMembers, SeedDatagrams: s.SeedDatagrams - t.SeedDatagrams}
}

// Summaries cuts a [Loop]'s counters into intervals, for periodic
// reports and status queries. Make one with [NewSummaries]; it is safe
// for concurrent use.
type Summaries struct {
	l          *Loop
	mu         sync.Mutex
	start, end Stats // the last complete interval
}

// NewSummaries returns the Summaries of l, whose first interval starts
// now.
func NewSummaries(l *Loop) *Summaries { return &Summaries{l: l} }

// Next ends the interval and starts the next: it returns what the loop
// did since the last call (or [NewSummaries]), as [Stats.Sub] counts it.
func (s *Summaries) Next() Stats {
	st := s.l.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start, s.end = s.end, st
	return st.Sub(s.start)
}

// Last returns the loop's counters at the start and the end of the last
// complete interval: both zero before the first call of Next.
func (s *Summaries) Last() (start, end Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start, s.end
}
