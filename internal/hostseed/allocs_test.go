package hostseed_test

import (
	"testing"

	"github.com/nordunet/ssmrandom/internal/hostseed"
)

// TestHandleAllocs pins what a flood costs a host in allocations: none
// for a seed datagram of other hosts, a frame, or a replayed copy of its
// own datagram.
func TestHandleAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	p := producer(t, 0)
	k := hostKey(t, 0)
	mine := round(t, p, members(t, k, hostKey(t, 1)), 0, 0, vecNow)[0]
	others := round(t, p, members(t, hostKey(t, 1), hostKey(t, 2)), 0, 1, vecNow)[0]
	tk, _ := newTaker(t, keyring(t, p), k, 1)
	if v := tk.Handle(mine); v.Reason != hostseed.Taken {
		t.Fatalf("got %s, want taken", v.Reason)
	}
	for _, c := range []struct {
		name string
		dg   []byte
		want hostseed.Reason
	}{
		{"other hosts", others, hostseed.OtherHost},
		{"frame", []byte(`eyJhbGciOiJFZERTQSJ9.eyJ2IjoiMi4wIn0.AA`), hostseed.NotSeed},
		{"replay", mine, hostseed.Replay},
	} {
		var v hostseed.Verdict
		got := testing.AllocsPerRun(100, func() { v = tk.Handle(c.dg) })
		if v.Reason != c.want {
			t.Fatalf("%s: got %s, want %s", c.name, v.Reason, c.want)
		}
		if got != 0 {
			t.Errorf("%s: got %v allocations, want 0", c.name, got)
		}
	}
}
