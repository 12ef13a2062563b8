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
	"github.com/nordunet/ssmrandom/internal/report"
)

// TestDroppedHealthFailures checks that a producer's health is logged
// when it changes, not per frame (issue 14, item 3): an error when it
// turns unhealthy, an info line when it recovers, nothing for the failures
// and the frames refused on probation in between.
func TestDroppedHealthFailures(t *testing.T) {
	var logs bytes.Buffer
	r := &recvLoop{log: zerolog.New(&logs).Level(zerolog.InfoLevel), r: report.NewRecv(0, false)}
	src := netip.MustParseAddr("192.0.2.1")
	failure := errors.New("health: repetition count test failed")
	for _, v := range []receive.Verdict{
		{Reason: receive.Unhealthy, KeyID: "a", Err: failure, Health: receive.BecameUnhealthy},
		{Reason: receive.Unhealthy, KeyID: "a", Err: health.ErrFailed},
		{Reason: receive.Unhealthy, KeyID: "b", Err: failure, Health: receive.BecameUnhealthy},
		{Reason: receive.Unhealthy, KeyID: "a", Err: failure},
		{Reason: receive.Unhealthy, KeyID: "a", Err: failure},
		{Reason: receive.None, KeyID: "a", Health: receive.Recovered},
	} {
		r.dropped(nil, src, v)
	}
	out := logs.String()
	if got := strings.Count(out, "producer unhealthy"); got != 2 {
		t.Errorf("got %d unhealthy lines, want 2 (one per producer):\n%s", got, out)
	}
	if got := strings.Count(out, "producer healthy again"); got != 1 {
		t.Errorf("got %d recovery lines, want 1:\n%s", got, out)
	}
	if got := strings.Count(out, "\n"); got != 3 {
		t.Errorf("got %d lines, want 3:\n%s", got, out)
	}
	if strings.Contains(out, `"why":"health: `) {
		t.Errorf("a package prefix in a log line:\n%s", out)
	}
}
