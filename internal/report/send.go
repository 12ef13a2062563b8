package report

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/words"
)

// Send decides what send logs of the frames it sends: a failing send when
// it starts failing and when it works again (the errors in between are
// for the summaries and the metrics), and each frame at debug level. Make
// it with [NewSend]. [Send.Event] is for the send loop's goroutine;
// [Send.Failing] is safe to call from any goroutine.
type Send struct {
	debug   bool
	failing atomic.Bool
	lost    uint64 // frames lost since sending failed
}

// NewSend returns send's reporter; debug says whether the logger takes
// debug lines.
func NewSend(debug bool) *Send { return &Send{debug: debug} }

// Failing reports whether the last send failed.
func (s *Send) Failing() bool { return s.failing.Load() }

// Event returns the lines of one frame sent or lost: none for most.
func (s *Send) Event(ev send.Event) []Line {
	if ev.Err != nil {
		s.lost++
		if s.failing.Load() {
			return nil
		}
		s.failing.Store(true)
		s.lost = 1
		return []Line{{Level: Warn, Fields: Fields{{"error", ev.Err}}, Msg: "sending failed; frames are lost until it works again"}}
	}
	var lines []Line
	if s.failing.Load() {
		s.failing.Store(false)
		lines = append(lines, Line{Level: Info, Fields: Fields{{"frames_lost", s.lost}}, Msg: fmt.Sprintf("sending works again, after %s lost", words.Plural(s.lost, "frame"))})
	}
	if s.debug {
		lines = append(lines, Line{Level: Debug, Fields: Fields{{"seq", ev.Seq}, {"bytes", ev.Bytes}, {"datagram", ev.Datagram}}, Msg: "sent"})
	}
	return lines
}

// SendTotal returns a sender's last line: what it sent in all, its frames
// called noun.
func SendTotal(s send.Stats, noun string) Line {
	msg := fmt.Sprintf("sent %s, %s, %s", words.Plural(s.Frames, noun), words.Plural(s.Bytes, "byte"), words.Plural(s.SendErrors, "send error"))
	if s.SeedRounds > 0 {
		msg += fmt.Sprintf("; %s in %s in %s", words.Plural(s.SeedMembers, "seed"), words.Plural(s.SeedDatagrams, "seed datagram"), words.Plural(s.SeedRounds, "seed round"))
	}
	return Line{Level: Info, Fields: append(sendFields(s), Field{"frames", s.Frames}, Field{"bytes", s.Bytes}, Field{"send_errors", s.SendErrors}), Msg: msg}
}

// SendSummary returns the summary line of d, what a sender did in the
// last interval: at warn level if frames were lost to send errors.
func SendSummary(d send.Stats, interval time.Duration) Line {
	l := Line{Level: Info, Fields: append(sendFields(d), Field{"frames", d.Frames}, Field{"bytes", d.Bytes}),
		Msg: fmt.Sprintf("summary: %s (%s) sent in the last %s", words.Plural(d.Frames, "frame"), words.Plural(d.Bytes, "byte"), interval)}
	if d.SendErrors > 0 {
		l.Level = Warn
		l.Fields.add("send_errors", d.SendErrors)
		l.Msg += ", " + words.Plural(d.SendErrors, "frame") + " lost to send errors"
	}
	return l
}

// sendFields are the health counts of s, if the input failed a health
// test or a FIPS block, and its seed counts, if there are seed rounds.
func sendFields(s send.Stats) Fields {
	var f Fields
	if s.HealthFailures > 0 {
		f.add("health_failures", s.HealthFailures)
	}
	if s.HealthBlocks > 0 {
		f.add("fips_block_failures", s.HealthBlocks)
	}
	if s.HealthFailures+s.HealthBlocks > 0 {
		f = append(f, Field{"health_dropped", s.HealthDropped}, Field{"input_healthy", !s.Unhealthy})
	}
	if s.SeedRounds > 0 {
		f = append(f, Field{"seed_rounds", s.SeedRounds}, Field{"seeds", s.SeedMembers}, Field{"seed_datagrams", s.SeedDatagrams})
	}
	return f
}

// SeedRound returns the line of one seed round: at debug level, or at
// warn level if it failed or lost seed datagrams to send errors. It names
// no member and holds no seed.
func SeedRound(r send.SeedRound) Line {
	l := Line{Level: Debug, Msg: "seed round"}
	if r.Err != nil || r.SendErrors > 0 {
		l.Level = Warn
		l.Fields.add("error", r.Err)
	}
	l.Fields = append(l.Fields, Field{"round", r.Round}, Field{"members", r.Members}, Field{"skipped_not_valid", r.Skipped}, Field{"sealed", r.Sealed},
		Field{"seed_datagrams", r.Datagrams}, Field{"send_errors", r.SendErrors}, Field{"elapsed", r.Elapsed})
	return l
}
