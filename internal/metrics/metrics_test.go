package metrics_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// t0 is the pipeline's clock in the tests: the instant of the last
// verified frame of the producers that sent one.
var t0 = time.Date(2025, 11, 24, 16, 0, 12, 345_000_000, time.UTC)

// Producer key ids of the tests. They are made up: the package only
// labels with them.
const (
	kidA       = "kidA-sends"         // trusted, sent frames, validity bounded on both ends
	kidB       = "kidB-silent"        // trusted, never sent a verified frame
	kidRetired = "kidR-removed"       // sent frames, then removed from the keyring
	kidForged  = "kidX-never-trusted" // only ever named by an attacker
)

// testSource returns the snapshots of a pipeline that has handled some
// datagrams from three producer keys.
func testSource() metrics.Source {
	var s receive.Stats
	s.Datagrams = 100
	s.Unsigned = 6
	s.Member = receive.MemberStats{Keys: 3, Tagged: 2}
	s.Frames, s.Bytes = 70, 70*512
	s.Dropped[receive.BadSignature] = 3
	s.Dropped[receive.UnknownKey] = 20
	s.Dropped[receive.OutputFull] = 5
	s.Dropped[receive.Unhealthy] = 2
	producers := []receive.ProducerStats{
		{KeyID: kidA, File: "/etc/ssmrandom/trust/a.jwk", Trusted: true,
			Valid:  sign.Validity{NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			Frames: 60, Forwarded: 55, Bytes: 55 * 512, LastFrame: t0},
		{KeyID: kidB, File: "/etc/ssmrandom/trust/b.jwk", Trusted: true},
		{KeyID: kidRetired, Frames: 22, Forwarded: 15, Bytes: 15 * 512, LastFrame: t0.Add(-time.Hour)},
	}
	return metrics.Source{
		Stats:     func() receive.Stats { return s },
		Producers: func() []receive.ProducerStats { return slices.Clone(producers) },
		Foreign:   func() uint64 { return 4 },
	}
}

// newRecv returns receiver metrics reading testSource, whose clock is
// 7.5 s after t0.
func newRecv() *metrics.Recv {
	m := metrics.NewRecv(metrics.RecvConfig{Version: "v1.2.3", Now: func() time.Time { return t0.Add(7500 * time.Millisecond) }})
	m.SetSource(testSource())
	return m
}

// serve serves g on a loopback port chosen by the system until the test
// ends, and returns the server's base URL.
func serve(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	srv, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: got error %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, g) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: got error %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve: still running 10 s after its context was cancelled")
		}
	})
	return "http://" + srv.Addr().String()
}

var client = &http.Client{Timeout: 10 * time.Second}

// get fetches url and returns the response's status, Content-Type and
// body.
func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: got error %v, want nil", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: got error %v, want nil", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// families is a parsed scrape.
type families map[string]*dto.MetricFamily

// scrape GETs base/metrics over HTTP and parses the text format.
func scrape(t *testing.T, base string) families {
	t.Helper()
	status, ctype, body := get(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: got status %d, want 200; body:\n%s", status, body)
	}
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /metrics: got Content-Type %q, want text/plain", ctype)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: got error %v, want nil; body:\n%s", err, body)
	}
	return mfs
}

// labels returns m's labels as a map.
func labels(m *dto.Metric) map[string]string {
	l := make(map[string]string)
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// find returns the metric of family name whose labels include the
// name=value pairs given, and fails the test if there is not exactly one.
func (f families) find(t *testing.T, name string, pairs ...string) *dto.Metric {
	t.Helper()
	mf, ok := f[name]
	if !ok {
		t.Fatalf("%s: got no such family, want one", name)
	}
	var found []*dto.Metric
	for _, m := range mf.GetMetric() {
		l := labels(m)
		match := true
		for i := 0; i+1 < len(pairs); i += 2 {
			if l[pairs[i]] != pairs[i+1] {
				match = false
			}
		}
		if match {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: got %d series, want 1", name, pairs, len(found))
	}
	return found[0]
}

// value returns the value of a counter or gauge, and checks its type.
func (f families) value(t *testing.T, typ dto.MetricType, name string, pairs ...string) float64 {
	t.Helper()
	m := f.find(t, name, pairs...)
	if got := f[name].GetType(); got != typ {
		t.Fatalf("%s: got type %v, want %v", name, got, typ)
	}
	if typ == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// has reports whether family name has a series whose labels include the
// pairs given.
func (f families) has(name string, pairs ...string) bool {
	for _, m := range f[name].GetMetric() {
		l := labels(m)
		match := true
		for i := 0; i+1 < len(pairs); i += 2 {
			if l[pairs[i]] != pairs[i+1] {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

const (
	counter = dto.MetricType_COUNTER
	gauge   = dto.MetricType_GAUGE
)

func TestRecvScrape(t *testing.T) {
	f := scrape(t, serve(t, newRecv()))
	want := func(typ dto.MetricType, v float64, name string, pairs ...string) {
		t.Helper()
		if got := f.value(t, typ, name, pairs...); got != v {
			t.Errorf("%s%v: got %v, want %v", name, pairs, got, v)
		}
	}
	want(counter, 100, "ssmrandom_recv_datagrams_total")
	want(counter, 6, "ssmrandom_recv_unsigned_frames_total")
	want(counter, 3, "ssmrandom_recv_member_total", "kind", "keys")
	want(counter, 2, "ssmrandom_recv_member_total", "kind", "tagged")
	want(counter, 0, "ssmrandom_recv_member_total", "kind", "key_drops")
	want(counter, 3, "ssmrandom_recv_dropped_total", "reason", "bad_signature")
	want(counter, 20, "ssmrandom_recv_dropped_total", "reason", "unknown_key")
	want(counter, 4, "ssmrandom_recv_foreign_source_datagrams_total")
	want(counter, 60, "ssmrandom_recv_frames_total", "kid", kidA)
	want(counter, 55, "ssmrandom_recv_forwarded_frames_total", "kid", kidA)
	want(counter, 55*512, "ssmrandom_recv_forwarded_bytes_total", "kid", kidA)
	want(counter, 0, "ssmrandom_recv_frames_total", "kid", kidB)
	want(counter, 22, "ssmrandom_recv_frames_total", "kid", kidRetired)
	want(counter, 15*512, "ssmrandom_recv_forwarded_bytes_total", "kid", kidRetired)
	want(gauge, float64(t0.UnixNano())/1e9, "ssmrandom_recv_last_frame_timestamp_seconds", "kid", kidA)
	want(gauge, 7.5, "ssmrandom_recv_last_frame_age_seconds", "kid", kidA)
	want(gauge, 2, "ssmrandom_recv_trusted_keys")
	want(counter, 5, "ssmrandom_recv_sink_errors_total", "kind", "full")
	want(counter, 0, "ssmrandom_recv_sink_errors_total", "kind", "error")
	want(counter, 0, "ssmrandom_recv_health_failures_total", "kid", kidA)
	want(counter, 0, "ssmrandom_recv_fips_block_failures_total", "kid", kidA)
	want(counter, 0, "ssmrandom_recv_trust_reloads_total", "result", "ok")
	want(counter, 0, "ssmrandom_recv_trust_reloads_total", "result", "error")
	want(gauge, 0, "ssmrandom_recv_trust_skipped_files")
	want(gauge, 1, "ssmrandom_build_info", "version", "v1.2.3", "goversion", runtime.Version())
	want(gauge, 1, "ssmrandom_recv_key_info", "kid", kidA, "file", "/etc/ssmrandom/trust/a.jwk",
		"not_before", "2025-01-01T00:00:00Z", "not_after", "2026-01-01T00:00:00Z", "trusted", "true")
	want(gauge, 1, "ssmrandom_recv_key_info", "kid", kidB, "file", "/etc/ssmrandom/trust/b.jwk",
		"not_before", "", "not_after", "", "trusted", "true")
	want(gauge, 1, "ssmrandom_recv_key_info", "kid", kidRetired, "file", "", "trusted", "false")

	// Before its first verified frame a key has no last-frame time or
	// age; a key no longer trusted has a time but no age (it is not
	// expected to send).
	for _, c := range []struct{ name, kid string }{
		{"ssmrandom_recv_last_frame_timestamp_seconds", kidB},
		{"ssmrandom_recv_last_frame_age_seconds", kidB},
		{"ssmrandom_recv_last_frame_age_seconds", kidRetired},
	} {
		if f.has(c.name, "kid", c.kid) {
			t.Errorf("%s{kid=%q}: got a series, want none", c.name, c.kid)
		}
	}
	if !f.has("ssmrandom_recv_last_frame_timestamp_seconds", "kid", kidRetired) {
		t.Errorf("ssmrandom_recv_last_frame_timestamp_seconds{kid=%q}: got no series, want one", kidRetired)
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Errorf("go_goroutines: got no such family, want the Go collector's")
	}
	if runtime.GOOS == "linux" {
		if _, ok := f["process_resident_memory_bytes"]; !ok {
			t.Errorf("process_resident_memory_bytes: got no such family, want the process collector's")
		}
	}
}

// TestDroppedEveryReason checks that every reason is there, at 0 where
// nothing was dropped for it, before any datagram and before the pipeline
// exists.
func TestDroppedEveryReason(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *metrics.Recv
	}{
		{"no source", metrics.NewRecv(metrics.RecvConfig{})},
		{"some drops", newRecv()},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := scrape(t, serve(t, c.m))
			if got, want := len(f["ssmrandom_recv_dropped_total"].GetMetric()), len(receive.Reasons()); got != want {
				t.Errorf("ssmrandom_recv_dropped_total: got %d series, want %d, one per reason", got, want)
			}
			for _, r := range receive.Reasons() {
				f.find(t, "ssmrandom_recv_dropped_total", "reason", r.String())
			}
			if got := f.value(t, counter, "ssmrandom_recv_dropped_total", "reason", receive.Replay.String()); got != 0 {
				t.Errorf("ssmrandom_recv_dropped_total{reason=\"replay\"}: got %v, want 0", got)
			}
			if c.name == "no source" {
				for _, name := range []string{"ssmrandom_recv_frames_total", "ssmrandom_recv_key_info", "ssmrandom_recv_foreign_source_datagrams_total"} {
					if _, ok := f[name]; ok {
						t.Errorf("%s: got a family before SetSource, want none", name)
					}
				}
			}
		})
	}
}

// TestKidLabels checks that kid label values are the producers' key ids
// and nothing else, even when a health failure is reported for another.
func TestKidLabels(t *testing.T) {
	m := newRecv()
	m.HealthFailure(kidA)
	m.HealthFailure(kidA)
	m.HealthFailure(kidForged)
	m.BlockFailure(kidA)
	m.BlockFailure(kidForged)
	f := scrape(t, serve(t, m))
	if got := f.value(t, counter, "ssmrandom_recv_health_failures_total", "kid", kidA); got != 2 {
		t.Errorf("ssmrandom_recv_health_failures_total{kid=%q}: got %v, want 2", kidA, got)
	}
	if got := f.value(t, counter, "ssmrandom_recv_fips_block_failures_total", "kid", kidA); got != 1 {
		t.Errorf("ssmrandom_recv_fips_block_failures_total{kid=%q}: got %v, want 1", kidA, got)
	}
	want := []string{kidA, kidB, kidRetired}
	for name, mf := range f {
		var kids []string
		for _, m := range mf.GetMetric() {
			if kid, ok := labels(m)["kid"]; ok {
				kids = append(kids, kid)
			}
		}
		for _, kid := range kids {
			if !slices.Contains(want, kid) {
				t.Errorf("%s: got a series with kid %q, want only %v", name, kid, want)
			}
		}
	}
	for _, name := range []string{"ssmrandom_recv_frames_total", "ssmrandom_recv_forwarded_frames_total",
		"ssmrandom_recv_forwarded_bytes_total", "ssmrandom_recv_health_failures_total", "ssmrandom_recv_fips_block_failures_total",
		"ssmrandom_recv_key_info"} {
		for _, kid := range want {
			f.find(t, name, "kid", kid)
		}
	}
}

// TestEvents checks the metrics the caller reports as they happen.
func TestEvents(t *testing.T) {
	m := newRecv()
	m.SinkError()
	m.TrustReloaded(2, nil)
	m.TrustReloaded(0, errors.New("sign: trust: no such file"))
	m.TrustReloaded(3, nil)
	m.TrustReloaded(9, errors.New("sign: trust: permission denied")) // leaves the gauge at 3
	for _, d := range []time.Duration{20 * time.Microsecond, 20 * time.Microsecond, 60 * time.Microsecond, time.Second} {
		m.ObserveVerify(d)
	}
	f := scrape(t, serve(t, m))
	for _, c := range []struct {
		typ   dto.MetricType
		name  string
		pairs []string
		want  float64
	}{
		{counter, "ssmrandom_recv_sink_errors_total", []string{"kind", "error"}, 1},
		{counter, "ssmrandom_recv_sink_errors_total", []string{"kind", "full"}, 5},
		{counter, "ssmrandom_recv_trust_reloads_total", []string{"result", "ok"}, 2},
		{counter, "ssmrandom_recv_trust_reloads_total", []string{"result", "error"}, 2},
		{gauge, "ssmrandom_recv_trust_skipped_files", nil, 3},
	} {
		if got := f.value(t, c.typ, c.name, c.pairs...); got != c.want {
			t.Errorf("%s%v: got %v, want %v", c.name, c.pairs, got, c.want)
		}
	}

	mf := f["ssmrandom_recv_verify_duration_seconds"]
	if got := mf.GetType(); got != dto.MetricType_HISTOGRAM {
		t.Fatalf("ssmrandom_recv_verify_duration_seconds: got type %v, want histogram", got)
	}
	h := mf.GetMetric()[0].GetHistogram()
	if got := h.GetSampleCount(); got != 4 {
		t.Errorf("verify histogram: got %d observations, want 4", got)
	}
	if got, want := h.GetSampleSum(), 1.0001; math.Abs(got-want) > 1e-9 {
		t.Errorf("verify histogram: got sum %v, want %v", got, want)
	}
	// The text format has a bucket for +Inf, which the parser keeps.
	if got := len(h.GetBucket()); got < 8 || got > 20 {
		t.Errorf("verify histogram: got %d buckets, want 8 to 20", got)
	}
	// Ed25519 verification takes 5 µs to 5 ms: the buckets must tell
	// those apart.
	if lo, hi := h.GetBucket()[0].GetUpperBound(), h.GetBucket()[len(h.GetBucket())-2].GetUpperBound(); lo > 5e-6 || hi < 5e-3 {
		t.Errorf("verify histogram: got buckets from %g to %g s, want 5 µs to 5 ms covered", lo, hi)
	}
	for _, b := range h.GetBucket() {
		var want uint64 // observations at or under the bound
		switch ub := b.GetUpperBound(); {
		case math.IsInf(ub, 1):
			want = 4
		case ub >= 60e-6:
			want = 3
		case ub >= 20e-6:
			want = 2
		}
		if got := b.GetCumulativeCount(); got != want {
			t.Errorf("verify histogram: bucket le=%g: got %d, want %d", b.GetUpperBound(), got, want)
		}
	}
}

// TestPipeline wires a real receive pipeline, as recv does, and checks
// that the metrics follow it: ObserveVerify as its verify hook, its
// snapshots as the source.
func TestPipeline(t *testing.T) {
	key := func(seed byte) *sign.Signer {
		s, err := sign.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
		if err != nil {
			t.Fatalf("NewSigner: got error %v, want nil", err)
		}
		return s
	}
	trusted, stranger := key(1), key(2)
	ring, err := sign.NewKeyring(sign.Key{Public: trusted.Public(), File: "trust/producer.jwk"})
	if err != nil {
		t.Fatalf("NewKeyring: got error %v, want nil", err)
	}
	m := metrics.NewRecv(metrics.RecvConfig{Now: func() time.Time { return t0.Add(3 * time.Second) }})
	pipe, err := receive.New(receive.Config{
		Trust: ring, Output: io.Discard, MaxDatagram: 1472,
		Now: func() time.Time { return t0 }, ObserveVerify: m.ObserveVerify,
	})
	if err != nil {
		t.Fatalf("receive.New: got error %v, want nil", err)
	}
	m.SetSource(metrics.Source{Stats: pipe.Stats, Producers: pipe.Producers})
	datagram := func(s *sign.Signer, seq uint64) []byte {
		f := frame.Frame{Source: "producer.example.org", Epoch: uint64(t0.UnixMilli()) - 60_000, Seq: seq, Time: t0.UnixMilli(), Data: []byte("0123456789abcdef")}
		d, err := s.Sign(f.Append(nil))
		if err != nil {
			t.Fatalf("Sign: got error %v, want nil", err)
		}
		return d
	}
	good, forged := datagram(trusted, 1), datagram(trusted, 2)
	// A signature that does not verify: one base64url character changed.
	if i := len(forged) - 5; forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	for _, d := range [][]byte{good, forged, datagram(stranger, 1), good} {
		if _, err := pipe.Handle(d); err != nil {
			t.Fatalf("Handle: got error %v, want nil", err)
		}
	}

	f := scrape(t, serve(t, m))
	kid := trusted.KeyID()
	for _, c := range []struct {
		typ   dto.MetricType
		name  string
		pairs []string
		want  float64
	}{
		{counter, "ssmrandom_recv_datagrams_total", nil, 4},
		{counter, "ssmrandom_recv_dropped_total", []string{"reason", "bad_signature"}, 1},
		{counter, "ssmrandom_recv_dropped_total", []string{"reason", "unknown_key"}, 1},
		{counter, "ssmrandom_recv_dropped_total", []string{"reason", "replay"}, 1},
		{counter, "ssmrandom_recv_frames_total", []string{"kid", kid}, 1},
		{counter, "ssmrandom_recv_forwarded_frames_total", []string{"kid", kid}, 1},
		{counter, "ssmrandom_recv_forwarded_bytes_total", []string{"kid", kid}, 16},
		{gauge, "ssmrandom_recv_last_frame_age_seconds", []string{"kid", kid}, 3},
		{gauge, "ssmrandom_recv_trusted_keys", nil, 1},
		{gauge, "ssmrandom_recv_key_info", []string{"kid", kid, "file", "trust/producer.jwk", "trusted", "true"}, 1},
	} {
		if got := f.value(t, c.typ, c.name, c.pairs...); got != c.want {
			t.Errorf("%s%v: got %v, want %v", c.name, c.pairs, got, c.want)
		}
	}
	// The good frame and the forged one cost a verification; the
	// stranger's and the replay were dropped before.
	h := f["ssmrandom_recv_verify_duration_seconds"].GetMetric()[0].GetHistogram()
	if got := h.GetSampleCount(); got != 2 {
		t.Errorf("verify histogram: got %d observations, want 2", got)
	}
	if f.has("ssmrandom_recv_frames_total", "kid", stranger.KeyID()) {
		t.Errorf("ssmrandom_recv_frames_total: got a series for the stranger's kid, want none")
	}
}

func TestSendScrape(t *testing.T) {
	m := metrics.NewSend("v0.9")
	for range 3 {
		m.Sent(512)
	}
	m.Sent(100)
	m.SendError()
	m.ReadError()
	if got := scrape(t, serve(t, m)).value(t, gauge, "ssmrandom_send_input_healthy"); got != 1 {
		t.Errorf("ssmrandom_send_input_healthy before WatchInput: got %v, want 1", got)
	}
	m.WatchInput(func() metrics.InputHealth {
		return metrics.InputHealth{Failures: 2, Blocks: 3, Dropped: 5000, Unhealthy: true}
	})
	f := scrape(t, serve(t, m))
	if got := f.value(t, gauge, "ssmrandom_send_input_healthy"); got != 0 {
		t.Errorf("ssmrandom_send_input_healthy: got %v, want 0", got)
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"ssmrandom_send_frames_total", 4},
		{"ssmrandom_send_bytes_total", 3*512 + 100},
		{"ssmrandom_send_errors_total", 1},
		{"ssmrandom_send_read_errors_total", 1},
		{"ssmrandom_send_health_failures_total", 2},
		{"ssmrandom_send_fips_block_failures_total", 3},
		{"ssmrandom_send_health_dropped_bytes_total", 5000},
	} {
		if got := f.value(t, counter, c.name); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	if got := f.value(t, gauge, "ssmrandom_build_info", "version", "v0.9", "goversion", runtime.Version()); got != 1 {
		t.Errorf("ssmrandom_build_info: got %v, want 1", got)
	}
	for name := range f {
		if strings.HasPrefix(name, "ssmrandom_recv_") {
			t.Errorf("%s: got a receiver metric from the sender, want none", name)
		}
	}
}

// TestNil checks that the methods of nil metrics do nothing, as a caller
// with metrics off relies on.
func TestNil(t *testing.T) {
	var r *metrics.Recv
	r.SetSource(testSource())
	r.ObserveVerify(time.Millisecond)
	r.HealthFailure(kidA)
	r.SinkError()
	r.TrustReloaded(1, nil)
	if mfs, err := r.Gather(); len(mfs) != 0 || err != nil {
		t.Errorf("nil Recv: Gather got %d families and error %v, want none and nil", len(mfs), err)
	}
	var s *metrics.Send
	s.Sent(1)
	s.SendError()
	s.ReadError()
	s.WatchInput(func() metrics.InputHealth { return metrics.InputHealth{} })
	if mfs, err := s.Gather(); len(mfs) != 0 || err != nil {
		t.Errorf("nil Send: Gather got %d families and error %v, want none and nil", len(mfs), err)
	}
}

// nameRE is the form of every ssmrandom metric name.
var nameRE = regexp.MustCompile(`^ssmrandom_[a-z0-9_]+$`)

// TestNames checks Prometheus naming conventions on every family but the
// Go and process collectors' (go_, process_): the ssmrandom_ prefix,
// _total on counters and only on counters, a base unit suffix where there
// is a unit, HELP text, and that promlint finds no problem.
func TestNames(t *testing.T) {
	for _, g := range []struct {
		name string
		g    prometheus.Gatherer
	}{{"recv", newRecv()}, {"send", metrics.NewSend("")}} {
		t.Run(g.name, func(t *testing.T) {
			f := scrape(t, serve(t, g.g))
			var ours []string
			for name, mf := range f {
				if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
					continue
				}
				ours = append(ours, name)
				if !nameRE.MatchString(name) {
					t.Errorf("%s: want a name matching %s", name, nameRE)
				}
				if isCounter, total := mf.GetType() == dto.MetricType_COUNTER, strings.HasSuffix(name, "_total"); isCounter != total {
					t.Errorf("%s: got type %v; want counters, and only counters, to end in _total", name, mf.GetType())
				}
				for _, bad := range []string{"_ms", "_milliseconds", "_us", "_microseconds", "_kb", "_kilobytes", "_bits"} {
					if strings.Contains(name, bad+"_") || strings.HasSuffix(name, bad) {
						t.Errorf("%s: want base units (seconds, bytes), not %s", name, bad)
					}
				}
				if len(mf.GetHelp()) < 10 {
					t.Errorf("%s: got HELP %q, want a sentence", name, mf.GetHelp())
				}
			}
			if len(ours) < 4 {
				t.Errorf("got %d ssmrandom families, want more: %v", len(ours), ours)
			}
			problems, err := testutil.GatherAndLint(g.g, ours...)
			if err != nil {
				t.Fatalf("GatherAndLint: got error %v, want nil", err)
			}
			for _, p := range problems {
				t.Errorf("promlint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

// TestBadFileName checks that a key file name that is not UTF-8 does not
// fail the scrape.
func TestBadFileName(t *testing.T) {
	m := metrics.NewRecv(metrics.RecvConfig{})
	m.SetSource(metrics.Source{Producers: func() []receive.ProducerStats {
		return []receive.ProducerStats{{KeyID: kidA, File: "trust/\xff\xfe.jwk", Trusted: true}}
	}})
	f := scrape(t, serve(t, m))
	if got := f.value(t, gauge, "ssmrandom_recv_key_info", "kid", kidA, "file", "trust/\uFFFD.jwk"); got != 1 {
		t.Errorf("ssmrandom_recv_key_info: got %v, want 1", got)
	}
}

// TestConcurrent scrapes while events are reported and the source is
// replaced, for the race detector.
func TestConcurrent(t *testing.T) {
	m := newRecv()
	base := serve(t, m)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				m.ObserveVerify(time.Duration(n%100) * time.Microsecond)
				m.HealthFailure(fmt.Sprint("kid", n%3))
				m.SinkError()
				if n%100 == 0 {
					m.TrustReloaded(i, nil)
					m.SetSource(testSource())
				}
			}
		})
	}
	for range 5 {
		scrape(t, base)
	}
	close(stop)
	wg.Wait()
}

// BenchmarkScrape measures one scrape of a receiver with 4 producers: the
// Go and process collectors, the snapshot, and the text encoding.
func BenchmarkScrape(b *testing.B) {
	m := metrics.NewRecv(metrics.RecvConfig{})
	var s receive.Stats
	s.Datagrams, s.Frames = 1e9, 1e9
	producers := make([]receive.ProducerStats, 4)
	for i := range producers {
		producers[i] = receive.ProducerStats{
			KeyID: fmt.Sprintf("kid-%d-%s", i, strings.Repeat("x", 38)), File: fmt.Sprintf("/etc/ssmrandom/trust/p%d.jwk", i),
			Trusted: true, Frames: 1e6, Forwarded: 1e6, Bytes: 512e6, LastFrame: time.Now(),
		}
	}
	m.SetSource(metrics.Source{
		Stats:     func() receive.Stats { return s },
		Producers: func() []receive.ProducerStats { return slices.Clone(producers) },
		Foreign:   func() uint64 { return 0 },
	})
	for range 1000 {
		m.ObserveVerify(40 * time.Microsecond)
	}
	h := metrics.Handler(m)
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /metrics: got status %d, want 200", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// TestUnsignedHealthFailures: health failures of the original
// ssmrandom's unsigned frames (recv --allow-unsigned) are exported under
// kid "unsigned", and only once one was reported.
func TestUnsignedHealthFailures(t *testing.T) {
	m := newRecv()
	f := scrape(t, serve(t, m))
	for _, mt := range f["ssmrandom_recv_health_failures_total"].GetMetric() {
		if labels(mt)["kid"] == receive.UnsignedID {
			t.Fatalf("got a series for kid %q before any unsigned health failure", receive.UnsignedID)
		}
	}
	m.HealthFailure(receive.UnsignedID)
	m.BlockFailure(receive.UnsignedID)
	m.BlockFailure(receive.UnsignedID)
	f = scrape(t, serve(t, m))
	if got := f.value(t, counter, "ssmrandom_recv_health_failures_total", "kid", receive.UnsignedID); got != 1 {
		t.Errorf("ssmrandom_recv_health_failures_total{kid=%q}: got %v, want 1", receive.UnsignedID, got)
	}
	if got := f.value(t, counter, "ssmrandom_recv_fips_block_failures_total", "kid", receive.UnsignedID); got != 2 {
		t.Errorf("ssmrandom_recv_fips_block_failures_total{kid=%q}: got %v, want 2", receive.UnsignedID, got)
	}
}

// TestRecvTransport: the transport metrics of a receiver through an AMT
// relay.
func TestRecvTransport(t *testing.T) {
	m := metrics.NewRecv(metrics.RecvConfig{Version: "v1.2.3"})
	src := testSource()
	src.Transport = func() metrics.Transport {
		return metrics.Transport{Kind: "amt", Relay: "192.0.2.2:2268", State: "up", Rediscoveries: 3}
	}
	m.SetSource(src)
	want := `
# HELP ssmrandom_recv_amt_rediscoveries_total Times the AMT relay went silent and was discovered again; absent for a native join.
# TYPE ssmrandom_recv_amt_rediscoveries_total counter
ssmrandom_recv_amt_rediscoveries_total 3
# HELP ssmrandom_recv_transport_info Always 1: how datagrams arrive (kind native or amt), the AMT relay and the tunnel's state.
# TYPE ssmrandom_recv_transport_info gauge
ssmrandom_recv_transport_info{kind="amt",relay="192.0.2.2:2268",state="up"} 1
`
	if err := testutil.GatherAndCompare(m, strings.NewReader(want),
		"ssmrandom_recv_transport_info", "ssmrandom_recv_amt_rediscoveries_total", "ssmrandom_recv_kernel_drops_total", "ssmrandom_recv_rcvbuf_bytes"); err != nil {
		t.Error(err)
	}
}

// TestRecvKernelDrops: a native receiver's kernel drops and receive
// buffer.
func TestRecvKernelDrops(t *testing.T) {
	m := metrics.NewRecv(metrics.RecvConfig{Version: "v1.2.3"})
	src := testSource()
	src.Transport = func() metrics.Transport {
		return metrics.Transport{Kind: "native", KernelDrops: 17, ReadBuffer: 8 << 20}
	}
	m.SetSource(src)
	want := `
# HELP ssmrandom_recv_kernel_drops_total Datagrams the kernel dropped at the receiver's socket before they could be read, nearly always because its receive buffer was full (recv --rcvbuf); absent through an AMT relay.
# TYPE ssmrandom_recv_kernel_drops_total counter
ssmrandom_recv_kernel_drops_total 17
# HELP ssmrandom_recv_rcvbuf_bytes The receive buffer of the receiver's socket in bytes, as the kernel reports it (twice the size set; see recv --rcvbuf); absent when not known.
# TYPE ssmrandom_recv_rcvbuf_bytes gauge
ssmrandom_recv_rcvbuf_bytes 8.388608e+06
`
	if err := testutil.GatherAndCompare(m, strings.NewReader(want),
		"ssmrandom_recv_amt_rediscoveries_total", "ssmrandom_recv_kernel_drops_total", "ssmrandom_recv_rcvbuf_bytes"); err != nil {
		t.Error(err)
	}
}
