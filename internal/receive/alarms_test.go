package receive_test

import (
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sink"
)

// TestAlarms checks the two alarms of issue 14, item 11, on a fake clock:
// silence (no verified frame for the time asked, from the start or since
// the last one) and a stuck output (full, and taking nothing, that long).
func TestAlarms(t *testing.T) {
	k := newKeys(t)
	var out output
	c := &clock{ms: now}
	p := newPipeline(t, k, &out, maxDatagram, c)
	const after = 2 * time.Minute
	at := func(ms int64) {
		c.mu.Lock()
		c.ms = now + ms
		c.mu.Unlock()
	}
	send := func(seq uint64, ms int64) receive.Verdict {
		at(ms)
		v, err := p.Handle(signFrame(t, k.trusted, mkframe(seq, now+ms, "entropy")))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	min := time.Minute.Milliseconds()
	for _, st := range []struct {
		name          string
		ms            int64
		seq           uint64 // frame to send at ms, if not 0
		full          bool   // the output is full
		silent, stuck bool
	}{
		{name: "start", ms: 0},
		{name: "1 min, nothing heard", ms: 1 * min},
		{name: "2 min, nothing heard", ms: 2 * min, silent: true},
		{name: "a frame", ms: 2*min + 1, seq: 1},
		{name: "1 min after it", ms: 3 * min},
		{name: "full, 1 min after the last write", ms: 3 * min, seq: 2, full: true},
		{name: "full, 2 min after the last write", ms: 4*min + 1, seq: 3, full: true, stuck: true},
		{name: "drained", ms: 4*min + 2, seq: 4},
		{name: "silent again", ms: 6*min + 2, silent: true},
	} {
		out.err = nil
		if st.full {
			out.err = sink.ErrFull
		}
		if st.seq != 0 {
			send(st.seq, st.ms)
		}
		at(st.ms)
		a := p.Alarms(after)
		if a.Silent != st.silent || a.Stuck != st.stuck || a.Any() != (st.silent || st.stuck) {
			t.Errorf("%s: got silent %v, stuck %v; want %v, %v", st.name, a.Silent, a.Stuck, st.silent, st.stuck)
		}
	}
}
