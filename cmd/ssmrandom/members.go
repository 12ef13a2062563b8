package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/keylist"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/words"
)

// membersHint is the hint of a --members that cannot be read.
const membersHint = "--members takes a folder of host public keys (JWK files made by 'ssmrandom keygen --host'), a JWK file or a JWK Set file"

// runKeysMembers is keys --members: it lists the members as send loads
// them.
func runKeysMembers(c *cli.Context, e *env) error {
	path := c.String("members")
	set, warnings, skipped, err := seal.ReloadMembers(path)
	if err != nil {
		return asUsage(err, membersHint)
	}
	list := keylist.NewMembers(path, set, skipped, warnings, time.Now())
	if err := writeListing(c, e, list, list.Warnings); err != nil {
		return err
	}
	switch {
	case len(skipped) > 0:
		return withHint(fmt.Errorf("%s of --members %s did not load (listed as skipped): send refuses to start with it, and a running send passes it over when it reloads its members",
			words.Plural(uint64(len(skipped)), "file"), path), "fix or remove what was skipped")
	case set.Len() == 0:
		return fmt.Errorf("no X25519 host key in %s; send --members would refuse to start", path)
	}
	return nil
}

// membersReloader loads --members again for a running send and hands the
// set to use, one reload at a time (as watchPath calls it): a file that does not load is logged and passed over, and a
// path that is gone leaves no member (removing a host's key must stop its
// seeds). Members are logged by count only.
type membersReloader struct {
	path string
	log  zerolog.Logger
	set  func(*seal.Members)
	prev *seal.Members
}

// reload loads the path again; trigger says why, for the log.
func (r *membersReloader) reload(trigger string) {
	set, warnings, skipped, err := seal.ReloadMembers(r.path)
	rl := report.Reload{Trigger: trigger, Err: err, Gone: errors.Is(err, fs.ErrNotExist), Warnings: warnings, Skipped: skipped}
	switch {
	case rl.Gone:
		set = &seal.Members{}
	case err != nil:
		logLines(r.log, report.MembersReload(rl, 0, 0, 0)...)
		return
	}
	added, removed := seal.Diff(r.prev, set)
	r.set(set)
	r.prev = set
	logLines(r.log, report.MembersReload(rl, set.Len(), added, removed)...)
}

// seedSetup is send --members: the seed rounds' configuration, read from
// the flags, and their members' reload.
type seedSetup struct {
	path     string
	cfg      send.Seeds
	warnings []string
	hup      chan os.Signal // SIGHUP, caught from the start
}

// seedFlags reads --members and --seed-interval: nil without --members.
func seedFlags(c *cli.Context, mode *sendMode, maxDatagram int) (*seedSetup, error) {
	path := c.String("members")
	if path == "" {
		if c.IsSet("seed-interval") {
			return nil, usagef("name the hosts to seal seeds to with --members", "--seed-interval without --members")
		}
		return nil, nil
	}
	if mode.signer == nil {
		return nil, usagef("leave out --members, or --unsigned", "--unsigned frames are not signed, and seed datagrams must be")
	}
	interval := c.Duration("seed-interval")
	if interval <= 0 {
		return nil, usagef("--seed-interval takes a positive duration such as 10s", "bad --seed-interval %s", interval)
	}
	set, warnings, err := seal.LoadMembers(path)
	if err != nil {
		return nil, asUsage(err, membersHint)
	}
	s := &seedSetup{path: path, warnings: warnings, hup: make(chan os.Signal, 1),
		cfg: send.Seeds{Signer: mode.signer, Members: set, Interval: interval, MaxDatagram: maxDatagram, Tags: mode.tags}}
	signal.Notify(s.hup, syscall.SIGHUP)
	return s, nil
}

// config returns the seed rounds' configuration, each round logged and
// counted in m.
func (s *seedSetup) config(log zerolog.Logger, m *metrics.Send) *send.Seeds {
	cfg := s.cfg
	cfg.Observe = func(r send.SeedRound) {
		m.SeedRound(r.Sealed, r.Datagrams, r.SendErrors)
		logLines(log, report.SeedRound(r))
	}
	return &cfg
}

// start logs the seeds' start and reloads the members on SIGHUP and when
// --members changes on disk, until the returned function is called.
func (s *seedSetup) start(ctx context.Context, log zerolog.Logger, loop *send.Loop) (stop func()) {
	for _, w := range s.warnings {
		log.Warn().Msg(w)
	}
	log.Info().Str("members", s.path).Int("hosts", s.cfg.Members.Len()).Int("per_datagram", loop.PerDatagram()).
		Dur("seed_interval", s.cfg.Interval).Msg("sealing seeds")
	r := &membersReloader{path: s.path, log: log, set: loop.SetMembers, prev: s.cfg.Members}
	ctx, cancel := context.WithCancel(ctx)
	wait := watchPath(ctx, s.path, "--members", s.hup, r.reload, log)
	return func() { cancel(); wait(); signal.Stop(s.hup) }
}
