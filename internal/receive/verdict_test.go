package receive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestVerdictFacts checks that a verdict carries the facts its checks
// read, and words them in Why without checking again: the pipeline's
// state may change after Handle, the words do not.
func TestVerdictFacts(t *testing.T) {
	k := newKeys(t)
	p := newPipeline(t, k, io.Discard, maxDatagram, &clock{ms: now})
	d := signFrame(t, k.trusted, mkframe(7, now, "good entropy :-)"))
	v, err := p.Handle(d)
	if err != nil || !v.Forwarded() || v.Why() != nil {
		t.Fatalf("first copy: got %v, %v, why %v; want forwarded", v.Reason, err, v.Why())
	}
	kid := k.trusted.KeyID()
	f := v.Facts
	if f.Size != len(d) || f.KeyID != kid || f.Seq != 7 || f.Time != now || f.Source != source || f.DataBytes != len("good entropy :-)") {
		t.Errorf("facts: got %+v, want size %d, kid %s, seq 7, time %d, source %s", f, len(d), kid, now, source)
	}
	v, err = p.Handle(d)
	if err != nil || v.Reason != receive.Replay {
		t.Fatalf("second copy: got %v, %v; want replay", v.Reason, err)
	}
	p.SetTrust(nil) // the words are the verdict's, whatever the pipeline holds now
	why := v.Why()
	if !errors.Is(why, replay.ErrReplay) || !strings.Contains(why.Error(), "kid "+kid+", epoch ") || !strings.Contains(why.Error(), "seq 7, time ") {
		t.Errorf("Why: got %v, want the replay error with kid %s and seq 7", why, kid)
	}

	big := bytes.Repeat([]byte{'A'}, maxDatagram+1)
	v, _ = p.Handle(big)
	if want := "receive: datagram over the limit of 1472 bytes"; v.Reason != receive.TooBig || v.Why() == nil || v.Why().Error() != want || v.Facts.Size != len(big) {
		t.Errorf("too big: got %v, %v, size %d; want %q", v.Reason, v.Why(), v.Facts.Size, want)
	}
	v, _ = p.Handle(signFrame(t, k.stranger, mkframe(1, now, "x")))
	if v.Reason != receive.UnknownKey || !errors.Is(v.Why(), sign.ErrUnknownKey) || !strings.Contains(v.Why().Error(), k.stranger.KeyID()) {
		t.Errorf("stranger: got %v, %v; want unknown_key naming its kid", v.Reason, v.Why())
	}
}

// errFakeFailure is a new health-test failure, not one of probation.
var errFakeFailure = errors.New("health: repetition count test failed")

func TestHealthFailed(t *testing.T) {
	for _, c := range []struct {
		v    receive.Verdict
		want bool
	}{
		{receive.Verdict{Reason: receive.Unhealthy, Err: errFakeFailure}, true},
		{receive.Verdict{Reason: receive.Unhealthy, Err: health.ErrFailed}, false},
		{receive.Verdict{Reason: receive.Replay, Err: replay.ErrReplay}, false},
		{receive.Verdict{}, false},
	} {
		if got := c.v.HealthFailed(); got != c.want {
			t.Errorf("HealthFailed(%v, %v): got %v, want %v", c.v.Reason, c.v.Err, got, c.want)
		}
	}
}

// TestHealthMonitors checks that each producer gets a Monitor of its own,
// and that a bad configuration is an error at once.
func TestHealthMonitors(t *testing.T) {
	if _, err := receive.HealthMonitors(health.Config{Alpha: 2}); err == nil {
		t.Errorf("HealthMonitors(Alpha 2): got nil error, want one")
	}
	mk, err := receive.HealthMonitors(health.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := mk("a"), mk("b")
	if a == nil || b == nil || a == b {
		t.Errorf("got monitors %p and %p, want two, apart", a, b)
	}
	data := bytes.Repeat([]byte{0}, 512)
	if a.Check(data) == nil {
		t.Errorf("a.Check(512 zero bytes): got nil, want a failure")
	}
	varied := sha256.Sum256([]byte("b")) // no run of equal bytes or equal differences
	if err := b.Check(varied[:]); err != nil {
		t.Errorf("b.Check after a failed: got %v, want nil (its own state)", err)
	}
}

// TestRunSummaries runs the loop over a list of datagrams: the read error
// that ends it is returned, every datagram is finished first, and the
// summaries count what changed.
func TestRunSummaries(t *testing.T) {
	k := newKeys(t)
	var out bytes.Buffer
	p := newPipeline(t, k, &out, maxDatagram, &clock{ms: now})
	socket := receive.SocketStats{Foreign: 2, KernelDrops: 5}
	sums := receive.NewSummaries(p, func() receive.SocketStats { return socket })
	in := [][]byte{
		signFrame(t, k.trusted, mkframe(1, now, "one")),
		signFrame(t, k.stranger, mkframe(1, now, "forged")),
		signFrame(t, k.trusted, mkframe(2, now, "two")),
	}
	end := errors.New("no more datagrams")
	var observed []receive.Reason
	err := receive.Run(context.Background(), p, receive.Loop[int]{
		Read: func(buf []byte) (int, int, error) {
			if len(in) == 0 {
				return 0, 0, end
			}
			n := copy(buf, in[0])
			in = in[1:]
			return n, 0, nil
		},
		Stop:    func() {},
		BufSize: maxDatagram + 1,
		Observe: func(_ []byte, _ int, v receive.Verdict) { observed = append(observed, v.Reason) },
		Options: receive.Options{Workers: 2},
	})
	if !errors.Is(err, end) {
		t.Fatalf("Run: got %v, want the read error", err)
	}
	if out.String() != "onetwo" || len(observed) != 1 || observed[0] != receive.UnknownKey {
		t.Errorf("got output %q and drops %v, want \"onetwo\" and [unknown_key]", out.String(), observed)
	}
	s := sums.Next()
	if s.Frames != 2 || s.NewRejects != 1 || len(s.Producers) != 2 {
		t.Errorf("first summary: got %d frames, %d new rejects, %d producers; want 2, 1, 2", s.Frames, s.NewRejects, len(s.Producers))
	}
	if s.Socket != socket || s.SocketTotal != socket {
		t.Errorf("first summary: got socket counters %+v of %+v, want %+v of the same", s.Socket, s.SocketTotal, socket)
	}
	socket = receive.SocketStats{Foreign: 3, KernelDrops: 9}
	// The second interval saw nothing but the socket's: every other
	// counter of it is 0, the totals stay, and so does when each producer
	// was last heard.
	s = sums.Next()
	if want := (receive.SocketStats{Foreign: 1, KernelDrops: 4}); s.Socket != want || s.SocketTotal != socket {
		t.Errorf("second summary: got socket counters %+v of %+v, want %+v of %+v", s.Socket, s.SocketTotal, want, socket)
	}
	if s.NewRejects != 0 || s.Rejected() != 0 || s.Frames != 0 || s.Total.Rejected() != 1 || s.Total.Frames != 2 {
		t.Errorf("second summary: got %d frames and %d rejects (%d new) of %d and %d; want 0 and 0 (0) of 2 and 1",
			s.Frames, s.Rejected(), s.NewRejects, s.Total.Frames, s.Total.Rejected())
	}
	for _, ps := range s.Producers {
		if ps.Frames != 0 || ps.Forwarded != 0 || ps.Bytes != 0 {
			t.Errorf("second summary: producer %s: got %d frames, %d forwarded, %d bytes; want 0", ps.KeyID, ps.Frames, ps.Forwarded, ps.Bytes)
		}
		if ps.KeyID == k.trusted.KeyID() && ps.LastFrame.IsZero() {
			t.Errorf("second summary: producer %s: no last frame, want the one of the first interval", ps.KeyID)
		}
	}
	if last := sums.Last(); last.End != s.End || last.Total != s.Total {
		t.Errorf("Last: got the interval ending %v, want the one ending %v", last.End, s.End)
	}
}
