package send_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// start is the fixed clock of the tests: 2025-12-01T00:00:00Z.
var start = time.UnixMilli(1764547200000)

// clock returns a Now that starts at start and advances 1 ms a call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

// conn records the datagrams sent; fail makes a send fail.
type conn struct {
	sent [][]byte
	fail func(i int) bool // whether the i-th send (from 0) fails
	n    int
}

func (c *conn) Send(b []byte) error {
	defer func() { c.n++ }()
	if c.fail != nil && c.fail(c.n) {
		return errors.New("no route to host")
	}
	c.sent = append(c.sent, bytes.Clone(b))
	return nil
}

func signer(t testing.TB) *sign.Signer {
	t.Helper()
	s, err := sign.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// input is n bytes that differ from chunk to chunk.
func input(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

// run runs a loop of cfg to its end, with a conn that records and the
// fixed clock, and returns the conn, the events observed, the counters
// and Run's error.
func run(t *testing.T, cfg send.Config) (*conn, []send.Event, send.Stats, error) {
	t.Helper()
	c, _ := cfg.Conn.(*conn)
	if c == nil {
		c = new(conn)
		cfg.Conn = c
	}
	if cfg.Now == nil {
		cfg.Now = clock()
	}
	var events []send.Event
	cfg.Observe = func(ev send.Event) { events = append(events, ev) }
	l, err := send.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = l.Run(context.Background())
	st := l.Stats()
	var bytes uint64
	for _, ev := range events {
		if ev.Err == nil {
			bytes += uint64(ev.Bytes)
		}
	}
	if st.Frames != uint64(len(c.sent)) || st.Bytes != bytes {
		t.Errorf("Stats: got %+v, want %d frames of %d bytes in all", st, len(c.sent), bytes)
	}
	return c, events, st, err
}

// TestSigned checks the signed frames byte for byte: each datagram is the
// JWS of the frame with the next sequence number, the loop's epoch, the
// time of its sending and the next chunk of the input, the last one short.
func TestSigned(t *testing.T) {
	s := signer(t)
	in := input(1000)
	c, events, _, err := run(t, send.Config{Input: bytes.NewReader(in), Framer: send.NewSigned(s), Source: "a.example.org", Size: 256})
	if err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if len(c.sent) != 4 || len(events) != 4 {
		t.Fatalf("got %d datagrams and %d events, want 4 and 4", len(c.sent), len(events))
	}
	epoch := uint64(start.UnixMilli() + 1) // the first reading of the clock
	for i, d := range c.sent {
		end := min((i+1)*256, len(in))
		f := frame.Frame{Source: "a.example.org", Epoch: epoch, Seq: uint64(i), Time: start.UnixMilli() + int64(i) + 2, Data: in[i*256 : end]}
		if want := s.Append(nil, f.Append(nil)); !bytes.Equal(d, want) {
			t.Errorf("datagram %d:\ngot  %s\nwant %s", i, d, want)
		}
		if ev := events[i]; ev.Seq != uint64(i) || ev.Bytes != end-i*256 || ev.Datagram != len(d) || ev.Err != nil {
			t.Errorf("event %d: got %+v, want seq %d, %d bytes, datagram %d, no error", i, ev, i, end-i*256, len(d))
		}
		if max := (send.NewSigned(s)).Len("a.example.org", 256); len(d) > max {
			t.Errorf("datagram %d: got %d bytes, want at most Len %d", i, len(d), max)
		}
		verify(t, s, d)
	}
}

// verify checks d's Ed25519 signature with the public key alone.
func verify(t *testing.T, s *sign.Signer, d []byte) {
	t.Helper()
	parts := strings.Split(string(d), ".")
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want a compact JWS", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !ed25519.Verify(s.Public(), []byte(parts[0]+"."+parts[1]), sig) {
		t.Errorf("signature of %s does not verify", d)
	}
}

// TestV1 checks the unsigned frames: the original ssmrandom's, byte for
// byte.
func TestV1(t *testing.T) {
	in := input(300)
	c, _, _, err := run(t, send.Config{Input: bytes.NewReader(in), Framer: send.V1{}, Source: "/dev/urandom", Size: 200})
	if err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	want := []string{
		`{"s": "/dev/urandom", "d": "` + base64.StdEncoding.EncodeToString(in[:200]) + `", "v": "1.0"}`,
		`{"s": "/dev/urandom", "d": "` + base64.StdEncoding.EncodeToString(in[200:]) + `", "v": "1.0"}`,
	}
	if len(c.sent) != len(want) {
		t.Fatalf("got %d datagrams, want %d", len(c.sent), len(want))
	}
	for i := range want {
		if string(c.sent[i]) != want[i] {
			t.Errorf("datagram %d:\ngot  %s\nwant %s", i, c.sent[i], want[i])
		}
		if got, max := len(c.sent[i]), (send.V1{}).Len("/dev/urandom", 200); got > max {
			t.Errorf("datagram %d: got %d bytes, want at most Len %d", i, got, max)
		}
	}
}

// TestRaw checks that raw datagrams are the input's chunks as they are.
func TestRaw(t *testing.T) {
	in := input(2500)
	c, _, _, err := run(t, send.Config{Input: bytes.NewReader(in), Framer: send.Raw{}, Size: 1024})
	if err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if got := bytes.Join(c.sent, nil); !bytes.Equal(got, in) || len(c.sent) != 3 || len(c.sent[2]) != 452 {
		t.Errorf("got %d datagrams of %d bytes in all, want 3 (1024, 1024, 452) that make up the input", len(c.sent), len(got))
	}
	if got := (send.Raw{}).Len("", 1024); got != 1024 {
		t.Errorf("Raw Len(1024): got %d, want 1024", got)
	}
}

// TestCount checks that Count ends the run after that many datagrams
// sent, however long the input.
func TestCount(t *testing.T) {
	c, _, _, err := run(t, send.Config{Input: bytes.NewReader(input(1 << 16)), Framer: send.Raw{}, Size: 16, Count: 5})
	if err != nil || len(c.sent) != 5 {
		t.Errorf("got %d datagrams and error %v, want 5 and nil", len(c.sent), err)
	}
}

// TestSendError checks that a failed send is counted, observed and lost,
// and the run goes on; its sequence number is not reused.
func TestSendError(t *testing.T) {
	c := &conn{fail: func(i int) bool { return i == 1 }}
	_, events, st, err := run(t, send.Config{Input: bytes.NewReader(input(64)), Conn: c, Framer: send.V1{}, Source: "x", Size: 16})
	if err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if want := (send.Stats{Frames: 3, Bytes: 48, SendErrors: 1}); st != want {
		t.Errorf("Stats: got %+v, want %+v", st, want)
	}
	if len(events) != 4 {
		t.Fatalf("got %d events, want 4", len(events))
	}
	for i, ev := range events {
		if ev.Seq != uint64(i) || (ev.Err != nil) != (i == 1) {
			t.Errorf("event %d: got %+v, want seq %d, an error only for the second", i, ev, i)
		}
	}
}

// errReader returns its bytes, then err.
type errReader struct {
	b   []byte
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestReadError checks that a failed read ends the run with an error
// wrapping ErrRead and its cause, after what was read before is sent.
func TestReadError(t *testing.T) {
	cause := errors.New("input/output error")
	c, _, _, err := run(t, send.Config{Input: &errReader{b: input(32), err: cause}, Framer: send.Raw{}, Size: 16})
	if !errors.Is(err, send.ErrRead) || !errors.Is(err, cause) {
		t.Errorf("Run: got %v, want an error wrapping ErrRead and %v", err, cause)
	}
	if len(c.sent) != 2 {
		t.Errorf("got %d datagrams, want the 2 read before the error", len(c.sent))
	}
}

// TestExpiry checks that the loop stops before it sends a frame dated at
// or after the key's expiry.
func TestExpiry(t *testing.T) {
	// The clock reads start+1 ms for the epoch, then +2, +3, ... per frame.
	c, _, _, err := run(t, send.Config{Input: bytes.NewReader(input(100)), Framer: send.Raw{}, Size: 10, Expires: start.Add(4 * time.Millisecond)})
	if !errors.Is(err, send.ErrKeyExpired) {
		t.Errorf("Run: got %v, want an error wrapping ErrKeyExpired", err)
	}
	if len(c.sent) != 2 {
		t.Errorf("got %d datagrams, want 2, dated before the expiry", len(c.sent))
	}
}

// TestEpochRollover checks docs/protocol.md §4: after sequence number
// MaxSeq, the next frame starts a new epoch, later than the last, at 0.
func TestEpochRollover(t *testing.T) {
	var events []send.Event
	var frames []frame.Frame
	c := new(conn)
	s := signer(t)
	l, err := send.New(send.Config{Input: bytes.NewReader(input(30)), Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 10, Now: clock(),
		Observe: func(ev send.Event) { events = append(events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	send.SetFirstSeq(l, frame.MaxSeq)
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if len(events) != 3 || events[0].Seq != frame.MaxSeq || events[1].Seq != 0 || events[2].Seq != 1 {
		t.Fatalf("got events %+v, want seq MaxSeq, 0, 1", events)
	}
	for _, d := range c.sent {
		parts := strings.Split(string(d), ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		f, err := frame.Parse(payload)
		if err != nil {
			t.Fatalf("frame %s: %v", payload, err)
		}
		frames = append(frames, f)
	}
	if !(frames[1].Epoch > frames[0].Epoch && frames[2].Epoch == frames[1].Epoch) {
		t.Errorf("got epochs %d, %d, %d, want the second later than the first, the third the same", frames[0].Epoch, frames[1].Epoch, frames[2].Epoch)
	}
}

// TestCancel checks that a cancelled context ends the run while a read
// blocks, with no error.
func TestCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	l, err := send.New(send.Config{Input: r, Conn: new(conn), Framer: send.Raw{}, Size: 16, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	if _, err := w.Write(input(16)); err != nil { // read, so Run runs
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

func TestNewErrors(t *testing.T) {
	good := send.Config{Input: bytes.NewReader(nil), Conn: new(conn), Framer: send.Raw{}, Size: 16}
	for _, tt := range []struct {
		name string
		edit func(*send.Config)
	}{
		{"no input", func(c *send.Config) { c.Input = nil }},
		{"no conn", func(c *send.Config) { c.Conn = nil }},
		{"no framer", func(c *send.Config) { c.Framer = nil }},
		{"size 0", func(c *send.Config) { c.Size = 0 }},
		{"negative rate", func(c *send.Config) { c.Rate = -1 }},
	} {
		cfg := good
		tt.edit(&cfg)
		if _, err := send.New(cfg); err == nil {
			t.Errorf("%s: New: got nil error, want one", tt.name)
		}
	}
	if _, err := send.New(good); err != nil {
		t.Errorf("good config: New: got %v, want nil", err)
	}
}

// zeros is an endless input.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type discard struct{}

func (discard) Send([]byte) error { return nil }

// BenchmarkSigned measures the per-frame path of send: read ahead,
// number, frame, sign and hand over 1024 bytes, without a socket.
func BenchmarkLoop(b *testing.B) {
	for _, bc := range []struct {
		name   string
		framer send.Framer
	}{{"signed", send.NewSigned(signer(b))}, {"v1", send.V1{}}, {"raw", send.Raw{}}} {
		b.Run(bc.name, func(b *testing.B) {
			const size = 1024
			l, err := send.New(send.Config{Input: zeros{}, Conn: discard{}, Framer: bc.framer, Source: "bench.example.org", Size: size, Count: uint64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(size)
			b.ResetTimer()
			if err := l.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
