package metrics

import (
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
	s.reg = newRegistry(version, s.frames, s.bytes, s.sendErrors, s.readErrors, s.seedRounds, s.seedMembers, s.seedDatagrams)
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
