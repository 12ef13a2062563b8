package receive_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/receive"
)

// TestRunBatches runs the loop over batch reads: every datagram of every
// batch is checked in order, the buffers are the size limit plus one byte
// long, and a datagram over the limit that fills its buffer is dropped as
// too big, not cut into a frame that passes.
func TestRunBatches(t *testing.T) {
	k := newKeys(t)
	var out bytes.Buffer
	p := newPipeline(t, k, &out, maxDatagram, &clock{ms: now})
	long := signFrame(t, k.trusted, mkframe(3, now, strings.Repeat("x", maxDatagram)))
	in := [][][]byte{
		{signFrame(t, k.trusted, mkframe(1, now, "one")), long},
		{signFrame(t, k.stranger, mkframe(1, now, "forged")), signFrame(t, k.trusted, mkframe(2, now, "two")), signFrame(t, k.trusted, mkframe(4, now, "four"))},
	}
	end := errors.New("no more datagrams")
	var observed []receive.Reason
	var sizes []int
	err := receive.Run(context.Background(), p, receive.Loop[int]{
		ReadBatch: func(bufs [][]byte, ns []int, tags []int) (int, error) {
			if len(in) == 0 {
				return 0, end
			}
			for _, b := range bufs {
				sizes = append(sizes, len(b))
			}
			for i, d := range in[0] {
				j := i
				if i == 0 { // the first goes into the last buffer, which then moves to the front, as ReadBatch may do
					j = len(bufs) - 1
				}
				ns[i], tags[i] = copy(bufs[j], d), i
				bufs[i], bufs[j] = bufs[j], bufs[i]
			}
			n := len(in[0])
			in = in[1:]
			return n, nil
		},
		Batch:   3,
		Stop:    func() {},
		BufSize: 65535,
		Observe: func(_ []byte, _ int, v receive.Verdict) { observed = append(observed, v.Reason) },
		Options: receive.Options{Workers: 2},
	})
	if !errors.Is(err, end) {
		t.Fatalf("Run: got %v, want the read error", err)
	}
	if len(sizes) != 6 {
		t.Fatalf("buffers: got %d in 2 batches, want 6", len(sizes))
	}
	for _, n := range sizes {
		if n != maxDatagram+1 {
			t.Fatalf("buffer sizes: got %v, want %d each", sizes, maxDatagram+1)
		}
	}
	if out.String() != "onetwofour" {
		t.Errorf("output: got %q, want %q", out.String(), "onetwofour")
	}
	if len(observed) != 2 || observed[0] != receive.TooBig || observed[1] != receive.UnknownKey {
		t.Errorf("drops: got %v, want [too_big unknown_key]", observed)
	}
}
