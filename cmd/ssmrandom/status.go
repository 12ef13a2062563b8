package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/control"
	"github.com/nordunet/ssmrandom/internal/words"
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
			"prints, per producer key, the age of its last frame and the frames and bytes forwarded\n" +
			"and dropped by reason in the last --stats-interval, and what the output took: the bytes\n" +
			"rngd drained from the FIFO, or the bits credited to the kernel. Exit status 0: the\n" +
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
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		printStatus(e.stdout, st, time.Now())
	}
	if st.Degraded() {
		return &cliError{err: fmt.Errorf("%s is degraded: %s", st.Daemon, strings.Join(st.Problems, "; ")), code: exitDegraded}
	}
	return nil
}

// printStatus prints st for a reader, as wg show does: a line for the
// daemon, then one block per producer and one for the output.
func printStatus(w io.Writer, st control.Status, now time.Time) {
	state := "ok"
	if st.Degraded() {
		state = "DEGRADED"
	}
	fmt.Fprintf(w, "%s: %s (pid %d, version %s, up %s)\n", st.Daemon, state, st.PID, st.Version, now.Sub(st.Started).Round(time.Second))
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	interval := "no interval ended yet"
	if !st.IntervalEnd.IsZero() {
		interval = fmt.Sprintf("in the last %s (to %s)", st.IntervalEnd.Sub(st.IntervalStart).Round(time.Second), st.IntervalEnd.Local().Format(time.TimeOnly))
	}
	fmt.Fprintf(w, "  counts: %s\n", interval)
	for _, p := range st.Producers {
		fmt.Fprintf(w, "\nproducer %s", p.KeyID)
		if !p.Trusted {
			fmt.Fprint(w, " (no longer trusted)")
		}
		if p.Unhealthy {
			fmt.Fprint(w, " (UNHEALTHY)")
		}
		fmt.Fprintln(w)
		age := "never"
		if p.LastFrameAge != nil {
			age = fmt.Sprintf("%s ago", time.Duration(*p.LastFrameAge*float64(time.Second)).Round(time.Millisecond))
		}
		fmt.Fprintf(w, "  last frame: %s\n", age)
		fmt.Fprintf(w, "  forwarded: %s, %s\n", words.Plural(p.Forwarded, "frame"), words.Plural(p.Bytes, "byte"))
		if len(p.Dropped) > 0 {
			fmt.Fprintf(w, "  dropped: %s\n", byReason(p.Dropped))
		}
	}
	if len(st.Dropped) > 0 {
		fmt.Fprintf(w, "\ndropped: %s\n", byReason(st.Dropped))
	}
	if k := st.Sink; k != nil {
		fmt.Fprintf(w, "\noutput %s\n  written: %s (%d in all)\n", k.Output, words.Plural(k.Bytes, "byte"), k.TotalBytes)
		if k.Drained != nil {
			fmt.Fprintf(w, "  drained by its reader: %s in all, %d waiting\n", words.Plural(*k.Drained, "byte"), *k.Pending)
		}
		if k.Credited != nil {
			fmt.Fprintf(w, "  credited to the kernel: %s in all\n", words.Plural(*k.Credited, "bit"))
		}
	}
	if s := st.Send; s != nil {
		fmt.Fprintln(w)
		if s.KeyID != "" {
			fmt.Fprintf(w, "key %s\n", s.KeyID)
		}
		fmt.Fprintf(w, "  sent: %s, %s, %s\n", words.Plural(s.Frames, "frame"), words.Plural(s.Bytes, "byte"), words.Plural(s.SendErrors, "send error"))
		fmt.Fprintf(w, "  in all: %s, %s, %s\n", words.Plural(s.TotalFrames, "frame"), words.Plural(s.TotalBytes, "byte"), words.Plural(s.TotalSendErrors, "send error"))
	}
}

// byReason formats counts by reason, "output_full 2, replay 1", in the
// order of the names.
func byReason(m map[string]uint64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
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
