// Package control is the daemons' control socket: a running recv or send
// listens on a unix socket in its runtime directory ([DefaultDir]) and
// answers each connection with its [Status], as JSON, which
// `ssmrandom status` reads with [Query] and prints. It is how an operator
// asks a daemon how it is doing, as `chronyc tracking` or `wg show` do;
// the metrics endpoint is for monitoring systems.
//
// The socket is made mode 0600, so only its owner (and root) may connect;
// there is no network listener. Nothing is read from a client: a
// connection gets the status and is closed.
//
// The package does not log, read flags or exit.
package control

import (
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/send"
)

// DefaultDir is the runtime directory of the packaged service, where the
// daemons put their control sockets ([DefaultPath]) when it exists.
const DefaultDir = "/run/ssmrandom"

// DefaultPath returns the control socket path of daemon ("recv" or
// "send") in [DefaultDir]: /run/ssmrandom/recv.sock.
func DefaultPath(daemon string) string { return DefaultDir + "/" + daemon + ".sock" }

// Status is what a daemon reports: how it is, and what it did in the last
// interval (between its last two summaries, --stats-interval).
type Status struct {
	Daemon  string    `json:"daemon"` // "recv" or "send"
	PID     int       `json:"pid"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Problems say why the daemon is degraded; none when it does its job.
	Problems []string `json:"problems,omitempty"`
	// IntervalStart and IntervalEnd bound the last interval; both zero
	// before the first summary.
	IntervalStart time.Time `json:"interval_start,omitzero"`
	IntervalEnd   time.Time `json:"interval_end,omitzero"`

	// How a receiver gets its datagrams.
	Transport *Transport `json:"transport,omitempty"`
	// A receiver's producers, its drops of the interval by reason (all
	// datagrams, whoever sent them; reasons with none left out) and its
	// output.
	Producers []Producer        `json:"producers,omitempty"`
	Dropped   map[string]uint64 `json:"dropped,omitempty"`
	Sink      *Sink             `json:"sink,omitempty"`

	// A sender's counters.
	Send *Send `json:"send,omitempty"`
}

// Degraded reports whether the daemon has a problem.
func (s Status) Degraded() bool { return len(s.Problems) > 0 }

// Producer is one producer key's part of a receiver's [Status].
type Producer struct {
	KeyID   string `json:"kid"`
	Trusted bool   `json:"trusted"`
	// LastFrameAge is the time since its last verified frame, in
	// seconds; absent if none came since the start.
	LastFrameAge *float64 `json:"last_frame_age_s,omitempty"`
	Unhealthy    bool     `json:"unhealthy"`
	// In the interval: verified frames, those forwarded and their bytes,
	// and the verified frames dropped, by reason.
	Frames    uint64            `json:"frames"`
	Forwarded uint64            `json:"forwarded"`
	Bytes     uint64            `json:"bytes"`
	Dropped   map[string]uint64 `json:"dropped,omitempty"`
}

// Transport is how a receiver gets its datagrams: natively or through an
// AMT relay (RFC 7450).
type Transport struct {
	Kind  string `json:"kind"`            // "native" or "amt"
	Relay string `json:"relay,omitempty"` // the AMT relay's address and port; none before one advertised itself
	State string `json:"state,omitempty"` // the AMT tunnel's state (discovering, requesting, up, closed)
	// Rediscoveries counts the times the AMT relay went silent and was
	// discovered again.
	Rediscoveries uint64 `json:"rediscoveries"`
	// KernelDrops counts the datagrams the kernel dropped at a native
	// receiver's socket since the start, nearly always because its
	// receive buffer was full.
	KernelDrops uint64 `json:"kernel_drops,omitempty"`
	// ReadBuffer is the socket's receive buffer in bytes, as the kernel
	// reports it (twice the size set); 0 if not known.
	ReadBuffer int `json:"rcvbuf_bytes,omitempty"`
}

// Sink is what a receiver's output took.
type Sink struct {
	Output string `json:"output"` // as sink's String: fifo "/run/ssmrandom/rnd-pipe"
	// Bytes written in the interval, and since the start.
	Bytes      uint64 `json:"bytes"`
	TotalBytes uint64 `json:"total_bytes"`
	// For a FIFO: the bytes its reader (rngd) took since the start, and
	// those waiting in it now.
	Drained *uint64 `json:"drained_bytes,omitempty"`
	Pending *uint64 `json:"pending_bytes,omitempty"`
	// For the kernel pool: the bits of entropy credited since the start.
	Credited *uint64 `json:"credited_bits,omitempty"`
}

// Send is a sender's part of a [Status]: its counters in the interval
// and since the start.
type Send struct {
	KeyID           string `json:"kid,omitempty"`
	Frames          uint64 `json:"frames"`
	Bytes           uint64 `json:"bytes"`
	SendErrors      uint64 `json:"send_errors"`
	TotalFrames     uint64 `json:"total_frames"`
	TotalBytes      uint64 `json:"total_bytes"`
	TotalSendErrors uint64 `json:"total_send_errors"`
}

// Recv is what a receiver knows of itself, from which [RecvStatus] makes
// its Status.
type Recv struct {
	Last   receive.Summary // the last complete interval
	Now    receive.Summary // the counters now: only Total and Producers are read
	Alarms receive.Alarms  // raised now
	// Silence is recv's --silence, for the words of the alarms.
	Silence time.Duration
	// Output is the sink's String; Pending, if not nil, the bytes waiting
	// in a FIFO; Credit the bits credited per byte with the kernel pool
	// (0 for other outputs).
	Output  string
	Pending func() (int, error)
	Credit  int
	// Transport, if not nil, says how the datagrams arrive now.
	Transport func() Transport
}

// RecvStatus returns the Status of a receiver at now, but for the
// fields every daemon has (Daemon, PID, Version, Started). It is degraded
// while an alarm is raised or a producer is unhealthy.
func RecvStatus(r Recv, now time.Time) Status {
	s := Status{Daemon: "recv", IntervalStart: r.Last.Start, IntervalEnd: r.Last.End}
	if r.Last.Total == (receive.Stats{}) && r.Last.Producers == nil {
		s.IntervalStart, s.IntervalEnd = time.Time{}, time.Time{}
	}
	if r.Alarms.Silent {
		s.Problems = append(s.Problems, "silence: no verified frame from any producer for "+r.Silence.String())
	}
	if r.Alarms.Stuck {
		s.Problems = append(s.Problems, "output stuck: full, and nothing read from it for "+r.Silence.String())
	}
	last := map[string]receive.ProducerStats{}
	for _, p := range r.Last.Producers {
		last[p.KeyID] = p
	}
	for _, p := range r.Now.Producers {
		l := last[p.KeyID]
		q := Producer{KeyID: p.KeyID, Trusted: p.Trusted, Unhealthy: p.Unhealthy,
			Frames: l.Frames, Forwarded: l.Forwarded, Bytes: l.Bytes, Dropped: reasons(l.Dropped)}
		if !p.LastFrame.IsZero() {
			age := max(now.Sub(p.LastFrame), 0).Round(time.Millisecond).Seconds()
			q.LastFrameAge = &age
		}
		if p.Unhealthy {
			s.Problems = append(s.Problems, "producer "+p.KeyID+" unhealthy: its bytes failed a health test")
		}
		s.Producers = append(s.Producers, q)
	}
	s.Dropped = reasons(r.Last.Dropped)
	k := &Sink{Output: r.Output, Bytes: r.Last.Bytes, TotalBytes: r.Now.Total.Bytes}
	if r.Pending != nil {
		if n, err := r.Pending(); err == nil {
			pending := uint64(n)
			drained := k.TotalBytes - min(pending, k.TotalBytes)
			k.Pending, k.Drained = &pending, &drained
		}
	}
	if r.Credit > 0 {
		bits := k.TotalBytes * uint64(r.Credit)
		k.Credited = &bits
	}
	s.Sink = k
	if r.Transport != nil {
		t := r.Transport()
		s.Transport = &t
	}
	return s
}

// reasons returns the non-zero counts of c by reason name; nil if none.
func reasons(c [len(receive.Stats{}.Dropped)]uint64) map[string]uint64 {
	var m map[string]uint64
	for _, r := range receive.Reasons() {
		if c[r] == 0 {
			continue
		}
		if m == nil {
			m = map[string]uint64{}
		}
		m[r.String()] = c[r]
	}
	return m
}

// SendStatus returns the Status of a sender whose key is kid ("" for an
// unsigned one) from its counters at the start and end of the last
// interval and now, but for the fields every daemon has. It is degraded
// while the last send failed.
func SendStatus(kid string, start, end, now send.Stats, failing bool) Status {
	s := Status{Daemon: "send", Send: &Send{KeyID: kid, Frames: end.Frames - start.Frames, Bytes: end.Bytes - start.Bytes,
		SendErrors:  end.SendErrors - start.SendErrors,
		TotalFrames: now.Frames, TotalBytes: now.Bytes, TotalSendErrors: now.SendErrors}}
	if failing {
		s.Problems = append(s.Problems, "sending fails: frames are lost")
	}
	return s
}
