package send_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// batchConn is a send.BatchConn that records the datagrams sent and the
// size of each batch asked for. It sends at most most of a batch at once
// (0: all, if none fails), and the i-th datagram (from 0, over the run)
// fails if fail says so.
type batchConn struct {
	mu      sync.Mutex
	sent    [][]byte
	batches []int
	most    int
	fail    func(i int) bool
	n       int
}

var errUnreachable = errors.New("network is unreachable")

func (c *batchConn) Send(b []byte) error {
	_, err := c.write([][]byte{b}, false)
	return err
}

func (c *batchConn) WriteBatch(ds [][]byte) (int, error) { return c.write(ds, true) }

func (c *batchConn) write(ds [][]byte, batch bool) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if batch {
		c.batches = append(c.batches, len(ds))
	}
	if c.most > 0 && len(ds) > c.most {
		ds = ds[:c.most]
	}
	for i, d := range ds {
		c.n++
		if c.fail != nil && c.fail(c.n-1) {
			return i, errUnreachable
		}
		c.sent = append(c.sent, bytes.Clone(d))
	}
	return len(ds), nil
}

func (c *batchConn) all() ([][]byte, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent, c.batches
}

// TestWorkersStream checks that with any number of workers, to a plain
// conn or in batches (some cut short by the conn), every byte of the input
// goes out once and in order, in signed frames numbered 0, 1, 2, ... in
// the order sent, the last frame short.
func TestWorkersStream(t *testing.T) {
	s := signer(t)
	in := make([]byte, 200_003)
	_, _ = rand.NewChaCha8([32]byte{5}).Read(in)
	const size = 300
	const jobFrames = 64 // send's most frames in a job: a chunk read holds 218
	for _, workers := range []int{1, 2, 3, 8} {
		for _, bc := range []struct {
			name string
			conn func() send.Conn
		}{
			{"plain", func() send.Conn { return new(lockedConn) }},
			{"batch", func() send.Conn { return new(batchConn) }},
			{"short batches", func() send.Conn { return &batchConn{most: 5} }},
		} {
			t.Run(fmt.Sprintf("%d workers/%s", workers, bc.name), func(t *testing.T) {
				conn := bc.conn()
				l, err := send.New(send.Config{Input: bytes.NewReader(in), Conn: conn, Framer: send.NewSigned(s), Source: "a.example.org",
					Size: size, Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Run(context.Background()); err != nil {
					t.Fatalf("Run: got %v, want nil", err)
				}
				var sent [][]byte
				switch c := conn.(type) {
				case *lockedConn:
					sent = c.all()
				case *batchConn:
					var batches []int
					sent, batches = c.all()
					if len(batches) == 0 || slices.Max(batches) < jobFrames {
						t.Errorf("got batches of %v datagrams, want some of %d (a whole job)", batches, jobFrames)
					}
				}
				want := (len(in) + size - 1) / size
				if len(sent) != want {
					t.Fatalf("got %d datagrams, want %d", len(sent), want)
				}
				var got []byte
				for i, d := range parseFrames(t, s, sent) {
					if d.Seq != uint64(i) {
						t.Fatalf("datagram %d: got sequence number %d, want %d", i, d.Seq, i)
					}
					got = append(got, d.Data...)
				}
				if !bytes.Equal(got, in) {
					t.Errorf("got %d bytes of data that are not the input's %d in order", len(got), len(in))
				}
				if st := l.Stats(); st.Frames != uint64(want) || st.Bytes != uint64(len(in)) {
					t.Errorf("got stats %+v, want %d frames of %d bytes", st, want, len(in))
				}
			})
		}
	}
}

// TestWorkersSeeds checks that with several workers and seed rounds
// besides, frames and seed datagrams share one sequence (each number
// once, docs/protocol.md §9.2), the frames are sent in the order of their
// numbers, and the frames' data are the input's bytes in order, each
// once, but for those the seed rounds took.
func TestWorkersSeeds(t *testing.T) {
	s := signer(t)
	_, ms := hostKeys(t, 40, 6, sign.Validity{})
	in := make([]byte, 100_000)
	_, _ = rand.NewChaCha8([32]byte{6}).Read(in)
	c := new(batchConn)
	// Paced (0.25 s in all) and read 4 KiB at a time, so that the reader
	// does not take the whole input ahead of the round at the start, which
	// takes its own bytes and which the end of the input cancels.
	l, err := send.New(send.Config{Input: &trickle{r: bytes.NewReader(in), n: 4096}, Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 200, Workers: 3, Rate: 400_000,
		Seeds: &send.Seeds{Signer: s, Members: members(t, ms...), Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	sent, _ := c.all()
	ds := parse(t, s, sent)
	checkOrder(t, ds)
	var frames [][]byte
	for _, d := range sent {
		if !bytes.Contains(d, []byte(".SEED")) {
			frames = append(frames, d)
		}
	}
	st := l.Stats()
	if st.SeedDatagrams == 0 || st.Frames != uint64(len(frames)) {
		t.Fatalf("got stats %+v and %d frames sent, want seed datagrams and every frame counted", st, len(frames))
	}
	// The seed rounds read the input between the frames' reads, so a frame
	// may span the bytes a round took: the frames' bytes, in order, must be
	// the input with only the rounds' bytes left out (at most
	// seal.EntropyPerRound a batch, and one batch here), each once.
	var data []byte
	last := -1
	for i, f := range parseFrames(t, s, frames) {
		if int(f.Seq) <= last {
			t.Fatalf("frame %d: sequence number %d sent after %d", i, f.Seq, last)
		}
		last = int(f.Seq)
		data = append(data, f.Data...)
	}
	skipped, i := 0, 0
	for j := 0; j < len(data); i++ {
		if i == len(in) {
			t.Fatalf("the frames carry %d bytes past the input's end (at frame byte %d)", len(data)-j, j)
		}
		if in[i] == data[j] {
			j++
		} else {
			skipped++
		}
	}
	if skipped+len(in)-i > seal.EntropyPerRound {
		t.Errorf("the frames leave out %d of the input's bytes; want only the seed round's %d", skipped+len(in)-i, seal.EntropyPerRound)
	}
}

// TestWorkersCount checks that --count is exact with several workers and
// batches in which sends fail: the frames lost are made up for, with new
// numbers, and no more than the count are sent.
func TestWorkersCount(t *testing.T) {
	s := signer(t)
	c := &batchConn{fail: func(i int) bool { return i%7 == 3 }}
	var events []send.Event
	l, err := send.New(send.Config{Input: new(endless), Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 100, Count: 150, Workers: 3,
		Observe: func(ev send.Event) { events = append(events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	sent, _ := c.all()
	st := l.Stats()
	if len(sent) != 150 || st.Frames != 150 || st.SendErrors == 0 || len(events) != int(st.Frames+st.SendErrors) {
		t.Fatalf("got %d sent, stats %+v, %d events; want 150 sent and counted, errors counted, an event each", len(sent), st, len(events))
	}
	for i, ev := range events {
		if ev.Seq != uint64(i) || (ev.Err != nil) != (i%7 == 3) {
			t.Errorf("event %d: got %+v, want seq %d, an error only if %d %% 7 == 3", i, ev, i, i)
		}
	}
}

// TestPacedBatches checks that pacing stays frame by frame: at a rate of
// 100 frames a second (a burst of 2), no batch holds more than the burst
// and the frame that waited for it, whatever the job size.
func TestPacedBatches(t *testing.T) {
	const size = 64
	c := new(batchConn)
	l, err := send.New(send.Config{Input: new(endless), Conn: c, Framer: send.Raw{}, Size: size, Rate: 100 * size, Count: 20, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	sent, batches := c.all()
	if len(sent) != 20 {
		t.Errorf("got %d datagrams, want 20", len(sent))
	}
	for i, n := range batches {
		if n > 3 {
			t.Errorf("batch %d: got %d datagrams, want at most 3", i, n)
		}
	}
}

// TestWorkersConfig checks the errors of New for bad worker counts.
func TestWorkersConfig(t *testing.T) {
	for _, n := range []int{-1, send.MaxWorkers + 1} {
		if _, err := send.New(send.Config{Input: new(endless), Conn: discard{}, Framer: send.Raw{}, Size: 1, Workers: n}); err == nil {
			t.Errorf("%d workers: got nil, want an error", n)
		}
	}
}

// parseFrames verifies every frame of sent with s's public key and
// parses it.
func parseFrames(t *testing.T, s *sign.Signer, sent [][]byte) []frame.Frame {
	t.Helper()
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]frame.Frame, len(sent))
	for i, d := range sent {
		payload, _, err := ring.Verify(d)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if out[i], err = frame.Parse(payload); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	return out
}

// trickle reads at most n bytes at a time from r.
type trickle struct {
	r io.Reader
	n int
}

func (t *trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), t.n)]) }
