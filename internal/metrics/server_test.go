package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/metrics"
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
