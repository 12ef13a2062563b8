package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Send is the sender's metrics: counters the send loop increments. Make
// one with [NewSend]; the zero value is not usable, but a nil *Send is:
// its methods do nothing, so a caller with metrics off may keep a nil one
// and call them all the same. Its methods are safe for concurrent use,
// allocate nothing and take no lock, and scraping it is safe at any time.
type Send struct {
	reg        *prometheus.Registry
	frames     prometheus.Counter
	bytes      prometheus.Counter
	sendErrors prometheus.Counter
	readErrors prometheus.Counter

	seedRounds, seedMembers, seedDatagrams prometheus.Counter

	input atomic.Pointer[func() InputHealth] // nil: no health tests
}

// InputHealth is what the health tests of the sender's input have found
// so far (send.Stats has the same counts).
type InputHealth struct {
	Failures  uint64 // reads of the input that failed a test and made it failing
	Blocks    uint64 // reads refused for an isolated FIPS 140-2 block failure
	Dropped   uint64 // input bytes dropped for either
	Unhealthy bool   // whether the input is failing now
}

// NewSend returns the sender's metrics, all zero. version is the
// program's version, the version label of ssmrandom_build_info; ""
// means "unknown".
func NewSend(version string) *Send {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	s := &Send{
		frames:     counter(sendFramesName, "Frames signed and sent."),
		bytes:      counter(sendBytesName, "Entropy bytes in the frames sent (not counting framing or signature)."),
		sendErrors: counter(sendErrorsName, "Datagrams (frames or seed datagrams) signed but not sent because the send failed; each is lost."),
		readErrors: counter(sendReadErrorsName, "Errors reading the entropy input (the end of a file or stdin is not one)."),
	}
	s.seedRounds = counter(sendSeedRoundsName, "Seed rounds begun (send --members).")
	s.seedMembers = counter(sendSeedMembersName, "Members' sealed seeds in the seed datagrams sent.")
	s.seedDatagrams = counter(sendSeedDatagramsName, "Seed datagrams signed and sent.")
	input := func() InputHealth {
		if f := s.input.Load(); f != nil {
			return (*f)()
		}
		return InputHealth{}
	}
	failures := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: sendHealthFailuresName,
		Help: "Reads of the entropy input that failed a health test and made it unhealthy (send --health on); nothing is sent until the input passes again."},
		func() float64 { return float64(input().Failures) })
	blocks := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: sendBlockFailuresName,
		Help: "Isolated FIPS 140-2 block failures of the entropy input: the block's bytes were dropped and nothing else changed (a good source fails about one block in 1,270)."},
		func() float64 { return float64(input().Blocks) })
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: sendHealthDroppedName,
		Help: "Entropy input bytes dropped by the health tests: those of failing reads and of their FIPS blocks (isolated block failures too), and those read on probation."},
		func() float64 { return float64(input().Dropped) })
	healthy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: sendInputHealthyName,
		Help: "1 while the entropy input passes the health tests (or they are off), 0 from a failure until it passes again."},
		func() float64 {
			if input().Unhealthy {
				return 0
			}
			return 1
		})
	s.reg = newRegistry(version, s.frames, s.bytes, s.sendErrors, s.readErrors, s.seedRounds, s.seedMembers, s.seedDatagrams,
		failures, blocks, dropped, healthy)
	return s
}

// Sent counts one frame sent, of n entropy bytes.
func (s *Send) Sent(n int) {
	if s != nil {
		s.frames.Inc()
		s.bytes.Add(float64(n))
	}
}

// SendError counts one frame whose send failed.
func (s *Send) SendError() {
	if s != nil {
		s.sendErrors.Inc()
	}
}

// SeedRound counts one seed round that sealed seeds to members and sent
// them in datagrams; lost, those whose send failed, as send errors.
func (s *Send) SeedRound(members, datagrams, lost int) {
	if s != nil {
		s.seedRounds.Inc()
		s.seedMembers.Add(float64(members))
		s.seedDatagrams.Add(float64(datagrams))
		s.sendErrors.Add(float64(lost))
	}
}

// WatchInput makes the input health metrics read stats, which must be
// safe to call from any goroutine, at each scrape.
func (s *Send) WatchInput(stats func() InputHealth) {
	if s != nil {
		s.input.Store(&stats)
	}
}

// ReadError counts one error reading the entropy input.
func (s *Send) ReadError() {
	if s != nil {
		s.readErrors.Inc()
	}
}

// Gather implements [prometheus.Gatherer]: it collects every metric of
// the sender, the Go runtime and the process. It is what [Server.Serve]
// serves; a nil *Send gathers nothing.
func (s *Send) Gather() ([]*dto.MetricFamily, error) {
	if s == nil {
		return nil, nil
	}
	return s.reg.Gather()
}
