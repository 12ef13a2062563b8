package receive_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sample"
)

// mixedSequence returns good frames 0..n-1, reordered inside the replay
// window, with copies of some (replays, some back to back, which parallel
// workers verify at once), forgeries, a stranger's frames and garbage.
func mixedSequence(t testing.TB, k keys, n int) [][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	good := make([][]byte, n)
	// bad holds, for each good frame, one signed by the same key with
	// the same (e, n) and a malformed payload (a second "d").
	bad := make([][]byte, n)
	for i := range good {
		f := mkframe(uint64(i), now+int64(i), fmt.Sprintf("frame %d;", i))
		good[i] = signFrame(t, k.trusted, f)
		bad[i] = signPayload(t, k.trusted, bytes.Replace(f.Append(nil), []byte(`"}`), []byte(`","d":"AAAA"}`), 1))
	}
	// Swap neighbours: reordering by a few frames.
	for i := 0; i+1 < n; i += 1 + r.IntN(4) {
		good[i], good[i+1] = good[i+1], good[i]
		bad[i], bad[i+1] = bad[i+1], bad[i]
	}
	var seq [][]byte
	for i, d := range good {
		if i%16 == 5 {
			// Signed but malformed, then the good frame of its (e, n):
			// the first is not recorded, so the second is forwarded.
			seq = append(seq, bad[i])
		}
		seq = append(seq, d)
		switch r.IntN(8) {
		case 0:
			seq = append(seq, d) // back to back
		case 1:
			seq = append(seq, good[r.IntN(i+1)]) // an earlier one again
		case 2:
			f := mkframe(uint64(n+i), now+int64(i), "forged")
			seq = append(seq, changeData(t, signFrame(t, k.trusted, f), f))
		case 3:
			seq = append(seq, signFrame(t, k.stranger, mkframe(uint64(i), now, "stranger")))
		case 4:
			seq = append(seq, []byte("garbage"))
		}
	}
	return seq
}

// TestParallelMatchesHandle checks that the parallel pipeline forwards
// exactly what the sequential one does, in the same order, and counts the
// same drops.
func TestParallelMatchesHandle(t *testing.T) {
	k := newKeys(t)
	seq := mixedSequence(t, k, 400)
	for _, o := range []receive.Options{{Workers: 1}, {Workers: 2}, {Workers: 4}, {Workers: 8}, {Workers: 1, Batch: 64}, {Workers: 2, Batch: 16}} {
		workers := fmt.Sprintf("%+v", o)
		c := &clock{ms: now}
		var want output
		ps := newPipeline(t, k, &want, maxDatagram, c)
		wantDrops := map[receive.Reason]int{}
		for _, d := range seq {
			v, err := ps.Handle(d)
			if err != nil {
				t.Fatal(err)
			}
			if v.Reason != receive.None {
				wantDrops[v.Reason]++
			}
		}

		var got output
		pp := newPipeline(t, k, &got, maxDatagram, c)
		var mu sync.Mutex
		gotDrops := map[receive.Reason]int{}
		q := receive.NewParallel(pp, o, func(datagram []byte, i int, v receive.Verdict) {
			mu.Lock()
			defer mu.Unlock()
			gotDrops[v.Reason]++
			if !bytes.Equal(datagram, seq[i]) {
				t.Errorf("observe: datagram %d is not the one submitted", i)
			}
		})
		for i, d := range seq {
			if err := q.Submit(d, i); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if got.buf.String() != want.buf.String() {
			t.Errorf("%s: output differs from the sequential pipeline's:\ngot  %.200q\nwant %.200q", workers, got.buf.String(), want.buf.String())
		}
		if gs, ws := pp.Stats(), ps.Stats(); gs != ws {
			t.Errorf("%s: Stats: got %+v, want %+v", workers, gs, ws)
		}
		if fmt.Sprint(gotDrops) != fmt.Sprint(wantDrops) {
			t.Errorf("%s: observed drops: got %v, want %v", workers, gotDrops, wantDrops)
		}
		if n := strings.Count(got.buf.String(), ";"); n != 400 {
			t.Errorf("%s: %d frames forwarded, want each of the 400 once", workers, n)
		}
	}
}

func TestParallelLimit(t *testing.T) {
	k := newKeys(t)
	var out output
	c := &clock{ms: now}
	p, err := receive.New(receive.Config{Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: c.now, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	q := receive.NewParallel[struct{}](p, receive.Options{Workers: 2, Batch: 8}, nil)
	for i := range 20 {
		if err := q.Submit(signFrame(t, k.trusted, mkframe(uint64(i), now, fmt.Sprintf("%d,", i))), struct{}{}); err != nil {
			if !errors.Is(err, receive.ErrLimit) {
				t.Fatalf("Submit: got %v, want nil or ErrLimit", err)
			}
			break
		}
	}
	select {
	case <-q.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the limit")
	}
	if err := q.Close(); !errors.Is(err, receive.ErrLimit) {
		t.Errorf("Close: got %v, want ErrLimit", err)
	}
	if got := out.buf.String(); got != "0,1,2,3,4," {
		t.Errorf("output: got %q, want the first 5 frames", got)
	}
	if err := q.Submit([]byte("x"), struct{}{}); !errors.Is(err, receive.ErrClosed) {
		t.Errorf("Submit after Close: got %v, want ErrClosed", err)
	}
}

func TestParallelOutputError(t *testing.T) {
	k := newKeys(t)
	broken := errors.New("disk on fire")
	p := newPipeline(t, k, &output{err: broken}, maxDatagram, &clock{ms: now})
	q := receive.NewParallel[int](p, receive.Options{Workers: 2, Batch: 8}, nil)
	var subErr error
	for i := 0; i < 100 && subErr == nil; i++ {
		subErr = q.Submit(signFrame(t, k.trusted, mkframe(uint64(i), now, "x")), i)
		if i == 0 {
			<-q.Done() // the first frame's write fails
		}
	}
	if !errors.Is(subErr, broken) {
		t.Errorf("Submit after a failed write: got %v, want it", subErr)
	}
	if err := q.Close(); !errors.Is(err, broken) {
		t.Errorf("Close: got %v, want the write error", err)
	}
}

// everyOther keeps every other frame; it counts Kept calls.
type everyOther struct{ n, kept int }

func (s *everyOther) Keep(time.Time, []byte) bool { s.n++; return s.n%2 == 1 }
func (s *everyOther) Kept(time.Time)              { s.kept++ }
func (s *everyOther) Open(time.Time) bool         { return true }

// TestSample shows that sampling happens before the signature check: a
// forged frame that is not kept is counted as sampled out, not as a bad
// signature, and a kept frame's interval starts only once it is forwarded.
func TestSample(t *testing.T) {
	k := newKeys(t)
	var out output
	s := &everyOther{}
	p, err := receive.New(receive.Config{Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, Sample: s})
	if err != nil {
		t.Fatal(err)
	}
	forged := mkframe(100, now, "forged")
	steps := []struct {
		datagram []byte
		want     receive.Reason
	}{
		{signFrame(t, k.trusted, mkframe(0, now, "a")), receive.None},
		{signFrame(t, k.trusted, mkframe(1, now, "b")), receive.SampledOut},
		{changeData(t, signFrame(t, k.trusted, forged), forged), receive.BadSignature}, // kept, then fails
		{changeData(t, signFrame(t, k.trusted, forged), forged), receive.SampledOut},   // never verified
		{signFrame(t, k.trusted, mkframe(1, now, "b")), receive.None},                  // not seen before: sampling is not a replay
		{[]byte("garbage"), receive.Malformed},                                         // no decision drawn
	}
	for i, st := range steps {
		v, err := p.Handle(st.datagram)
		if err != nil || v.Reason != st.want {
			t.Errorf("step %d: got %v, %v; want %v", i, v.Reason, err, st.want)
		}
	}
	if out.buf.String() != "ab" || s.kept != 2 || s.n != 5 {
		t.Errorf("output %q, Kept %d times, Keep %d times; want \"ab\", 2, 5", out.buf.String(), s.kept, s.n)
	}
	if st := p.Stats(); st.Dropped[receive.SampledOut] != 2 || st.Rejected() != 2 {
		t.Errorf("Stats: %d sampled out, %d rejected; want 2 and 2 (sampling is not a reject)", st.Dropped[receive.SampledOut], st.Rejected())
	}
}

// TestSampleReplay is issue 14's attack on sampling: re-sending every
// frame 20 times must not get more frames kept than sending it once,
// since the decision is a function of the frame's identity (kid, e, n)
// and the sampler's secret key, and a kept frame is then a replay.
func TestSampleReplay(t *testing.T) {
	k := newKeys(t)
	frames := make([][]byte, 200)
	for i := range frames {
		frames[i] = signFrame(t, k.trusted, mkframe(uint64(i), now, fmt.Sprintf("frame %d;", i)))
	}
	s, err := sample.New(sample.Config{P: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	run := func(copies int) (receive.Stats, string) {
		var out output
		p, err := receive.New(receive.Config{Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, Sample: s})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range frames {
			for range copies {
				if _, err := p.Handle(d); err != nil {
					t.Fatal(err)
				}
			}
		}
		return p.Stats(), out.buf.String()
	}
	once, wantOut := run(1)
	if once.Frames == 0 || once.Frames == uint64(len(frames)) {
		t.Fatalf("one copy each: kept %d of %d frames at P = 0.1, want some but not all", once.Frames, len(frames))
	}
	twenty, gotOut := run(20)
	if twenty.Frames != once.Frames || gotOut != wantOut {
		t.Errorf("20 copies each: kept %d frames (%d bytes), want the %d frames (%d bytes) of one copy each", twenty.Frames, len(gotOut), once.Frames, len(wantOut))
	}
	if want := uint64(20*len(frames)) - once.Frames - 19*once.Frames; twenty.Dropped[receive.SampledOut] != want {
		t.Errorf("20 copies each: %d sampled out, want %d", twenty.Dropped[receive.SampledOut], want)
	}
}

// refuseBad is a health check that refuses data containing "BAD".
type refuseBad struct{ calls int }

func (h *refuseBad) Check(data []byte) error {
	h.calls++
	if bytes.Contains(data, []byte("BAD")) {
		return errors.New("health: bad data")
	}
	return nil
}

func TestHealth(t *testing.T) {
	k := newKeys(t)
	var out output
	made := map[string]*refuseBad{}
	p, err := receive.New(receive.Config{
		Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now,
		Health: func(kid string) receive.HealthCheck {
			h := &refuseBad{}
			made[kid] = h
			return h
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []struct {
		datagram []byte
		want     receive.Reason
	}{
		{signFrame(t, k.trusted, mkframe(0, now, "good,")), receive.None},
		{signFrame(t, k.trusted, mkframe(1, now, "BAD")), receive.Unhealthy},
		{signFrame(t, k.trusted, mkframe(1, now, "BAD")), receive.Replay}, // seen: a failed frame is not retried
		{signFrame(t, k.stranger, mkframe(2, now, "BAD")), receive.UnknownKey},
		{signFrame(t, k.trusted, mkframe(2, now, "fine")), receive.None},
	} {
		v, err := p.Handle(st.datagram)
		if err != nil || v.Reason != st.want {
			t.Errorf("step %d: got %v, %v; want %v", i, v.Reason, err, st.want)
		}
	}
	if out.buf.String() != "good,fine" {
		t.Errorf("output: got %q, want \"good,fine\"", out.buf.String())
	}
	if len(made) != 1 || made[k.trusted.KeyID()].calls != 3 {
		t.Errorf("health checks: %d made, want 1 for the trusted key, called for its 3 verified frames", len(made))
	}
}

// BenchmarkParallel measures good frames through the parallel pipeline:
// ns/op is per frame, so workers=1 against workers=N is the scaling.
func BenchmarkParallel(b *testing.B) {
	k := newKeys(b)
	const pool = 4096
	frames := make([][]byte, pool)
	for i := range frames {
		frames[i] = signFrame(b, k.trusted, mkframe(uint64(i), now, strings.Repeat("x", 512)))
	}
	for _, o := range []receive.Options{{Workers: 1}, {Workers: 2}, {Workers: 4}, {Workers: 1, Batch: 64}, {Workers: 2, Batch: 64}} {
		b.Run(fmt.Sprintf("workers=%d/batch=%d", o.Workers, max(o.Batch, 1)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(512)
			var q *receive.Parallel[struct{}]
			i := 0
			for b.Loop() {
				if i%pool == 0 { // a fresh window for the frames again
					if q != nil {
						q.Close()
					}
					p := newPipeline(b, k, discard{}, maxDatagram, &clock{ms: now})
					q = receive.NewParallel[struct{}](p, o, nil)
				}
				q.Submit(frames[i%pool], struct{}{})
				i++
			}
			q.Close()
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
