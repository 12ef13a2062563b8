package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// TestListenErrors checks that a bad or busy address fails Listen at once.
func TestListenErrors(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1", "9641", "127.0.0.1:http-alt-nonsense", "127.0.0.1:70000"} {
		if srv, err := metrics.Listen(addr); err == nil {
			srv.Close()
			t.Errorf("Listen(%q): got nil error, want one", addr)
		} else if !strings.HasPrefix(err.Error(), "metrics: ") {
			t.Errorf("Listen(%q): got error %q, want it to start with \"metrics: \"", addr, err)
		}
	}

	busy, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: got error %v, want nil", err)
	}
	defer busy.Close()
	_, err = metrics.Listen(busy.Addr().String())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen(%s) while it is in use: got error %v, want EADDRINUSE", busy.Addr(), err)
	}
}

func TestIndex(t *testing.T) {
	base := serve(t, metrics.NewSend(""))
	status, ctype, body := get(t, base+"/")
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(string(body), `href="metrics"`) {
		t.Errorf("GET /: got %d %q %q, want 200, an HTML page linking to metrics", status, ctype, body)
	}
	if status, _, _ := get(t, base+"/nothing-here"); status != http.StatusNotFound {
		t.Errorf("GET /nothing-here: got status %d, want 404", status)
	}
	resp, err := client.Post(base+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatalf("POST /metrics: got error %v, want nil", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: got status %d, want 405", resp.StatusCode)
	}
}

// TestServeStops checks that Serve returns nil once its context is done,
// or the server closed, and that the port is free again.
func TestServeStops(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			srv, err := metrics.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatalf("Listen: got error %v, want nil", err)
			}
			addr := srv.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, metrics.NewSend("")) }()
			scrape(t, "http://"+addr) // served
			if how == "cancel" {
				cancel()
			} else if err := srv.Close(); err != nil {
				t.Fatalf("Close: got error %v, want nil", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: got error %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Serve: still running 10 s after it was stopped")
			}
			if err := srv.Close(); err != nil {
				t.Errorf("Close after Serve returned: got error %v, want nil", err)
			}
			if _, err := client.Get("http://" + addr + "/metrics"); err == nil {
				t.Errorf("GET after Serve returned: got nil error, want one")
			}
			again, err := metrics.Listen(addr)
			if err != nil {
				t.Fatalf("Listen(%s) after Serve returned: got error %v, want nil", addr, err)
			}
			again.Close()
		})
	}
}

// TestCloseBeforeServe checks that a server closed before it served frees
// its port and refuses to serve.
func TestCloseBeforeServe(t *testing.T) {
	srv, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: got error %v, want nil", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: got error %v, want nil", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close again: got error %v, want nil", err)
	}
	if err := srv.Serve(context.Background(), metrics.NewSend("")); !errors.Is(err, metrics.ErrClosed) {
		t.Errorf("Serve after Close: got error %v, want ErrClosed", err)
	}
	again, err := metrics.Listen(srv.Addr().String())
	if err != nil {
		t.Fatalf("Listen(%s) after Close: got error %v, want nil", srv.Addr(), err)
	}
	again.Close()
}

// TestHealthz checks the health endpoint of issue 14, item 11: 200 while
// no alarm is raised (and for a sender, which has none), 503 and the
// alarm while one is, at /healthz and /readyz alike, and the alarm gauge.
func TestHealthz(t *testing.T) {
	var mu sync.Mutex
	var alarms receive.Alarms
	m := metrics.NewRecv(metrics.RecvConfig{})
	m.SetSource(metrics.Source{Alarms: func() receive.Alarms { mu.Lock(); defer mu.Unlock(); return alarms }})
	base := serve(t, m)
	send := serve(t, metrics.NewSend(""))
	for _, st := range []struct {
		name   string
		alarms receive.Alarms
		status int
		body   string
		gauge  string
	}{
		{"healthy", receive.Alarms{}, http.StatusOK, "ok\n", `ssmrandom_recv_alarm{alarm="silence"} 0`},
		{"silent", receive.Alarms{Silent: true}, http.StatusServiceUnavailable, "silence: no verified frame from any producer since the start\n", `ssmrandom_recv_alarm{alarm="silence"} 1`},
		{"stuck", receive.Alarms{Stuck: true, Wrote: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, http.StatusServiceUnavailable,
			"output stuck: the output is full and took nothing since 2026-01-02T03:04:05Z\n", `ssmrandom_recv_alarm{alarm="output_stuck"} 1`},
	} {
		mu.Lock()
		alarms = st.alarms
		mu.Unlock()
		for _, path := range []string{"/healthz", "/readyz"} {
			status, _, body := get(t, base+path)
			if status != st.status || string(body) != st.body {
				t.Errorf("%s: GET %s: got %d %q, want %d %q", st.name, path, status, body, st.status, st.body)
			}
		}
		if _, _, body := get(t, base+"/metrics"); !strings.Contains(string(body), st.gauge+"\n") {
			t.Errorf("%s: metrics: no line %q", st.name, st.gauge)
		}
	}
	if status, _, body := get(t, send+"/healthz"); status != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("send: GET /healthz: got %d %q, want 200 \"ok\\n\"", status, body)
	}
}
