package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/control"
)

// Exit statuses of status, besides exitOK, exitUsage and exitRuntime
// (the query failed).
const (
	exitDegraded   = 1 // the daemon runs, and has a problem
	exitNotRunning = 3 // no daemon answers on the socket
)

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "ask a running recv or send how it is doing",
		ArgsUsage: "[recv|send]",
		Description: "Asks the recv (or send) that runs on this host over its control socket (--control) and\n" +
			"prints how recv gets its datagrams (native, or amt: the relay, the tunnel's state and\n" +
			"how often the relay was re-discovered), per producer key, the age of its last frame\n" +
			"and the frames and bytes forwarded and dropped by reason in the last --stats-interval,\n" +
			"and what the output took: the bytes rngd drained from the FIFO, or the bits credited\n" +
			"to the kernel. Exit status 0: the\n" +
			"daemon is healthy; 1: it is degraded (silence, an output nobody drains, an unhealthy\n" +
			"producer, failing sends) or the query failed; 3: no daemon answers.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "control", Usage: "ask on the unix socket `PATH`", DefaultText: control.DefaultDir + "/recv.sock or send.sock"},
			&cli.BoolFlag{Name: "json", Usage: "print the status as JSON"},
		},
		Action: func(c *cli.Context) error { return runStatus(c, e) },
	}
}

func runStatus(c *cli.Context, e *env) error {
	daemon := "recv"
	switch c.NArg() {
	case 0:
	case 1:
		daemon = c.Args().First()
	default:
		return usagef("ssmrandom status [recv|send]", "too many arguments: %q", c.Args().Slice())
	}
	if daemon != "recv" && daemon != "send" {
		return usagef("ssmrandom status [recv|send]", "unknown daemon %q", daemon)
	}
	path := c.String("control")
	if path == "" {
		path = control.DefaultPath(daemon)
	}
	st, err := control.Query(c.Context, path)
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return &cliError{err: fmt.Errorf("no %s answers on %s", daemon, path), code: exitNotRunning,
			hint: "start it (systemctl start ssmrandom-" + daemon + "), or name its socket with --control"}
	case errors.Is(err, fs.ErrPermission):
		return withHint(fmt.Errorf("may not connect to %s", path), "run status as the daemon's user, or as root")
	case err != nil:
		return err
	}
	if c.Bool("json") {
		err = st.WriteJSON(e.stdout)
	} else {
		err = st.WriteText(e.stdout, time.Now())
	}
	if err != nil {
		return err
	}
	if st.Degraded() {
		return &cliError{err: fmt.Errorf("%s is degraded: %s", st.Daemon, strings.Join(st.Problems, "; ")), code: exitDegraded}
	}
	return nil
}

// controlFlag is --control of recv and send.
func controlFlag(daemon string) cli.Flag {
	return &cli.StringFlag{Name: "control", Usage: "answer ssmrandom status on the unix socket `PATH` (mode 0600; off: none)",
		DefaultText: control.DefaultPath(daemon) + " if " + control.DefaultDir + " exists"}
}

// serveControl listens on --control and answers status queries with
// status until ctx is done; wait waits for it to stop. With no --control
// it uses the default path if the runtime directory exists, and goes on
// without a socket, with a warning, if another daemon holds it.
func serveControl(ctx context.Context, c *cli.Context, daemon string, log zerolog.Logger, status func() control.Status) (wait func(), err error) {
	path, explicit := c.String("control"), c.IsSet("control")
	if path == "off" {
		return func() {}, nil
	}
	if !explicit {
		path = control.DefaultPath(daemon)
		if fi, err := os.Stat(control.DefaultDir); err != nil || !fi.IsDir() {
			return func() {}, nil
		}
	}
	srv, err := control.Listen(path)
	if err != nil {
		if !explicit {
			log.Warn().Err(err).Str("control", path).Msg("no control socket: ssmrandom status cannot ask this process (give it --control PATH)")
			return func() {}, nil
		}
		if errors.Is(err, control.ErrRunning) {
			return nil, withHint(err, "another "+daemon+" answers on --control "+path+"; give this one another path")
		}
		return nil, withHint(err, "--control needs a folder this user may write to")
	}
	started, pid := time.Now(), os.Getpid()
	log.Info().Str("control", path).Msg("answering status queries")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, func() control.Status {
			st := status()
			st.PID, st.Version, st.Started = pid, version, started
			return st
		}); err != nil {
			log.Error().Err(err).Msg("control socket stopped")
		}
	}()
	return func() { <-done }, nil
}
