package main

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// TestDroppedHealthFailures: every new health-test failure is logged at
// error level, not only the first of the run; frames refused on probation
// after one are not.
func TestDroppedHealthFailures(t *testing.T) {
	var logs bytes.Buffer
	r := &recvLoop{log: zerolog.New(&logs).Level(zerolog.InfoLevel), warned: map[receive.Reason]bool{}}
	src := netip.MustParseAddr("192.0.2.1")
	failure := errors.New("health: repetition count test failed")
	for _, v := range []receive.Verdict{
		{Reason: receive.Unhealthy, KeyID: "a", Err: failure},
		{Reason: receive.Unhealthy, KeyID: "a", Err: health.ErrFailed},
		{Reason: receive.Unhealthy, KeyID: "b", Err: failure},
		{Reason: receive.Unhealthy, KeyID: "a", Err: failure},
	} {
		r.dropped(nil, src, v)
	}
	if got := strings.Count(logs.String(), "failed a health test"); got != 3 {
		t.Errorf("got %d health-failure lines, want 3 (one per new failure):\n%s", got, logs.String())
	}
}
