package receive_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// seedDatagram is an unsigned version 1.0 datagram exactly as the
// original ssmrandom sent it: CPython 2.7's json.dumps of {'v': '1.0',
// 's': '/dev/urandom', 'd': base64 of the 32 bytes a0..bf}
// (docs/protocol.md §8).
const seedDatagram = `{"s": "/dev/urandom", "d": "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=", "v": "1.0"}`

// seedData returns n pseudo-random bytes, different for each i: data
// that passes the health tests.
func seedData(i, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return b
}

// seedFrame returns frame i of an original ssmrandom sender reading
// /dev/urandom in chunks of n bytes.
func seedFrame(i, n int) []byte {
	return frame.AppendV1(nil, "/dev/urandom", seedData(i, n))
}

func newUnsignedPipeline(t testing.TB, k keys, out *output, allow bool, h func(string) receive.HealthCheck) *receive.Pipeline {
	t.Helper()
	p, err := receive.New(receive.Config{Trust: k.ring, Output: out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, AllowUnsigned: allow, Health: h})
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	return p
}

// TestUnsignedRefused checks that without AllowUnsigned the seed's frames
// are dropped as malformed, not one byte written, and that Explain says
// what they are.
func TestUnsignedRefused(t *testing.T) {
	k := newKeys(t)
	var out output
	p := newUnsignedPipeline(t, k, &out, false, nil)
	for _, d := range [][]byte{[]byte(seedDatagram), seedFrame(1, 512)} {
		v, err := p.Handle(d)
		if err != nil || v.Reason != receive.Malformed {
			t.Errorf("Handle(%.40s...): got %v, %v; want malformed", d, v.Reason, err)
		}
		if err := p.Explain(d); !errors.Is(err, receive.ErrUnsigned) {
			t.Errorf("Explain(%.40s...): got %v, want ErrUnsigned", d, err)
		}
	}
	// Not a version 1.0 frame either: Explain does not call it one.
	if err := p.Explain([]byte(`{"s": "/dev/urandom", "d": "", "v": "1.0"}`)); err == nil || errors.Is(err, receive.ErrUnsigned) {
		t.Errorf("Explain(empty data): got %v, want an error that is not ErrUnsigned", err)
	}
	if st := p.Stats(); out.writes != 0 || st.Frames != 0 || st.Unsigned != 0 || st.Dropped[receive.Malformed] != 2 {
		t.Errorf("got %d writes, %d frames, %d unsigned, %d malformed; want 0, 0, 0, 2", out.writes, st.Frames, st.Unsigned, st.Dropped[receive.Malformed])
	}
}

// TestUnsignedAllowed runs the seed's frames and signed frames through one
// pipeline that allows unsigned frames: both are forwarded, in order; the
// signed ones are checked as ever, and only the unsigned ones count in
// Stats.Unsigned.
func TestUnsignedAllowed(t *testing.T) {
	k := newKeys(t)
	var out output
	p := newUnsignedPipeline(t, k, &out, true, nil)
	good := mkframe(0, now, "signed entropy")
	forged := mkframe(1, now, "forged entropy")
	steps := []struct {
		datagram []byte
		want     receive.Reason
		wantKey  string
		wantOut  string
	}{
		{[]byte(seedDatagram), receive.None, receive.UnsignedID, string(vectorBytes())},
		{signFrame(t, k.trusted, good), receive.None, k.trusted.KeyID(), "signed entropy"},
		{signFrame(t, k.trusted, good), receive.Replay, "", ""},                                // signed frames keep their replay window
		{changeData(t, signFrame(t, k.trusted, forged), forged), receive.BadSignature, "", ""}, // and their signature check
		{signFrame(t, k.stranger, forged), receive.UnknownKey, "", ""},
		// A version 1.0 payload signed by a trusted key is still no
		// IEDP 2.0 frame: the flag changes nothing for signed datagrams.
		{signPayload(t, k.trusted, []byte(seedDatagram)), receive.Malformed, "", ""},
		{seedFrame(2, 512), receive.None, receive.UnsignedID, string(seedData(2, 512))},
		// Compact separators and another member order parse too.
		{[]byte(`{"v":"1.0","s":"/dev/hwrng","d":"` + b64(seedData(3, 24)) + `"}`), receive.None, receive.UnsignedID, string(seedData(3, 24))},
	}
	var want bytes.Buffer
	for i, st := range steps {
		v, err := p.Handle(st.datagram)
		if err != nil || v.Reason != st.want || (st.want == receive.None && v.KeyID != st.wantKey) {
			t.Errorf("step %d: got %v (kid %q), %v; want %v (kid %q)", i, v.Reason, v.KeyID, err, st.want, st.wantKey)
		}
		want.WriteString(st.wantOut)
	}
	if !bytes.Equal(out.buf.Bytes(), want.Bytes()) {
		t.Errorf("output: got %d bytes, want %d: the forwarded frames' data in order", out.buf.Len(), want.Len())
	}
	st := p.Stats()
	if st.Frames != 4 || st.Unsigned != 3 || st.Bytes != uint64(want.Len()) || st.Rejected() != 4 {
		t.Errorf("Stats: got %d frames, %d unsigned, %d bytes, %d rejected; want 4, 3, %d, 4", st.Frames, st.Unsigned, st.Bytes, st.Rejected(), want.Len())
	}
	for _, ps := range p.Producers() {
		if ps.KeyID == receive.UnsignedID {
			t.Errorf("Producers lists %q: unsigned frames have no key and are counted in Stats.Unsigned only", ps.KeyID)
		}
	}
	for _, d := range [][]byte{[]byte(seedDatagram), seedFrame(4, 100)} {
		if err := p.Explain(d); err != nil {
			t.Errorf("Explain(%.40s...): got %v, want nil", d, err)
		}
	}
}

func vectorBytes() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0xa0 + byte(i)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestUnsignedLimits checks that unsigned frames still meet the size limit
// and strict parsing (protocol.md §8).
func TestUnsignedLimits(t *testing.T) {
	k := newKeys(t)
	big := seedFrame(1, 1100) // 1497 bytes, over the limit of 1472
	cases := []struct {
		name     string
		datagram []byte
		want     receive.Reason
		wantErr  error
	}{
		{"over the size limit", big, receive.TooBig, nil},
		{"empty data, as the seed sent at the end of a file", []byte(`{"s": "/dev/urandom", "d": "", "v": "1.0"}`), receive.Malformed, frame.ErrSyntax},
		{"version 2.0", []byte(`{"s": "/dev/urandom", "d": "AAEC", "v": "2.0"}`), receive.Malformed, frame.ErrVersion},
		{"an unsigned IEDP 2.0 payload", []byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`), receive.Malformed, frame.ErrSyntax},
		{"a fourth member", []byte(`{"s": "/dev/urandom", "d": "AAEC", "v": "1.0", "n": "1"}`), receive.Malformed, frame.ErrSyntax},
		{"a trailing newline", []byte(seedDatagram + "\n"), receive.Malformed, frame.ErrSyntax},
		{"not base64", []byte(`{"s": "/dev/urandom", "d": "AA-_", "v": "1.0"}`), receive.Malformed, frame.ErrSyntax},
		{"a lone brace", []byte(`{`), receive.Malformed, frame.ErrSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out output
			p := newUnsignedPipeline(t, k, &out, true, nil)
			v, err := p.Handle(c.datagram)
			if err != nil || v.Reason != c.want || (c.wantErr != nil && !errors.Is(v.Err, c.wantErr)) {
				t.Errorf("got %v (%v), %v; want %v (%v)", v.Reason, v.Err, err, c.want, c.wantErr)
			}
			if out.writes != 0 {
				t.Errorf("got %d writes, want 0", out.writes)
			}
		})
	}
}

// TestUnsignedHealth shows what is left of replay protection for unsigned
// frames: the health tests, under the one producer id UnsignedID. A
// replayed frame is forwarded again unless its data is at least 16 bytes
// and among the last 64 checked, and then the duplicate check refuses it
// and puts every unsigned frame on probation; a stuck source is refused.
func TestUnsignedHealth(t *testing.T) {
	k := newKeys(t)
	var out output
	var kids []string
	p := newUnsignedPipeline(t, k, &out, true, func(kid string) receive.HealthCheck {
		kids = append(kids, kid)
		m, err := health.New(health.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
	first := seedFrame(1, 512)
	steps := []struct {
		datagram []byte
		want     receive.Reason
	}{
		{first, receive.None},
		{seedFrame(2, 512), receive.None},
		{first, receive.Unhealthy},             // a replay: caught as a duplicate, not as a replay
		{seedFrame(3, 512), receive.Unhealthy}, // probation: 2048 good bytes first
		{seedFrame(4, 512), receive.Unhealthy},
		{seedFrame(5, 512), receive.Unhealthy},
		{seedFrame(6, 512), receive.Unhealthy}, // completes the 2048 bytes, still refused
		{seedFrame(7, 512), receive.None},
		{frame.AppendV1(nil, "/dev/urandom", bytes.Repeat([]byte{7}, 64)), receive.Unhealthy}, // stuck
		// Signed frames have their own health state.
		{signFrame(t, k.trusted, mkframe(0, now, string(seedData(8, 64)))), receive.None},
	}
	for i, st := range steps {
		v, err := p.Handle(st.datagram)
		if err != nil || v.Reason != st.want {
			t.Errorf("step %d: got %v (%v), %v; want %v", i, v.Reason, v.Err, err, st.want)
		}
	}
	if want := []string{receive.UnsignedID, k.trusted.KeyID()}; fmt.Sprint(kids) != fmt.Sprint(want) {
		t.Errorf("health checks made for %q, want %q", kids, want)
	}
	if st := p.Stats(); st.Unsigned != 3 || st.Dropped[receive.Unhealthy] != 6 {
		t.Errorf("Stats: got %d unsigned forwarded, %d unhealthy; want 3 and 6", st.Unsigned, st.Dropped[receive.Unhealthy])
	}
}

// TestUnsignedSample checks that sampling chooses among unsigned frames
// as among signed ones.
func TestUnsignedSample(t *testing.T) {
	k := newKeys(t)
	var out output
	s := &everyOther{}
	p, err := receive.New(receive.Config{Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, Sample: s, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []receive.Reason{receive.None, receive.SampledOut, receive.None} {
		if v, err := p.Handle(seedFrame(i, 64)); err != nil || v.Reason != want {
			t.Errorf("frame %d: got %v, %v; want %v", i, v.Reason, err, want)
		}
	}
	if st := p.Stats(); st.Unsigned != 2 || s.kept != 2 {
		t.Errorf("got %d unsigned forwarded, Kept %d times; want 2, 2", st.Unsigned, s.kept)
	}
}

// TestUnsignedParallel mixes unsigned, good signed and forged frames
// through the parallel pipeline with batch verification: an unsigned
// frame must never be put in a batch, and every good frame is forwarded
// in order.
func TestUnsignedParallel(t *testing.T) {
	k := newKeys(t)
	var mu sync.Mutex
	var out output
	p, err := receive.New(receive.Config{Trust: k.ring, Output: lockedWriter{&mu, &out}, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	var datagrams [][]byte
	for i := range 300 {
		switch i % 3 {
		case 0:
			datagrams = append(datagrams, seedFrame(i, 64))
			want.Write(seedData(i, 64))
		case 1:
			data := fmt.Sprintf("signed %d;", i)
			datagrams = append(datagrams, signFrame(t, k.trusted, mkframe(uint64(i), now, data)))
			want.WriteString(data)
		case 2:
			f := mkframe(uint64(i), now, "forged")
			datagrams = append(datagrams, changeData(t, signFrame(t, k.trusted, f), f))
		}
	}
	q := receive.NewParallel[int](p, receive.Options{Workers: 4, Batch: 16}, nil)
	for i, d := range datagrams {
		if err := q.Submit(d, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.buf.Bytes(), want.Bytes()) {
		t.Errorf("output: got %d bytes, want %d: every good frame's data in order", out.buf.Len(), want.Len())
	}
	if st := p.Stats(); st.Frames != 200 || st.Unsigned != 100 || st.Dropped[receive.BadSignature] != 100 {
		t.Errorf("Stats: got %d frames, %d unsigned, %d bad signatures; want 200, 100, 100", st.Frames, st.Unsigned, st.Dropped[receive.BadSignature])
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	o  *output
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.o.Write(b)
}

// TestUnsignedAllocs checks that an unsigned frame, too, goes through
// Handle without allocating once the buffers are in place.
func TestUnsignedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	k := newKeys(t)
	p, err := receive.New(receive.Config{Trust: k.ring, Output: discard{}, MaxDatagram: maxDatagram, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	d := seedFrame(1, 512)
	if _, err := p.Handle(d); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if v, err := p.Handle(d); err != nil || v.Reason != receive.None {
			t.Fatalf("got %v, %v", v.Reason, err)
		}
	})
	if allocs > 0 {
		t.Errorf("allocations per unsigned frame: got %v, want 0", allocs)
	}
}
