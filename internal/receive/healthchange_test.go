package receive_test

import (
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// TestHealthChange checks that a producer whose source is stuck gives one
// BecameUnhealthy verdict however many frames it sends, and one Recovered
// when its bytes are good again (issue 14, item 3: what is logged is
// bounded by the changes, not the frames), while the failures are
// counted in its ProducerStats.
func TestHealthChange(t *testing.T) {
	k := newKeys(t)
	var out output
	mk, err := receive.HealthMonitors(health.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := receive.New(receive.Config{Trust: k.ring, Output: &out, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now, Health: mk})
	if err != nil {
		t.Fatal(err)
	}
	const stuck, good = 160, 12
	changes := map[receive.HealthChange]int{}
	var observed int
	q := receive.NewParallel(p, receive.Options{Workers: 2}, func(_ []byte, _ int, v receive.Verdict) {
		observed++
		changes[v.Health]++
	})
	seq := uint64(0)
	for range stuck {
		if err := q.Submit(signFrame(t, k.trusted, mkframe(seq, now, strings.Repeat("\x00", 256))), 0); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	for i := range good {
		if err := q.Submit(signFrame(t, k.trusted, mkframe(seq, now, string(seedData(i, 256)))), 0); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if changes[receive.BecameUnhealthy] != 1 || changes[receive.Recovered] != 1 {
		t.Errorf("health changes: got %d BecameUnhealthy, %d Recovered; want 1 and 1", changes[receive.BecameUnhealthy], changes[receive.Recovered])
	}
	for _, ps := range p.Producers() {
		if ps.KeyID == k.trusted.KeyID() && (ps.Unhealthy || ps.HealthFailures != stuck) {
			t.Errorf("Producers: got %+v, want a healthy producer with %d health failures", ps, stuck)
		}
	}
	// Every stuck frame and the good ones on probation are observed; the
	// one that recovers is forwarded and observed for its change.
	if st := p.Stats(); uint64(observed) != st.Dropped[receive.Unhealthy]+1 {
		t.Errorf("observed %d verdicts, want %d unhealthy + 1 recovered", observed, st.Dropped[receive.Unhealthy])
	}
}
