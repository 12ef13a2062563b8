package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
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
	w := watch.New(path, func(why string) {
		sdNotify(log, daemon.SdNotifyReloading)
		reload(why)
		sdNotify(log, daemon.SdNotifyReady)
	})
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

// sdNotify sends state to systemd when it started this process as a
// Type=notify service (NOTIFY_SOCKET is set), and does nothing otherwise.
// A notification that cannot be sent is logged as a warning; the daemon
// goes on.
func sdNotify(log zerolog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn().Err(err).Str("state", state).Msg("could not notify systemd (NOTIFY_SOCKET)")
	}
}

// notifyReady tells systemd that the daemon is ready (READY=1: recv has
// joined and opened its output, send has its socket and is sending), and
// STOPPING=1 when ctx ends or the returned function is called, which the
// daemon defers. Reloads (watchPath) are told as RELOADING=1, then
// READY=1. With systemd's watchdog on (WatchdogSec=, so WATCHDOG_USEC),
// it sends WATCHDOG=1 every half period in which progress, a counter of
// the daemon's main loop (send: frames and seed datagrams sent or failed),
// moved: a loop that is stuck (an input that gives no bytes) stops the
// pings and systemd restarts the service. A nil progress sends none
// (recv: a channel with no producer on it is quiet, not stuck). Without
// NOTIFY_SOCKET it does nothing.
func notifyReady(ctx context.Context, log zerolog.Logger, progress func() uint64) (stop func()) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return func() {}
	}
	sdNotify(log, daemon.SdNotifyReady)
	period, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn().Err(err).Msg("systemd's watchdog: bad WATCHDOG_USEC; sending no watchdog pings")
	}
	var ticker *time.Ticker
	var ticks <-chan time.Time
	if period > 0 && progress == nil {
		log.Warn().Dur("watchdog", period).Msg("systemd's watchdog is on, but this command has no progress to report: leave out WatchdogSec=")
	} else if period > 0 {
		ticker = time.NewTicker(period / 2)
		ticks = ticker.C
		log.Info().Dur("watchdog", period).Msg("systemd's watchdog on: a ping every half period in which the loop made progress")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if ticker != nil {
			defer ticker.Stop()
		}
		watchdog(ctx, ticks, progress, func() { sdNotify(log, daemon.SdNotifyWatchdog) })
		sdNotify(log, daemon.SdNotifyStopping)
	}()
	return func() { cancel(); wg.Wait() }
}

// watchdog calls ping on each tick at which progress() differs from its
// value at the tick before (the first tick compares with the value at the
// start), until ctx is done. With no ticks it only waits for ctx.
func watchdog(ctx context.Context, ticks <-chan time.Time, progress func() uint64, ping func()) {
	var last uint64
	if progress != nil {
		last = progress()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if now := progress(); now != last {
				last = now
				ping()
			}
		}
	}
}
