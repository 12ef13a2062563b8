package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/pidfile"
	"github.com/nordunet/ssmrandom/internal/watch"
)

// daemonFlags are the flags of the daemon commands (send, rawsend, recv)
// that the original ssmrandom had: -P, -f, -F and -v keep their meaning
// or, where ssmrandom works otherwise, are accepted and do no harm.
func daemonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pidfile", Aliases: []string{"P"}, Usage: "hold this process's id in `FILE` while running"},
		&cli.BoolFlag{Name: "foreground", Aliases: []string{"f"}, Usage: "ignored: ssmrandom always stays in the foreground"},
		&cli.BoolFlag{Name: "F", Usage: "the same as -f: accepted and ignored"},
		&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version and exit"},
	}
}

// daemonHelp explains the daemon flags in the daemon commands' help.
const daemonHelp = "-P/--pidfile FILE holds the process id while it runs, locked, and is removed on exit; a\n" +
	"running process that holds it stops the start, a stale one is replaced. -f and -F are\n" +
	"accepted for the original ssmrandom and ignored: ssmrandom always stays in the foreground\n" +
	"and logs to stderr (run it under systemd or another supervisor)."

// printVersion does -v/--version, as the original ssmrandom did it on any
// command line: it prints the version to stdout and reports true, and the
// command then does nothing else.
func printVersion(c *cli.Context, e *env) bool {
	if !c.Bool("version") {
		return false
	}
	fmt.Fprintf(e.stdout, "%s version %s\n", c.App.Name, c.App.Version)
	return true
}

// takePidfile does -P/--pidfile: it writes this process's id to the file
// and returns a function that removes it, which the command defers. With
// no -P it does nothing.
func takePidfile(c *cli.Context, log zerolog.Logger) (release func(), err error) {
	path := c.String("pidfile")
	if path == "" {
		return func() {}, nil
	}
	p, stale, err := pidfile.Open(path, os.Getpid())
	switch {
	case errors.Is(err, pidfile.ErrRunning):
		return nil, withHint(err, "stop that process first, or give this one another -P/--pidfile")
	case errors.Is(err, pidfile.ErrNotPidfile):
		return nil, asUsage(err, "-P/--pidfile takes the path of a file for the process id only, such as /run/ssmrandom.pid")
	case errors.Is(err, errors.ErrUnsupported):
		return nil, asUsage(err, "-P/--pidfile is implemented on Linux only; leave it out")
	case err != nil:
		return nil, withHint(err, "-P/--pidfile needs a folder this user may write to")
	}
	ev := log.Info().Str("pidfile", path).Int("pid", os.Getpid())
	if stale != 0 {
		ev = ev.Int("stale_pid", stale)
	}
	ev.Msg("wrote pidfile")
	return func() {
		if err := p.Close(); err != nil {
			log.Warn().Err(err).Msg("removing pidfile")
		}
	}, nil
}

// watchPath calls reload when path (a folder or a file, named by flag in
// log lines) changes on disk, and with why "SIGHUP" on each value from
// hup, until ctx is done; wait waits for the end of the last reload. The
// watch is in place when watchPath returns; what keeps it from seeing
// changes is logged as a warning, and SIGHUP still reloads.
func watchPath(ctx context.Context, path, flag string, hup <-chan os.Signal, reload func(why string), log zerolog.Logger) (wait func()) {
	w := watch.New(path, reload)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				w.Trigger("SIGHUP")
			case err := <-w.Errors():
				log.Warn().Err(err).Msg("watching " + flag + " for changes; send SIGHUP to reload it")
			}
		}
	}()
	return func() { <-done }
}
