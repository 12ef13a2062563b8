package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/metrics"
)

// metricsFlag is --metrics-addr, shared by send and recv.
func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics-addr", Usage: fmt.Sprintf("serve Prometheus metrics at http://`HOST:PORT`/metrics, e.g. 127.0.0.1:%d (default: off)", metrics.SuggestedPort)}
}

// listenMetrics binds --metrics-addr, or returns nil if it is not set. It
// runs before anything else starts, so a bad address (a usage error) or a
// busy one (a run-time error) stops the command at once.
func listenMetrics(c *cli.Context) (*metrics.Server, error) {
	addr := c.String("metrics-addr")
	if addr == "" {
		return nil, nil
	}
	srv, err := metrics.Listen(addr)
	if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) {
		// A good address that is busy or not ours today: a run-time failure.
		return nil, withHint(err, "another process holds --metrics-addr "+addr+"; stop it, or pick another port")
	}
	if err != nil {
		return nil, asUsage(err, fmt.Sprintf("--metrics-addr takes HOST:PORT with a free port, such as 127.0.0.1:%d or [::1]:%d", metrics.SuggestedPort, metrics.SuggestedPort))
	}
	return srv, nil
}

// serveMetrics serves g on srv until ctx is done; wait waits for the
// server to stop. A server that fails is logged; the daemon goes on.
func serveMetrics(ctx context.Context, srv *metrics.Server, g prometheus.Gatherer, log zerolog.Logger) (wait func()) {
	log.Info().Str("url", fmt.Sprintf("http://%s/metrics", srv.Addr())).Msg("serving metrics")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, g); err != nil {
			log.Error().Err(err).Msg("metrics server stopped")
		}
	}()
	return func() { <-done }
}
