package receive_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/sink"
)

// now is the receiver's clock in every test, in Unix milliseconds; the
// frames are made at that instant unless a case says otherwise.
const now = 1764000012345

// source is the producer's name in every frame.
const source = "producer.example.org"

// maxDatagram is the receive limit of the tests: recv's default.
const maxDatagram = 1472

// testKey returns a deterministic Ed25519 key: the seed is 32 times seed.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func mustSigner(t testing.TB, priv ed25519.PrivateKey) *sign.Signer {
	t.Helper()
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatalf("NewSigner: got error %v, want nil", err)
	}
	return s
}

// keys are the trusted producer and a stranger, whose key no test trusts.
type keys struct {
	trusted, stranger *sign.Signer
	retired           *sign.Signer // trusted, but only until an hour before now
	ring              *sign.Keyring
}

func newKeys(t testing.TB) keys {
	t.Helper()
	k := keys{trusted: mustSigner(t, testKey(1)), stranger: mustSigner(t, testKey(2)), retired: mustSigner(t, testKey(3))}
	ring, err := sign.NewKeyring(sign.Key{Public: k.trusted.Public()},
		sign.Key{Public: k.retired.Public(), Valid: sign.Validity{NotAfter: time.Unix(now/1000-3600, 0)}})
	if err != nil {
		t.Fatalf("NewKeyring: got error %v, want nil", err)
	}
	k.ring = ring
	return k
}

// mkframe returns frame seq of the current epoch, made at time t.
func mkframe(seq uint64, t int64, data string) frame.Frame {
	return frame.Frame{Source: source, Epoch: now - 60_000, Seq: seq, Time: t, Data: []byte(data)}
}

// signFrame returns f as s signs it: a datagram as send makes it.
func signFrame(t testing.TB, s *sign.Signer, f frame.Frame) []byte {
	t.Helper()
	payload, err := f.Append(nil), f.Check()
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	return signPayload(t, s, payload)
}

// signPayload returns any payload signed by s, canonical frame or not.
func signPayload(t testing.TB, s *sign.Signer, payload []byte) []byte {
	t.Helper()
	d, err := s.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: got error %v, want nil", err)
	}
	return d
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// parts splits a datagram into its three base64url parts.
func parts(t testing.TB, d []byte) (h, p, sig string) {
	t.Helper()
	s := bytes.Split(d, []byte{'.'})
	if len(s) != 3 {
		t.Fatalf("datagram %.40q...: got %d parts, want 3", d, len(s))
	}
	return string(s[0]), string(s[1]), string(s[2])
}

// changeData returns d with one bit of the frame's entropy bytes flipped
// and the original signature kept: a canonical frame whose signature does
// not verify.
func changeData(t testing.TB, d []byte, f frame.Frame) []byte {
	t.Helper()
	h, _, sig := parts(t, d)
	f.Data = slices.Clone(f.Data)
	f.Data[0] ^= 1
	payload, err := f.Append(nil), f.Check()
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	return []byte(h + "." + b64u(payload) + "." + sig)
}

// changeSignature returns d with one character in the middle of the
// signature changed, which keeps it canonical base64url.
func changeSignature(t testing.TB, d []byte) []byte {
	t.Helper()
	h, p, sig := parts(t, d)
	b := []byte(sig)
	if b[40] == 'A' {
		b[40] = 'B'
	} else {
		b[40] = 'A'
	}
	return []byte(h + "." + p + "." + string(b))
}

// shortSignature returns d with a signature of 63 bytes, in canonical
// base64url.
func shortSignature(t testing.TB, d []byte) []byte {
	t.Helper()
	h, p, _ := parts(t, d)
	return []byte(h + "." + p + "." + b64u(make([]byte, ed25519.SignatureSize-1)))
}

// badAlg returns a datagram whose header names alg and the trusted kid,
// with a signature of the right length that is no signature at all.
func badAlg(t testing.TB, k keys, alg string, f frame.Frame) []byte {
	t.Helper()
	payload, err := f.Append(nil), f.Check()
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	header := `{"alg":"` + alg + `","kid":"` + k.trusted.KeyID() + `"}`
	return []byte(b64u([]byte(header)) + "." + b64u(payload) + "." + b64u(make([]byte, ed25519.SignatureSize)))
}

// output is the pipeline's output: it keeps what it is given, or fails
// every Write with err. Its zero value keeps everything.
type output struct {
	buf    bytes.Buffer
	writes int
	err    error
}

func (o *output) Write(p []byte) (int, error) {
	o.writes++
	if o.err != nil {
		return 0, o.err
	}
	return o.buf.Write(p)
}

// clock is a settable fake time, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	ms int64
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.UnixMilli(c.ms)
}

func newPipeline(t testing.TB, k keys, out io.Writer, limit int, c *clock) *receive.Pipeline {
	t.Helper()
	p, err := receive.New(receive.Config{Trust: k.ring, Output: out, MaxDatagram: limit, Now: c.now})
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	return p
}

// TestHandle runs each check of docs/protocol.md §5 on its own pipeline.
func TestHandle(t *testing.T) {
	k := newKeys(t)
	good := mkframe(0, now, "good entropy :-)")
	goodDatagram := signFrame(t, k.trusted, good)
	full := fmt.Errorf("sink: fifo %q: %w", "rnd-pipe", sink.ErrFull)
	tooBig := fmt.Errorf("sink: fifo %q: %w", "rnd-pipe", sink.ErrTooBig)

	tests := []struct {
		name     string
		datagram []byte
		limit    int   // MaxDatagram, if not maxDatagram
		outErr   error // what the output's Write returns
		want     receive.Reason
		wantErr  error  // what Verdict.Err wraps, if not nil
		wantKey  string // Verdict.KeyID
		wantOut  string // the bytes written
		// handleErr is what Handle's error wraps; the datagram is then
		// neither forwarded nor dropped.
		handleErr error
	}{
		{name: "good frame", datagram: goodDatagram, want: receive.None, wantKey: k.trusted.KeyID(), wantOut: "good entropy :-)"},
		{name: "at the size limit", datagram: goodDatagram, limit: len(goodDatagram), want: receive.None, wantKey: k.trusted.KeyID(), wantOut: "good entropy :-)"},
		// §5 check 1: a good frame one byte over the limit is not even
		// parsed, so the verdict names no key.
		{name: "one byte over the size limit", datagram: goodDatagram, limit: len(goodDatagram) - 1, want: receive.TooBig},
		{name: "too big garbage", datagram: bytes.Repeat([]byte{'.'}, maxDatagram+1), want: receive.TooBig},
		{name: "garbage", datagram: []byte("not a JWS at all"), want: receive.Malformed, wantErr: sign.ErrMalformed},
		{name: "empty datagram", datagram: []byte{}, want: receive.Malformed, wantErr: sign.ErrMalformed},
		{name: "alg HS256", datagram: badAlg(t, k, "HS256", good), want: receive.BadAlg, wantErr: sign.ErrBadAlg},
		{name: "alg none", datagram: badAlg(t, k, "none", good), want: receive.BadAlg, wantErr: sign.ErrBadAlg},
		{name: "unknown key", datagram: signFrame(t, k.stranger, good), want: receive.UnknownKey, wantErr: sign.ErrUnknownKey},
		// A payload that is no IEDP 2.0 frame is malformed even when the
		// trusted key signed it.
		{name: "signed IEDP 1.0 payload", want: receive.Malformed, wantErr: frame.ErrVersion,
			datagram: signPayload(t, k.trusted, []byte(`{"v":"1.0","s":"producer.example.org","t":1764000012345,"d":"Z29vZCBlbnRyb3B5IDotKQ=="}`))},
		{name: "signed plain text", datagram: signPayload(t, k.trusted, []byte("good entropy :-)")), want: receive.Malformed, wantErr: frame.ErrSyntax},
		{name: "signed non-canonical frame", want: receive.Malformed, wantErr: frame.ErrSyntax,
			datagram: signPayload(t, k.trusted, []byte(`{"v":"2.0", "s":"producer.example.org","e":1763999952345,"n":0,"t":1764000012345,"d":"Z29vZCBlbnRyb3B5IDotKQ=="}`))},
		{name: "older than the maximum age", datagram: signFrame(t, k.trusted, mkframe(0, now-replay.DefaultMaxAge.Milliseconds()-1, "old")), want: receive.Stale, wantErr: replay.ErrStale},
		// The window starts empty, so a frame made before the receiver
		// started could be one a previous run forwarded.
		{name: "made before the receiver started", datagram: signFrame(t, k.trusted, mkframe(0, now-1, "old")), want: receive.Stale, wantErr: replay.ErrStale},
		{name: "dated in the future", datagram: signFrame(t, k.trusted, mkframe(0, now+replay.DefaultMaxSkew.Milliseconds()+1, "early")), want: receive.Future, wantErr: replay.ErrFuture},
		{name: "data changed, signature kept", datagram: changeData(t, goodDatagram, good), want: receive.BadSignature, wantErr: sign.ErrBadSignature},
		{name: "signature changed", datagram: changeSignature(t, goodDatagram), want: receive.BadSignature, wantErr: sign.ErrBadSignature},
		{name: "signature of 63 bytes", datagram: shortSignature(t, goodDatagram), want: receive.BadSignature, wantErr: sign.ErrBadSignature},
		// A full output drops the verified frame and counts it; Handle
		// does not fail.
		{name: "output full", datagram: goodDatagram, outErr: full, want: receive.OutputFull, wantErr: sink.ErrFull, wantKey: k.trusted.KeyID()},
		{name: "output too big", datagram: goodDatagram, outErr: tooBig, want: receive.OutputTooBig, wantErr: sink.ErrTooBig, wantKey: k.trusted.KeyID()},
		{name: "output fails", datagram: goodDatagram, outErr: io.ErrClosedPipe, handleErr: io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = maxDatagram
			}
			out := &output{err: tt.outErr}
			p := newPipeline(t, k, out, limit, &clock{ms: now})
			v, err := p.Handle(tt.datagram)
			s := p.Stats()
			if s.Datagrams != 1 {
				t.Errorf("Stats().Datagrams: got %d, want 1", s.Datagrams)
			}
			if got := out.buf.String(); got != tt.wantOut {
				t.Errorf("output: got %q, want %q", got, tt.wantOut)
			}
			if tt.handleErr != nil {
				if !errors.Is(err, tt.handleErr) {
					t.Errorf("Handle: got error %v, want one wrapping %v", err, tt.handleErr)
				}
				if s.Frames != 0 || s.Bytes != 0 || s.Rejected() != 0 {
					t.Errorf("Stats: got %d frames, %d bytes, %d rejected; want 0, 0, 0", s.Frames, s.Bytes, s.Rejected())
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: got error %v, want nil", err)
			}
			if v.Reason != tt.want {
				t.Errorf("Verdict.Reason: got %v (%v), want %v", v.Reason, v.Err, tt.want)
			}
			if v.KeyID != tt.wantKey {
				t.Errorf("Verdict.KeyID: got %q, want %q", v.KeyID, tt.wantKey)
			}
			switch {
			case tt.want == receive.None && v.Err != nil:
				t.Errorf("Verdict.Err: got %v, want nil", v.Err)
			case tt.want != receive.None && v.Err == nil:
				t.Errorf("Verdict.Err: got nil, want an error")
			case tt.wantErr != nil && !errors.Is(v.Err, tt.wantErr):
				t.Errorf("Verdict.Err: got %v, want one wrapping %v", v.Err, tt.wantErr)
			}
			// The output is written to only once every check has passed.
			wantWrites := 0
			if tt.want == receive.None || tt.want == receive.OutputFull || tt.want == receive.OutputTooBig {
				wantWrites = 1
			}
			if out.writes != wantWrites {
				t.Errorf("output writes: got %d, want %d", out.writes, wantWrites)
			}
			var want receive.Stats
			want.Datagrams = 1
			if tt.want == receive.None {
				want.Frames, want.Bytes = 1, uint64(len(tt.wantOut))
			} else {
				want.Dropped[tt.want] = 1
			}
			if s != want {
				t.Errorf("Stats: got %+v, want %+v", s, want)
			}
		})
	}
}

// TestHandleSequence runs a mixed stream through one pipeline: only the
// good frames reach the output, in order and once each, and every other
// datagram is counted under its reason.
func TestHandleSequence(t *testing.T) {
	k := newKeys(t)
	c := &clock{ms: now}
	out := &output{}
	p := newPipeline(t, k, out, maxDatagram, c)

	frames := make([]frame.Frame, 6)
	datagrams := make([][]byte, 6)
	for i, data := range []string{"first,", "second,", "third,", "lost,", "late,", "fifth."} {
		frames[i] = mkframe(uint64(i), now+int64(i)*1000, data)
		datagrams[i] = signFrame(t, k.trusted, frames[i])
	}
	steps := []struct {
		name     string
		datagram []byte
		ms       int64 // the clock, milliseconds after now
		outErr   error // the output's error, if it fails
		want     receive.Reason
	}{
		{"frame 0", datagrams[0], 0, nil, receive.None},
		{"garbage", []byte("not a JWS at all"), 0, nil, receive.Malformed},
		{"frame 0 again", datagrams[0], 100, nil, receive.Replay},
		{"frame 0 from a stranger", signFrame(t, k.stranger, frames[0]), 100, nil, receive.UnknownKey},
		{"frame 0 from a retired key", signFrame(t, k.retired, frames[0]), 100, nil, receive.KeyNotValid},
		{"too big", bytes.Repeat([]byte{'A'}, maxDatagram+1), 100, nil, receive.TooBig},
		{"frame 1", datagrams[1], 1000, nil, receive.None},
		// A forgery of frame 2 does not move the window: frame 2 itself
		// still gets through.
		{"frame 2 with its data changed", changeData(t, datagrams[2], frames[2]), 2000, nil, receive.BadSignature},
		{"frame 2", datagrams[2], 2000, nil, receive.None},
		{"frame 3 to a full output", datagrams[3], 3000, sink.ErrFull, receive.OutputFull},
		{"IEDP 1.0 payload", signPayload(t, k.trusted, []byte(`{"v":"1.0","s":"x","t":1764000015345,"d":"AA=="}`)), 3000, nil, receive.Malformed},
		{"alg HS256", badAlg(t, k, "HS256", frames[3]), 3000, nil, receive.BadAlg},
		{"a seed datagram", signPayload(t, k.trusted, seedPayload(now+3000)), 3000, nil, receive.Seed},
		{"frame 1 again", datagrams[1], 3000, nil, receive.Replay},
		// Frame 5 before frame 4: reordering within the window is fine.
		{"frame 5", datagrams[5], 5000, nil, receive.None},
		{"frame 4", datagrams[4], 5100, nil, receive.None},
		{"frame 9 from the future", signFrame(t, k.trusted, mkframe(9, now+5100+replay.DefaultMaxSkew.Milliseconds()+1, "early")), 5100, nil, receive.Future},
		{"frame 6 to an output that takes less at once", signFrame(t, k.trusted, mkframe(6, now+5100, "big")), 5100, sink.ErrTooBig, receive.OutputTooBig},
		{"frame 4, much later", datagrams[4], 4000 + replay.DefaultMaxAge.Milliseconds() + 1, nil, receive.Stale},
	}
	var want receive.Stats
	for _, st := range steps {
		c.mu.Lock()
		c.ms = now + st.ms
		c.mu.Unlock()
		out.err = st.outErr
		v, err := p.Handle(st.datagram)
		if err != nil {
			t.Fatalf("%s: Handle: got error %v, want nil", st.name, err)
		}
		if v.Reason != st.want {
			t.Errorf("%s: got %v (%v), want %v", st.name, v.Reason, v.Err, st.want)
		}
		want.Datagrams++
		if st.want != receive.None {
			want.Dropped[st.want]++
		}
	}
	const wantOut = "first,second,third,fifth.late,"
	want.Frames, want.Bytes = 5, uint64(len(wantOut))
	if got := out.buf.String(); got != wantOut {
		t.Errorf("output: got %q, want %q", got, wantOut)
	}
	s := p.Stats()
	if s != want {
		t.Errorf("Stats: got %+v, want %+v", s, want)
	}
	for _, r := range receive.Reasons() {
		if r == receive.SampledOut || r == receive.Unhealthy || r == receive.BadTag {
			continue // need a sampler, health checks or a member: TestSample, TestHealth, TestMember*
		}
		if s.Dropped[r] == 0 {
			t.Errorf("Stats().Dropped[%v]: got 0; the sequence should have a datagram for every reason", r)
		}
	}
	if s.Dropped[receive.None] != 0 {
		t.Errorf("Stats().Dropped[Forwarded]: got %d, want 0", s.Dropped[receive.None])
	}
	if got, want := s.Rejected(), uint64(len(steps)-6); got != want { // 5 forwarded, 1 seed
		t.Errorf("Rejected(): got %d, want %d", got, want)
	}
	if s.Frames+s.Rejected()+s.Dropped[receive.Seed] != s.Datagrams {
		t.Errorf("Stats: %d frames, %d rejected and %d seed datagrams, want them to add up to %d datagrams", s.Frames, s.Rejected(), s.Dropped[receive.Seed], s.Datagrams)
	}
}

// TestStatsConcurrent reads the counters while datagrams are handled; run
// it with -race.
func TestStatsConcurrent(t *testing.T) {
	k := newKeys(t)
	p := newPipeline(t, k, io.Discard, maxDatagram, &clock{ms: now})
	const n = 200
	datagrams := make([][]byte, n)
	for i := range datagrams {
		datagrams[i] = signFrame(t, k.trusted, mkframe(uint64(i), now, "x"))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last uint64
		for {
			select {
			case <-done:
				return
			default:
			}
			s := p.Stats()
			if s.Datagrams < last {
				t.Errorf("Stats().Datagrams went back from %d to %d", last, s.Datagrams)
				return
			}
			last = s.Datagrams
		}
	}()
	for _, d := range datagrams {
		if _, err := p.Handle(d); err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
	}
	close(done)
	wg.Wait()
	if s := p.Stats(); s.Frames != n || s.Datagrams != n {
		t.Errorf("Stats: got %d frames of %d datagrams, want %d of %d", s.Frames, s.Datagrams, n, n)
	}
}

func TestReasonString(t *testing.T) {
	want := map[receive.Reason]string{
		receive.None:         "none",
		receive.TooBig:       "too_big",
		receive.Malformed:    "malformed",
		receive.BadAlg:       "bad_alg",
		receive.UnknownKey:   "unknown_key",
		receive.Seed:         "seed",
		receive.KeyNotValid:  "key_not_valid",
		receive.Stale:        "stale",
		receive.Future:       "future",
		receive.Replay:       "replay",
		receive.BadTag:       "bad_tag",
		receive.SampledOut:   "sampled_out",
		receive.BadSignature: "bad_signature",
		receive.Unhealthy:    "unhealthy",
		receive.OutputFull:   "output_full",
		receive.OutputTooBig: "output_too_big",
	}
	n := len(receive.Stats{}.Dropped) // the number of reasons, Forwarded included
	if len(want) != n {
		t.Fatalf("this test knows %d reasons; the package has %d", len(want), n)
	}
	for r := range receive.Reason(n) {
		if got := r.String(); got != want[r] {
			t.Errorf("Reason(%d).String(): got %q, want %q", int(r), got, want[r])
		}
	}
	for _, r := range []receive.Reason{-1, receive.Reason(n), 1000} {
		if got, want := r.String(), "Reason("+strconv.Itoa(int(r))+")"; got != want {
			t.Errorf("Reason(%d).String(): got %q, want %q", int(r), got, want)
		}
	}
}

func TestReasons(t *testing.T) {
	want := []receive.Reason{
		receive.TooBig, receive.Malformed, receive.BadAlg, receive.UnknownKey, receive.Seed, receive.KeyNotValid, receive.Stale,
		receive.Future, receive.Replay, receive.BadTag, receive.SampledOut, receive.BadSignature, receive.Unhealthy,
		receive.OutputFull, receive.OutputTooBig,
	}
	if got := receive.Reasons(); !slices.Equal(got, want) {
		t.Errorf("Reasons(): got %v, want %v", got, want)
	}
	if n := len(receive.Stats{}.Dropped); len(receive.Reasons()) != n-1 {
		t.Errorf("Reasons(): got %d reasons, want %d (all but Forwarded)", len(receive.Reasons()), n-1)
	}
}

func TestNew(t *testing.T) {
	k := newKeys(t)
	good := receive.Config{Trust: k.ring, Output: io.Discard, MaxDatagram: maxDatagram}
	if _, err := receive.New(good); err != nil {
		t.Fatalf("New(%+v): got error %v, want nil", good, err)
	}
	tests := []struct {
		name   string
		change func(*receive.Config)
	}{
		{"no trust", func(c *receive.Config) { c.Trust = nil }},
		{"empty keyring", func(c *receive.Config) { c.Trust = &sign.Keyring{} }},
		{"no output", func(c *receive.Config) { c.Output = nil }},
		{"no size limit", func(c *receive.Config) { c.MaxDatagram = 0 }},
		{"negative size limit", func(c *receive.Config) { c.MaxDatagram = -1 }},
		{"negative max age", func(c *receive.Config) { c.MaxAge = -time.Second }},
		{"negative max skew", func(c *receive.Config) { c.MaxSkew = -time.Second }},
	}
	for _, tt := range tests {
		cfg := good
		tt.change(&cfg)
		p, err := receive.New(cfg)
		if err == nil || p != nil {
			t.Errorf("New with %s: got (%v, %v), want (nil, an error)", tt.name, p, err)
		}
	}
}

// BenchmarkHandle is the receive hot path: a good frame through every
// check, the Ed25519 verification included, to an output that discards.
func BenchmarkHandle(b *testing.B) {
	k := newKeys(b)
	for _, size := range []int{512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			// Each datagram is forwarded once per pipeline: after the last
			// one, a new pipeline (and replay window) starts.
			datagrams := make([][]byte, 1024)
			data := string(bytes.Repeat([]byte{0xa5}, size))
			for i := range datagrams {
				datagrams[i] = signFrame(b, k.trusted, mkframe(uint64(i), now, data))
			}
			c := &clock{ms: now}
			p := newPipeline(b, k, io.Discard, maxDatagram, c)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				if i == len(datagrams) {
					b.StopTimer()
					p, i = newPipeline(b, k, io.Discard, maxDatagram, c), 0
					b.StartTimer()
				}
				v, err := p.Handle(datagrams[i])
				if err != nil || v.Reason != receive.None {
					b.Fatalf("Handle: got %v, %v; want forwarded", v.Reason, err)
				}
				i++
			}
		})
	}
}

// seedPayload returns a seed datagram's payload (docs/protocol.md §9.3)
// made at ms, with one entry of fixed bytes: recv opens none.
func seedPayload(ms int64) []byte {
	h := seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: uint64(ms), Time: ms, PlaintextLen: seedwire.MinPlaintext, Count: 1}
	return seedwire.AppendEntry(h.Append(nil), seedwire.HostID{1}, make([]byte, seedwire.EntryLen(h.Suite, h.PlaintextLen)-seedwire.HostIDSize))
}

// TestSignedMalformed checks §5's order around the signature: a payload
// that is malformed past its first fields is refused as bad_signature
// when its signature does not verify (check 12 comes before check 13), as
// malformed when it does, then with a Why that says so, and in neither
// case recorded in the replay window: the good frame of the same (e, n)
// is forwarded after both.
func TestSignedMalformed(t *testing.T) {
	k := newKeys(t)
	f := mkframe(5, now, "good entropy")
	bad := signPayload(t, k.trusted, bytes.Replace(f.Append(nil), []byte(`"}`), []byte(`","d":"AAAA"}`), 1))
	var out output
	p := newPipeline(t, k, &out, maxDatagram, &clock{ms: now})
	for _, c := range []struct {
		d    []byte
		want receive.Reason
	}{
		{changeSignature(t, bad), receive.BadSignature},
		{bad, receive.Malformed},
		{bad, receive.Malformed},
		{signFrame(t, k.trusted, f), receive.None},
	} {
		v, err := p.Handle(c.d)
		if err != nil || v.Reason != c.want {
			t.Fatalf("Handle: got (%v, %v), want (%v, nil)", v.Reason, err, c.want)
		}
		if v.Reason == receive.Malformed {
			why := v.Why()
			if !errors.Is(why, frame.ErrSyntax) || !strings.Contains(why.Error(), "signature verified") || v.KeyID != "" {
				t.Errorf("Why: got %v, KeyID %q; want a frame syntax error that says the signature verified, no KeyID", why, v.KeyID)
			}
		}
	}
	if got := out.buf.String(); got != "good entropy" {
		t.Errorf("output: got %q, want %q", got, "good entropy")
	}
}
