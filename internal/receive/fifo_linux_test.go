package receive_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sink"
)

// TestFIFOTooBig is issue 14's item 1: a frame of more than PIPE_BUF
// entropy bytes to a FIFO used to make Handle fail, and recv exit; one
// datagram every few seconds kept a receiver down. Now it is dropped and
// counted as output_too_big, and the frames after it are forwarded.
func TestFIFOTooBig(t *testing.T) {
	k := newKeys(t)
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	out, err := sink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const limit = 65507
	p, err := receive.New(receive.Config{Trust: k.ring, Output: out, MaxDatagram: limit, Now: (&clock{ms: now}).now})
	if err != nil {
		t.Fatal(err)
	}
	big := string(bytes.Repeat([]byte("B"), sink.PipeBuf+1))
	small := "small frame"
	for i, st := range []struct {
		data string
		want receive.Reason
	}{
		{big, receive.OutputTooBig},
		{small, receive.None},
		{big, receive.OutputTooBig},
	} {
		v, err := p.Handle(signFrame(t, k.trusted, mkframe(uint64(i), now, st.data)))
		if err != nil {
			t.Fatalf("frame %d: Handle: got error %v, want nil", i, err)
		}
		if v.Reason != st.want || (st.want != receive.None && !errors.Is(v.Err, sink.ErrTooBig)) {
			t.Errorf("frame %d: got %v (%v), want %v", i, v.Reason, v.Err, st.want)
		}
	}
	if s := p.Stats(); s.Frames != 1 || s.Dropped[receive.OutputTooBig] != 2 || s.Rejected() != 2 {
		t.Errorf("Stats: %d forwarded, %d output_too_big, %d rejected; want 1, 2, 2", s.Frames, s.Dropped[receive.OutputTooBig], s.Rejected())
	}
	// What the FIFO holds is the small frame, whole, and nothing else.
	r, err := os.Open(path) // does not block: the sink holds a write end
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, 2*sink.PipeBuf)
	n, _ := io.ReadAtLeast(r, got, len(small))
	if string(got[:n]) != small {
		t.Errorf("FIFO holds %q, want %q", got[:n], small)
	}
}
