package control_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/control"
)

// TestWriteText checks the text of ssmrandom status: the daemon's line,
// its problems, a block per producer, the output's and the sender's.
func TestWriteText(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	age, drained, pending, credited := 0.25, uint64(4096), uint64(1), uint64(8)
	st := control.Status{
		Daemon: "recv", PID: 42, Version: "v1.2.3", Started: start,
		Problems: []string{"silence: no verified frame from any producer for 2s"},
		Producers: []control.Producer{
			{KeyID: "kid-a", Trusted: true, LastFrameAge: &age, Forwarded: 1, Bytes: 2, Dropped: map[string]uint64{"replay": 1, "output_full": 2}},
			{KeyID: "kid-b", Unhealthy: true},
		},
		Dropped:   map[string]uint64{"unknown_kid": 3},
		Transport: &control.Transport{Kind: "native", KernelDrops: 12, ReadBuffer: 8388608},
		Sink:      &control.Sink{Output: `fifo "rnd-pipe"`, Bytes: 1, TotalBytes: 9, Drained: &drained, Pending: &pending, Credited: &credited},
		Send:      &control.Send{KeyID: "kid-a", Frames: 1, Bytes: 256, TotalFrames: 2, TotalBytes: 512, TotalSendErrors: 1},
	}
	var b bytes.Buffer
	if err := st.WriteText(&b, start.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := `recv: DEGRADED (pid 42, version v1.2.3, up 1m30s)
  problem: silence: no verified frame from any producer for 2s
  counts: no interval ended yet
  transport: native, receive buffer 8388608 bytes, 12 kernel drops

producer kid-a
  last frame: 250ms ago
  forwarded: 1 frame, 2 bytes
  dropped: output_full 2, replay 1

producer kid-b (no longer trusted) (UNHEALTHY)
  last frame: never
  forwarded: 0 frames, 0 bytes

dropped: unknown_kid 3

output fifo "rnd-pipe"
  written: 1 byte (9 in all)
  drained by its reader: 4096 bytes in all, 1 waiting
  credited to the kernel: 8 bits in all

key kid-a
  sent: 1 frame, 256 bytes, 0 send errors
  in all: 2 frames, 512 bytes, 1 send error
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
