package report

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/words"
)

// Recv decides what recv logs of its pipeline: each producer's change of
// health, the first drop of each reason (further ones go to the
// summaries), each drop at debug level, the alarms as they are raised and
// cleared, and the summaries. Make it with [NewRecv]. [Recv.Verdict] is
// for the read loop's goroutine; [Recv.Alarms], [Recv.Summary] and
// [Recv.Stopped] for one other goroutine at a time.
type Recv struct {
	debug   bool          // a line for each drop
	silence time.Duration // --silence; 0: no alarms
	warned  [len(receive.Stats{}.Dropped)]bool
	alarms  receive.Alarms // as of the last call of Alarms
}

// NewRecv returns recv's reporter: silence is the time of the alarms (0:
// none), and debug says whether the logger takes debug lines.
func NewRecv(silence time.Duration, debug bool) *Recv {
	return &Recv{debug: debug, silence: silence}
}

// Verdict returns the lines for a datagram from src that the pipeline did
// not forward, or whose frame changed its producer's health (none for most
// datagrams): at debug level each drop, at warn level the first of each
// reason, at error level a producer that turns unhealthy and at info level
// one that recovers. Health-test and isolated FIPS block failures are for
// the metrics and summaries, not a line.
func (r *Recv) Verdict(src netip.Addr, v receive.Verdict) []Line {
	var lines []Line
	switch v.Health {
	case receive.BecameUnhealthy:
		lines = append(lines, Line{Level: Error, Fields: Fields{{"from", src.String()}, {"kid", v.KeyID}, {"why", words.Error(v.Err)}},
			Msg: "producer unhealthy: its bytes failed a health test; not forwarding them until 2048 bytes in a row pass (after FIPS 140-2 blocks failing too often, at least one whole passing 2500-byte block)"})
	case receive.Recovered:
		lines = append(lines, Line{Level: Info, Fields: Fields{{"from", src.String()}, {"kid", v.KeyID}}, Msg: "producer healthy again: forwarding its bytes"})
	}
	lines = append(lines, member(src, v)...)
	if v.Reason == receive.None || int(v.Reason) >= len(r.warned) {
		return lines
	}
	first := !r.warned[v.Reason]
	if !first && !r.debug {
		return lines
	}
	why := v.Why()
	if r.debug {
		lines = append(lines, Line{Level: Debug, Fields: Fields{{"from", src.String()}, {"reason", v.Reason.String()}, {"why", why}}, Msg: "dropped"})
	}
	if first && v.Reason != receive.SampledOut && v.Reason != receive.Seed && v.Reason != receive.Unhealthy { // by choice, not for recv, or logged as a state change
		r.warned[v.Reason] = true
		level := Warn
		if v.Reason == receive.OutputFull {
			// rngd 5 reads only when the kernel asks: a full FIFO is its
			// steady state, and the --silence alarm says when it is stuck.
			level = Info
		}
		lines = append(lines, Line{Level: level, Fields: Fields{{"from", src.String()}, {"reason", v.Reason.String()}, {"why", words.Error(why)}},
			Msg: "dropped a datagram; further drops for this reason are counted in the summaries"})
	}
	return lines
}

// member returns the line of a change of a producer's member state (recv
// --host-key): a key learned at debug level, keys dropped at warn level,
// an entry that did not open at warn level and a seed not credited at
// error level.
func member(src netip.Addr, v receive.Verdict) []Line {
	from := Fields{{"from", src.String()}, {"kid", v.Facts.KeyID}}
	switch v.Member {
	case receive.KeyLearned:
		return []Line{{Level: Debug, Fields: append(from, Field{"epoch", v.Facts.Epoch}), Msg: "member key learned"}}
	case receive.KeysDropped:
		return []Line{{Level: Warn, Fields: from, Msg: "member keys out of date (a datagram the tag check refused verified): checking this producer on signatures alone until its next seed round"}}
	case receive.KeysExpired:
		return []Line{{Level: Warn, Fields: from, Msg: "no datagram passed the member tag check for --max-age: checking this producer on signatures alone until its next seed round"}}
	case receive.EntryRefused:
		return []Line{{Level: Warn, Fields: append(from, Field{"why", words.Error(v.Err)}), Msg: "this host's entry of a seed datagram gave no member key: is --host-key the key whose .pub.jwk the producer holds?"}}
	case receive.SeedFailed:
		return []Line{{Level: Error, Fields: append(from, Field{"why", words.Error(v.Err)}), Msg: "could not credit this host's seed to the kernel"}}
	}
	return nil
}

// AlarmEvery is how often recv checks the alarms of a time of silence:
// ten times per silence, at most once every 100 ms and at least every
// 10 s.
func AlarmEvery(silence time.Duration) time.Duration {
	return min(max(silence/10, 100*time.Millisecond), 10*time.Second)
}

// Alarms returns a line for each alarm of a that was raised or cleared
// since the last call; the summaries repeat the raised ones.
func (r *Recv) Alarms(a receive.Alarms) []Line {
	was := r.alarms
	r.alarms = a
	silence := Fields{{"silence", r.silence.String()}}
	var lines []Line
	switch {
	case a.Silent && !was.Silent:
		lines = append(lines, Line{Level: Warn, Fields: silence, Msg: fmt.Sprintf("silence: no verified frame from any producer for %s", r.silence)})
	case !a.Silent && was.Silent:
		lines = append(lines, Line{Level: Info, Msg: "silence is over: verified frames arrive again"})
	}
	switch {
	case a.Stuck && !was.Stuck:
		lines = append(lines, Line{Level: Warn, Fields: silence, Msg: fmt.Sprintf("output stuck: full, and nothing read from it for %s (is its reader, such as rngd, running?)", r.silence)})
	case !a.Stuck && was.Stuck:
		lines = append(lines, Line{Level: Info, Msg: "output drained again"})
	}
	return lines
}

// Summary returns the line "summary" of s, the interval since the last
// summary, at now: transport is how datagrams arrive. It leaves out the
// counters that are 0, and is at warn level for rejects (but not
// output_full alone: rngd 5 reads only when the kernel asks, so a full
// FIFO is its steady state), for kernel drops and for an alarm, else at
// info.
func (r *Recv) Summary(s receive.Summary, transport Fields, now time.Time) Line {
	return r.summary("summary", s, s.Stats, s.Socket, s.Producers, transport, now)
}

// Stopped returns the last line, "stopped", of the counters since the
// start: s.Total and s.SocketTotal, and producers as they are at the end.
func (r *Recv) Stopped(s receive.Summary, producers []receive.ProducerStats, transport Fields, now time.Time) Line {
	return r.summary("stopped", s, s.Total, s.SocketTotal, producers, transport, now)
}

func (r *Recv) summary(msg string, s receive.Summary, st receive.Stats, sock receive.SocketStats, prods []receive.ProducerStats, transport Fields, now time.Time) Line {
	l := Line{Level: Info}
	if s.NewRejects > s.Dropped[receive.OutputFull] || s.Socket.KernelDrops > 0 || r.alarms.Any() {
		l.Level = Warn
	}
	if msg != "stopped" {
		l.Fields.add("interval_s", s.End.Sub(s.Start).Round(time.Millisecond).Seconds())
	}
	l.Fields = append(l.Fields, Field{"datagrams", st.Datagrams}, Field{"frames", st.Frames}, Field{"bytes", st.Bytes})
	var dropped Fields
	for _, reason := range receive.Reasons() {
		if n := st.Dropped[reason]; n > 0 {
			dropped.add(reason.String(), n)
		}
	}
	if n := st.Rejected(); n > 0 {
		l.Fields = append(l.Fields, Field{"rejected", n}, Field{"dropped", dropped})
	} else if st.Dropped[receive.SampledOut] > 0 || st.Dropped[receive.Seed] > 0 {
		l.Fields.add("dropped", dropped) // by choice, or for seed: no reject
	}
	if st.Unsigned > 0 {
		l.Fields.add("unsigned", st.Unsigned)
	}
	if m := st.Member; m != (receive.MemberStats{}) {
		l.Fields.add("member", Fields{{"keys", m.Keys}, {"seeds", m.Seeds}, {"tagged", m.Tagged}, {"probes", m.Probes}, {"key_drops", m.KeyDrops}})
	}
	if sock.Foreign > 0 {
		l.Fields.add("foreign_source", sock.Foreign)
	}
	if sock.KernelDrops > 0 {
		l.Fields.add("kernel_drops", sock.KernelDrops)
	}
	if len(prods) > 0 {
		l.Fields.add("producers", producers(prods, now))
	}
	l.Fields.add("transport", transport)
	l.Msg = fmt.Sprintf("%s: %s (%s) forwarded, %s dropped", msg, words.Plural(st.Frames, "frame"), words.Plural(st.Bytes, "byte"), words.Plural(st.Rejected(), "datagram"))
	if msg != "stopped" {
		l.Msg = fmt.Sprintf("%s: in the last %s, %s (%s) forwarded, %s dropped", msg, words.Round(s.End.Sub(s.Start)),
			words.Plural(st.Frames, "frame"), words.Plural(st.Bytes, "byte"), words.Plural(st.Rejected(), "datagram"))
	}
	if sock.KernelDrops > 0 {
		l.Msg += fmt.Sprintf("; %d more dropped by the kernel (receive buffer full)", sock.KernelDrops)
	}
	if r.alarms.Any() {
		var alarms []string
		if r.alarms.Silent {
			alarms = append(alarms, "silence")
			l.Msg += "; silence: no verified frame for " + r.silence.String()
		}
		if r.alarms.Stuck {
			alarms = append(alarms, "output_stuck")
			l.Msg += "; output stuck for " + r.silence.String()
		}
		l.Fields.add("alarms", alarms)
	}
	return l
}

// producers is the producers of a summary line: each key's counters that
// are not 0, and the age of its last frame at now.
func producers(prods []receive.ProducerStats, now time.Time) []Fields {
	out := make([]Fields, 0, len(prods))
	for _, p := range prods {
		d := Fields{{"kid", p.KeyID}, {"trusted", p.Trusted}}
		if p.Unhealthy {
			d.add("unhealthy", true)
		}
		for _, c := range []struct {
			name string
			n    uint64
		}{{"verified", p.Frames}, {"forwarded", p.Forwarded}, {"bytes", p.Bytes}, {"health_failures", p.HealthFailures}, {"fips_block_failures", p.HealthBlocks}} {
			if c.n > 0 {
				d.add(c.name, c.n)
			}
		}
		if !p.LastFrame.IsZero() {
			d.add("last_frame_age_s", now.Sub(p.LastFrame).Round(time.Millisecond).Seconds())
		}
		out = append(out, d)
	}
	return out
}
