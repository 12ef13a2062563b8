package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/memlimit"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// trustReloader keeps a running receiver's keyring in step with --trust.
// It loads the path again on SIGHUP and when a file in it changes (within a
// second, following symbolic links: see watchPath), and
// puts the new keyring in place whole ([receive.Pipeline.SetTrust]): a
// key removed is no longer trusted from the next frame on, a key added is
// trusted at once. A file that does not load is reported and passed over;
// the keys of the others stay trusted. Its methods are safe for
// concurrent use.
type trustReloader struct {
	path string
	log  zerolog.Logger
	pipe *receive.Pipeline
	// report, if not nil, is told the outcome of each reload: how many
	// files were passed over, or the error that kept the keys in use.
	report func(skipped int, err error)
	// fitMemory refits the soft memory limit to the keyring after each
	// reload (memlimit.Fit); false when GOMEMLIMIT is set.
	fitMemory bool

	mu sync.Mutex // one reload at a time
}

// reload loads the path again and swaps the keyring in. If the path is
// gone (the folder, or the one file, was removed), no key is trusted
// until it is back: removing a key must revoke it. If it exists but
// cannot be read (permissions, I/O), the keys in use stay.
func (r *trustReloader) reload(trigger string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ring, warnings, skipped, err := sign.ReloadTrust(r.path)
	rl := report.Reload{Trigger: trigger, Err: err, Gone: errors.Is(err, fs.ErrNotExist), Warnings: report.TrustWarnings(warnings), Skipped: skipped}
	switch {
	case rl.Gone:
		rl.Removed = r.pipe.Trust().Len()
		r.pipe.SetTrust(nil)
		logLines(r.log, report.TrustReload(rl, r.path, 0, nil, nil, nil)...)
		r.done(0, err)
		return
	case err != nil:
		logLines(r.log, report.TrustReload(rl, r.path, 0, nil, nil, nil)...)
		r.done(0, err)
		return
	}
	added, removed, changed := sign.Diff(r.pipe.Trust(), ring)
	r.pipe.SetTrust(ring)
	logLines(r.log, report.TrustReload(rl, r.path, ring.Len(), added, removed, changed)...)
	r.done(len(skipped), nil)
}

func (r *trustReloader) done(skipped int, err error) {
	if r.fitMemory {
		memlimit.Fit()
	}
	if r.report != nil {
		r.report(skipped, err)
	}
}

// start reloads --trust on each value from hup (the caller's SIGHUP
// handler) and when it changes on disk ([watch.Watcher]), until ctx is
// done; wait waits for that. The watch is in place when start returns.
func (r *trustReloader) start(ctx context.Context, hup <-chan os.Signal) (wait func()) {
	return watchPath(ctx, r.path, "--trust", hup, r.reload, r.log)
}

// trustFlag is --trust, the trusted producer keys, of recv and seed;
// required says when it is required.
func trustFlag(required string) cli.Flag {
	return &cli.StringFlag{Name: "trust", Usage: "trusted producer keys: a `PATH` to a folder of JWK files, one JWK file, or a JWK Set file (" + required + ")"}
}

// maxAgeFlag is --max-age of recv and seed, which drop what datagrams
// carry when it is too old.
func maxAgeFlag(what string) cli.Flag {
	return &cli.DurationFlag{Name: "max-age", Value: replay.DefaultMaxAge, Usage: "drop " + what + " made longer than `DURATION` ago"}
}

// maxSkewFlag is --max-skew of recv and seed; note ends the usage.
func maxSkewFlag(what, note string) cli.Flag {
	return &cli.DurationFlag{Name: "max-skew", Value: replay.DefaultMaxSkew, Usage: "drop " + what + " dated more than `DURATION` in the future" + note}
}
