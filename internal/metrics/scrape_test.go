package metrics_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/receive"
)

func kidOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// TestLastFramesRoundTrip checks that LastFrames reads what a Recv
// serves: the same metric, by the one name both use.
func TestLastFramesRoundTrip(t *testing.T) {
	seen := time.Unix(1764547200, 500_000_000)
	a, b := kidOf("a"), kidOf("b")
	m := metrics.NewRecv(metrics.RecvConfig{Version: "test"})
	m.SetSource(metrics.Source{Producers: func() []receive.ProducerStats {
		return []receive.ProducerStats{{KeyID: a, Trusted: true, Frames: 1, LastFrame: seen}, {KeyID: b, Trusted: true}}
	}})
	srv := httptest.NewServer(metrics.Handler(m))
	defer srv.Close()
	last, err := metrics.LastFrames(context.Background(), srv.URL+"/metrics")
	if err != nil {
		t.Fatalf("LastFrames: %v", err)
	}
	if got, ok := last[a]; !ok || !got.Equal(seen) {
		t.Errorf("last frame of a: got %v (%v), want %v", got, ok, seen)
	}
	if got, ok := last[b]; ok {
		t.Errorf("last frame of b, which sent none: got %v, want none", got)
	}
}

func TestLastFramesErrors(t *testing.T) {
	kid := kidOf("a")
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   string // in the error
	}{
		{"not found", http.StatusNotFound, "", "404"},
		{"not a kid", http.StatusOK, metrics.LastFrameName + `{kid="not-a-kid"} 1` + "\n", "not a key id"},
		{"not a time", http.StatusOK, metrics.LastFrameName + `{kid="` + kid + `"} NaN` + "\n", "not a Unix time"},
		{"negative", http.StatusOK, metrics.LastFrameName + `{kid="` + kid + `"} -1` + "\n", "not a Unix time"},
		{"too long", http.StatusOK, "# " + strings.Repeat("x", metrics.MaxScrapeBody) + "\n", "more than"},
		{"not an exposition", http.StatusOK, "<html>\n", "metrics:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			last, err := metrics.LastFrames(context.Background(), srv.URL)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, %v; want an error containing %q", last, err, tt.want)
			}
		})
	}
}
