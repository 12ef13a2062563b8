package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits of the HTTP server. A scrape is one small request and a few
// kilobytes of answer; these only bound what a slow or hostile client can
// hold.
const (
	// ReadHeaderTimeout is how long a client may take to send a request's
	// headers.
	ReadHeaderTimeout = 5 * time.Second
	// ScrapeTimeout is how long gathering the metrics of one scrape may
	// take before the scrape fails with 503.
	ScrapeTimeout = 10 * time.Second
	// WriteTimeout is how long answering one request may take in all; it
	// is longer than ScrapeTimeout, so a slow scrape still gets its 503.
	WriteTimeout = 15 * time.Second
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request (Prometheus keeps its connection between scrapes).
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes is the most header bytes a request may carry.
	MaxHeaderBytes = 8 << 10
	// MaxScrapes is how many scrapes may be gathered at once; more get
	// 503.
	MaxScrapes = 4
	// ShutdownTimeout is how long [Server.Serve] lets scrapes in flight
	// finish once its context is done, before it closes their
	// connections.
	ShutdownTimeout = 5 * time.Second
)

// ErrClosed is returned by [Server.Serve] on a Server that was closed or
// has served already.
var ErrClosed = errors.New("metrics: server closed")

// Server serves metrics over HTTP on a listening socket. Make one with
// [Listen]; the zero value is not usable. Serve may be called once; Close
// and Addr are safe to call from any goroutine at any time.
type Server struct {
	ln net.Listener

	mu     sync.Mutex
	srv    *http.Server // while serving
	closed bool         // closed, or served
}

// Listen listens on the TCP address addr, such as "127.0.0.1:9641",
// ":9641" (every address) or "[::1]:9641", at once: an address that is
// malformed, not local or busy is an error here, before anything is
// served. It serves nothing until [Server.Serve]; a caller that gives up
// before that calls [Server.Close].
func Listen(addr string) (*Server, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("metrics: bad listen address %q: want HOST:PORT, such as 127.0.0.1:%d or :%d", addr, SuggestedPort, SuggestedPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Server{ln: ln}, nil
}

// Addr returns the address the server listens on: with port 0 in
// [Listen], the port the system chose.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves g (a [*Recv] or [*Send]) with [Handler] until ctx is done,
// then stops: it stops accepting, lets scrapes in flight finish for up to
// [ShutdownTimeout], closes the connections and returns nil. It returns
// an error only if serving fails before that, or [ErrClosed].
func (s *Server) Serve(ctx context.Context, g prometheus.Gatherer) error {
	srv := &http.Server{
		Handler:           Handler(g),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadHeaderTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0), // the package does not log
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.srv = srv
	s.mu.Unlock()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil // Close
		}
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if srv.Shutdown(sctx) != nil {
		srv.Close() // scrapes still in flight: cut them off
	}
	<-errc
	return nil
}

// Close stops the server at once: it closes the listening socket and, if
// [Server.Serve] is running, every connection, and Serve returns nil. It
// returns nil if the server was closed before.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return s.srv.Close()
	}
	if s.closed {
		return nil
	}
	s.closed = true
	return s.ln.Close()
}

// Handler returns the HTTP handler [Server.Serve] uses: the metrics of g
// in the Prometheus text format (gzipped if the client asks) at /metrics,
// the health endpoint at /healthz (and /readyz, the same), and a small
// HTML index linking to them at /. Other paths are 404.
//
// The health endpoint answers 200 and "ok" while g, if it has a method
// Health (as [Recv.Health]), returns nil, and otherwise 503 and the
// error's text, one alarm a line.
func Handler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError, // serve what could be gathered
		MaxRequestsInFlight: MaxScrapes,
		Timeout:             ScrapeTimeout,
	}))
	healthz := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if h, ok := g.(interface{ Health() error }); ok {
			if err := h.Health(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, err.Error()+"\n")
				return
			}
		}
		io.WriteString(w, "ok\n")
	}
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, index)
	})
	return mux
}

// index is the page at /. The link is relative, so that it works behind a
// proxy that serves the daemon under a path.
const index = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ssmrandom</title></head>
<body><h1>ssmrandom</h1><p><a href="metrics">Metrics</a> (Prometheus text format)</p>
<p><a href="healthz">Health</a> (200 ok, or 503 and the alarms raised)</p></body></html>
`
