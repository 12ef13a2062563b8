package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/memlimit"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
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
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.log.Error().Str("error", words.Error(err)).Str("trigger", trigger).Msg("--trust is gone: trusting no key until it is back")
		removed := r.pipe.Trust().Keys()
		r.pipe.SetTrust(nil)
		r.log.Warn().Int("removed", len(removed)).Msg("trust reloaded: 0 keys")
		r.done(0, err)
		return
	case err != nil:
		r.log.Error().Str("error", words.Error(err)).Str("trigger", trigger).Msg("could not read --trust again; keeping the keys in use")
		r.done(0, err)
		return
	}
	for _, w := range trustWarnings(warnings) {
		r.log.Warn().Msg(words.Plain(w))
	}
	for _, err := range skipped {
		r.log.Error().Str("error", words.Error(err)).Msg("passed over a --trust file that does not load; the other keys stay trusted")
	}
	added, removed, changed := sign.Diff(r.pipe.Trust(), ring)
	r.pipe.SetTrust(ring)
	ev := r.log.Info()
	if len(skipped) > 0 {
		ev = r.log.Warn()
	}
	ev.Str("trigger", trigger).Int("keys", ring.Len()).Strs("added", added).Strs("removed", removed).
		Strs("validity_changed", changed).Int("skipped_files", len(skipped)).
		Msg(fmt.Sprintf("trust reloaded: %d keys (%d added, %d removed)", ring.Len(), len(added), len(removed)))
	if ring.Len() == 0 {
		r.log.Error().Str("trust", r.path).Msg("no trusted key left: every frame is dropped until a key is added")
	}
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

// trustWarnings words the warnings of sign.LoadTrust and ReloadTrust, one
// line each.
func trustWarnings(ws []sign.Warning) []string {
	lines := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.Private {
			lines = append(lines, fmt.Sprintf("%s is a private key; trusting only its public half (keep private keys out of trust folders)", w.File))
		} else {
			lines = append(lines, fmt.Sprintf("key %s is in %s (valid %s) and in %s (valid %s); trusting it only when both say it is valid",
				w.KeyID, w.File, w.Valid, w.Other, w.OtherValid))
		}
	}
	return lines
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
