package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/control"
	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/memlimit"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/sample"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/sink"
	"github.com/nordunet/ssmrandom/internal/words"
)

// recvDescription is recv's --help text and the man page's.
const recvDescription = "Joins (PRODUCER, GROUP) for each producer host name or address (several producers are\n" +
	"redundant transmitters) and verifies every frame against the --trust keys. Only the bytes\n" +
	"of frames that verify, are fresh (--max-age, --max-skew) and were not seen before reach\n" +
	"--output; every other datagram is dropped and counted by reason. Health tests then\n" +
	"refuse the bytes of a producer whose source has broken (--health): the SP 800-90B\n" +
	"repetition count and adaptive proportion tests, the repetition count test on the\n" +
	"differences between bytes, a duplicate check, and rngd's FIPS 140-2 tests (monobit,\n" +
	"poker, runs, long run, continuous) on 2500-byte blocks. A producer that fails is not\n" +
	"forwarded until 2048 good bytes in a row pass, after FIPS failures at least one whole\n" +
	"passing block. About one good block in 1,270 fails FIPS by chance: only its last frame\n" +
	"is refused, counted and not logged (docs/research.md). A FIFO is held open\n" +
	"read-write, so rngd may restart at will; when it is full, frames are dropped and counted\n" +
	"rather than stalling the socket. -o kernel adds the bytes to the kernel pool itself\n" +
	"(RNDADDENTROPY, needs CAP_SYS_ADMIN); --credit 0, the default, credits none of them,\n" +
	"since anyone on the path sees them: crediting only matters before the kernel RNG is\n" +
	"initialised (early boot, Linux 5.18+). --allow-unsigned also forwards the original\n" +
	"ssmrandom's unsigned frames, which anyone can forge, only for the time its producers\n" +
	"move over (docs/migration.md, docs/security.md).\n\n" +
	"--host-key FILE (ssmrandom keygen --host) makes recv a member: it opens its own entries\n" +
	"of the producers' seed datagrams (as ssmrandom seed does), learns each producer's member\n" +
	"key from them, and from then on drops that producer's datagrams whose member tag is\n" +
	"missing or wrong (bad_tag) before it verifies their signature, so a forged flood costs\n" +
	"about 1% of a verification per datagram (docs/protocol.md §10). With -o kernel it also\n" +
	"credits each seed it opens to the kernel as 256 bits and reseeds the kernel's RNG; with\n" +
	"any other output the seed is secret and is not written anywhere.\n\n" +
	"recv reads its socket in batches (recvmmsg). --rcvbuf sizes its receive buffer, which\n" +
	"Linux counts twice and, without CAP_NET_ADMIN, caps at sysctl net.core.rmem_max; what\n" +
	"the kernel drops when it is full is counted as kernel_drops (docs/deployment.md, Sizing).\n\n" +
	"recv reads --trust again on SIGHUP and, within a second, whenever a file in it changes\n" +
	"(symbolic links followed, as in a Kubernetes secret volume): a key added is trusted, a\n" +
	"key removed refused, from the next frame on; a file that does not load is logged and\n" +
	"passed over. With --metrics-addr it serves Prometheus metrics (docs/metrics.md)."

func recvCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		trustFlag("required unless --allow-unsigned"),
		&cli.StringFlag{Name: "host-key", Usage: "this host's private X25519 key, a JWK `FILE` of mode 0600: recv becomes a member of the producers' seed rounds (member tags)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: sink.DefaultFIFO, Usage: "write verified bytes to `PATH`: a FIFO (made if missing), a file (appended to), - for stdout, or kernel"},
		&cli.IntFlag{Name: "credit", Usage: "with -o kernel, credit `BITS` of entropy per byte, 0 to 8 (0: mix in, credit nothing)"},
		&cli.IntFlag{Name: "max-datagram", Aliases: []string{"s"}, Value: maxDatagramEthernet4, Usage: "drop datagrams over `BYTES` unread (-s as the original's recv; send's -s is --size)"},
		&cli.Uint64Flag{Name: "count", Aliases: []string{"n"}, Usage: "exit after writing `N` frames", DefaultText: "run until SIGINT/SIGTERM"},
		&cli.StringFlag{Name: "health", Value: "on", Usage: "`MODE` on or off: SP 800-90B and FIPS 140-2 health tests on each producer's bytes (off is for experiments only)"},
		&cli.Float64Flag{Name: "sample", Value: 1, Usage: "keep each frame with probability `P` (0 < P <= 1), decided before its signature is checked"},
		&cli.StringFlag{Name: "sample-interval", Usage: "after each kept frame, skip frames for a random time in `MIN:MAX` (e.g. 1s:20s, as the original ssmrandom did)"},
		&cli.IntFlag{Name: "workers", Value: runtime.NumCPU(), Usage: "verify signatures on `N` cores; frames are still forwarded in the order they arrived", DefaultText: "the number of CPUs"},
		&cli.IntFlag{Name: "batch", Value: receive.MaxBatch, Usage: fmt.Sprintf("when frames queue up, verify up to `N` signatures at once (1 to %d; 1: one by one)", receive.MaxBatch)},
		maxAgeFlag("frames"),
		maxSkewFlag("frames", " (the clock difference tolerated)"),
		&cli.DurationFlag{Name: "silence", Value: defaultSilence, Usage: "raise an alarm when no producer sent a verified frame, or the output took nothing, for `DURATION` (0: never)"},
	}
	flags = append(flags, netFlags()...)
	flags = append(flags, amtRelayFlag(), rcvbufFlag())
	flags = append(flags, &cli.BoolFlag{Name: "allow-unsigned", Usage: "also forward the original ssmrandom's unsigned frames, which anyone can forge"})
	flags = append(flags, daemonFlags()...)
	flags = append(flags, metricsFlag(), controlFlag("recv"))
	flags = append(flags, logFlags()...)
	return &cli.Command{
		Name:        "recv",
		Usage:       "join the SSM channel of each producer, verify every frame, write the bytes",
		ArgsUsage:   "PRODUCER...",
		Description: recvDescription,
		Flags:       flags,
		Action:      func(c *cli.Context) error { return runRecv(c, e) },
	}
}

func runRecv(c *cli.Context, e *env) error {
	if printVersion(c, e) {
		return nil
	}
	// A SIGHUP (systemctl reload) that comes early is a reload once recv
	// runs, never the default death.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hosts := c.Args().Slice()
	var opts *recvOptions
	log, ctx, stop, end, err := begin(c, e, flagsFirst(hosts), func() (err error) { opts, err = recvFlags(c, hosts); return err })
	if err != nil {
		return err
	}
	defer end()
	srv, m, err := recvMetrics(c)
	if err != nil {
		return err
	}
	if srv != nil {
		defer srv.Close()
	}
	// The output is opened and checked first, so a bad -o is one error
	// line and nothing else; a FIFO made here goes again if recv fails
	// to start.
	out, made, err := openOutput(c)
	if err != nil {
		return err
	}
	defer out.Close()
	receiving := false
	defer removeFIFO(made, c.String("output"), &receiving)
	ring, err := loadTrust(c.String("trust"), log)
	if err != nil {
		return err
	}
	closeSeeds, err := memberConfig(c, opts, ring, log)
	if err != nil {
		return err
	}
	defer closeSeeds()
	conn, err := joinChannel(ctx, c, hosts, opts.group, opts.ifi, log)
	if conn == nil {
		return err // nil for SIGINT or SIGTERM
	}
	defer conn.Close()
	if native, ok := conn.(*mcast.Receiver); ok { // an AMT gateway keeps its tunnel up itself
		defer keepJoined(native, log)()
	}
	pipe, err := newPipeline(c, opts, ring, out, m, log)
	if err != nil {
		return err
	}
	receiving, err = newRecvLoop(log, conn, pipe, m, opts).serve(ctx, c, stop, hup, srv, out, ring.Len(), opts)
	return err
}

// removeFIFO removes path, the FIFO recv made, unless recv got as far as
// receiving: a recv that fails to start leaves no FIFO behind.
func removeFIFO(made bool, path string, receiving *bool) {
	if made && !*receiving {
		os.Remove(path)
	}
}

// newRecvLoop returns the loop that reads conn into pipe, and has m read
// the pipeline's counters and alarms, and the datagrams from other
// sources that conn dropped.
func newRecvLoop(log zerolog.Logger, conn datagramConn, pipe *receive.Pipeline, m *metrics.Recv, opts *recvOptions) *recvLoop {
	src := metrics.Source{Stats: pipe.Stats, Producers: pipe.Producers, Foreign: conn.Foreign, Transport: transportMetrics(conn)}
	if opts.silence > 0 {
		src.Alarms = func() receive.Alarms { return pipe.Alarms(opts.silence) }
	}
	m.SetSource(src)
	return &recvLoop{log: log, conn: conn, pipe: pipe, sums: receive.NewSummaries(pipe, socketStats(conn)), metrics: m, silence: opts.silence,
		r: report.NewRecv(opts.silence, log.GetLevel() <= zerolog.DebugLevel)}
}

// serve reloads --trust (on hup and when it changes), serves the metrics
// on srv (if not nil) and status queries, and receives until ctx is done;
// then it calls stop, which ends the reloader and the servers, before it
// waits for them. started reports whether it got as far as receiving.
func (r *recvLoop) serve(ctx context.Context, c *cli.Context, stop func(), hup chan os.Signal, srv *metrics.Server, out sink.Sink, keys int, opts *recvOptions) (started bool, err error) {
	if c.String("trust") != "" {
		defer (&trustReloader{path: c.String("trust"), log: r.log, pipe: r.pipe, report: r.metrics.TrustReloaded, fitMemory: os.Getenv("GOMEMLIMIT") == ""}).start(ctx, hup)()
	}
	if srv != nil {
		defer serveMetrics(ctx, srv, r.metrics, r.log)()
	}
	waitControl, err := serveControl(ctx, c, "recv", r.log, recvStatus(r.pipe, r.sums, out, r.conn, opts.silence, c.Int("credit")))
	if err != nil {
		return false, err
	}
	defer waitControl()
	defer stop()
	r.log.Info().Str("output", out.String()).Int("keys", keys).Int("max_datagram", opts.maxDatagram).Msg("receiving")
	defer notifyReady(ctx, r.log, nil)() // systemd: READY=1 now, STOPPING=1 at the end
	return true, r.run(ctx, r.pipe, receive.Options{Workers: c.Int("workers"), Batch: c.Int("batch")}, c.Duration("stats-interval"))
}

// recvStatus returns what recv answers ssmrandom status.
func recvStatus(pipe *receive.Pipeline, sums *receive.Summaries, out sink.Sink, conn datagramConn, silence time.Duration, credit int) func() control.Status {
	transport := transportMetrics(conn)
	r := control.Recv{Silence: silence, Output: out.String(), Credit: credit,
		Transport: func() control.Transport { return control.Transport(transport()) }}
	if p, ok := out.(interface{ Pending() (int, error) }); ok {
		r.Pending = p.Pending
	}
	return func() control.Status {
		r := r
		r.Last, r.Now = sums.Last(), receive.Summary{Total: pipe.Stats(), Producers: pipe.Producers()}
		if silence > 0 {
			r.Alarms = pipe.Alarms(silence)
		}
		return control.RecvStatus(r, time.Now())
	}
}

// flagsFirst refuses a flag among the producer hosts.
func flagsFirst(hosts []string) error {
	for _, h := range hosts {
		if strings.HasPrefix(h, "-") && h != "-" {
			return usagef("put flags before the producer hosts: ssmrandom recv [flags] PRODUCER...", "flag %q after the producer hosts", h)
		}
	}
	return nil
}

// recvMetrics listens on --metrics-addr, if set; a nil *metrics.Recv
// means metrics are off, and its methods do nothing.
func recvMetrics(c *cli.Context) (*metrics.Server, *metrics.Recv, error) {
	srv, err := listenMetrics(c)
	if srv == nil || err != nil {
		return nil, nil, err
	}
	return srv, metrics.NewRecv(metrics.RecvConfig{Version: version}), nil
}

// recvOptions are recv's flags, checked.
type recvOptions struct {
	group       netip.AddrPort
	ifi         *net.Interface
	maxDatagram int
	silence     time.Duration  // --silence; 0: no alarms
	cfg         receive.Config // all but Trust, Output, ObserveVerify, Member and Seed
	hostKey     *seal.HostKey  // --host-key, or nil
}

// defaultSilence is --silence's default: two of --stats-interval's
// default summaries without a frame.
const defaultSilence = 2 * time.Minute

// recvFlags reads and checks recv's flags, but --trust's keys and the
// output, which are loaded and opened later.
func recvFlags(c *cli.Context, hosts []string) (*recvOptions, error) {
	if c.String("trust") == "" && !c.Bool("allow-unsigned") {
		return nil, usagef("name the producers' public keys with --trust, e.g. --trust keys/", "recv forwards only signed frames, and no --trust was given")
	}
	if len(hosts) == 0 {
		return nil, usagef("name at least one producer: ssmrandom recv [flags] PRODUCER...", "no producer host given")
	}
	var o recvOptions
	var err error
	if o.group, err = groupFlag(c); err != nil {
		return nil, err
	}
	if o.maxDatagram, err = maxDatagramValue(c); err != nil {
		return nil, err
	}
	if err := rcvbufValue(c); err != nil {
		return nil, err
	}
	if credit := c.Int("credit"); credit < 0 || credit > 8 || (c.IsSet("credit") && c.String("output") != "kernel") {
		return nil, usagef("--credit takes 0 to 8 bits per byte, with -o kernel", "bad --credit %d for output %q", credit, c.String("output"))
	}
	if err := outputFits(c, o.maxDatagram); err != nil {
		return nil, err
	}
	if c.Bool("allow-unsigned") && c.Int("credit") > 0 {
		return nil, usagef("leave out --credit with --allow-unsigned: anyone may have chosen unsigned bytes", "--credit %d with --allow-unsigned", c.Int("credit"))
	}
	if w := c.Int("workers"); w < 1 || w > 256 {
		return nil, usagef("--workers takes 1 to 256", "bad --workers %d", w)
	}
	if b := c.Int("batch"); b < 1 || b > receive.MaxBatch {
		return nil, usagef(fmt.Sprintf("--batch takes 1 to %d", receive.MaxBatch), "bad --batch %d", b)
	}
	if c.Duration("max-age") <= 0 {
		return nil, usagef("--max-age takes a positive duration such as 30s", "bad --max-age %s", c.Duration("max-age"))
	}
	if c.Duration("max-skew") < 0 {
		return nil, usagef("--max-skew takes a duration such as 5s, or 0", "bad --max-skew %s", c.Duration("max-skew"))
	}
	if o.silence = c.Duration("silence"); o.silence < 0 {
		return nil, usagef("--silence takes a duration such as 2m, or 0 for no alarm", "bad --silence %s", o.silence)
	}
	o.cfg = receive.Config{MaxDatagram: o.maxDatagram, MaxAge: c.Duration("max-age"), MaxSkew: c.Duration("max-skew"),
		Limit: c.Uint64("count"), AllowUnsigned: c.Bool("allow-unsigned")}
	if o.cfg.Sample, err = samplerFlags(c); err != nil {
		return nil, err
	}
	if o.cfg.Health, err = healthFlag(c); err != nil {
		return nil, err
	}
	if o.ifi, _, err = interfaceFlag(c); err != nil {
		return nil, err
	}
	if o.hostKey, err = hostKeyFlag(c); err != nil {
		return nil, err
	}
	return &o, nil
}

// hostKeyFlag loads --host-key, if given: recv is then a member.
func hostKeyFlag(c *cli.Context) (*seal.HostKey, error) {
	path := c.String("host-key")
	if path == "" {
		return nil, nil
	}
	if c.String("trust") == "" {
		return nil, usagef("name the producers' public keys with --trust: a member opens only their seed datagrams", "--host-key without --trust")
	}
	k, err := seal.LoadHostKey(path)
	if err != nil {
		return nil, asUsage(err, "--host-key takes this host's private key file, mode 0600, as ssmrandom keygen --host writes it")
	}
	return k, nil
}

// loadTrust loads the keys of --trust, and logs them. No path (only with
// --allow-unsigned) is no key.
func loadTrust(path string, log zerolog.Logger) (*sign.Keyring, error) {
	if path == "" {
		log.Warn().Msg("no --trust: no producer key is trusted, so only unsigned frames are forwarded and signed ones dropped (unknown_key)")
		return sign.NewKeyring()
	}
	ring, warnings, err := sign.LoadTrust(path)
	if err != nil {
		return nil, asUsage(err, "--trust takes a folder of public JWK files, a JWK file or a JWK Set file")
	}
	for _, w := range report.TrustWarnings(warnings) {
		log.Warn().Msg(words.Plain(w))
	}
	for _, k := range ring.Keys() {
		log.Info().Str("kid", k.ID).Str("file", k.File).Msg("trusting key")
	}
	return ring, nil
}

// memberConfig makes recv a member with --host-key: the pipeline opens
// this host's entries of seed datagrams; with -o kernel their seeds are
// credited to the kernel (through a second handle, crediting 8 bits per
// byte) and the kernel reseeded. The returned function closes it.
func memberConfig(c *cli.Context, o *recvOptions, ring *sign.Keyring, log zerolog.Logger) (func(), error) {
	if o.hostKey == nil {
		return func() {}, nil
	}
	var err error
	o.cfg.Member, err = hostseed.NewOpener(hostseed.Config{Trust: ring, Key: o.hostKey, MaxDatagram: o.maxDatagram,
		MaxAge: o.cfg.MaxAge, MaxSkew: o.cfg.MaxSkew})
	if err != nil {
		return nil, err
	}
	seeds := "not written anywhere (only -o kernel credits them)"
	closeSeeds := func() {}
	if c.String("output") == "kernel" {
		kernel, err := sink.OpenKernel(8)
		if err != nil {
			return nil, withHint(err, "run recv as root, or give its service CAP_SYS_ADMIN")
		}
		o.cfg.Seed = func(seed []byte) error {
			if _, err := kernel.Write(seed); err != nil {
				return err
			}
			return kernel.Reseed()
		}
		seeds, closeSeeds = "credited to the kernel, 256 bits each, and the kernel reseeded", func() { kernel.Close() }
	}
	log.Info().Str("host_key", o.hostKey.ID()).Str("seeds", seeds).Msg("member: opening this host's entries of seed datagrams and checking member tags")
	return closeSeeds, nil
}

// joinProducers resolves the producer hosts and joins their channels. It
// returns no receiver and no error if ctx ends first (SIGINT or SIGTERM).
func joinProducers(ctx context.Context, hosts []string, group netip.AddrPort, ifi *net.Interface, log zerolog.Logger) (*mcast.Receiver, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	sources, err := mcast.ResolveSources(rctx, hosts, group.Addr())
	cancel()
	if err != nil && ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) { // perhaps passing: a run-time failure
			return nil, withHint(err, "check the producer's name, and this host's resolver")
		}
		return nil, asUsage(err, "producers are host names or addresses of the group's family")
	}
	conn, err := mcast.JoinSSM(group, ifi, sources)
	if errors.Is(err, mcast.ErrNotUnicast) {
		// A configuration error: restarting cannot fix it (exit 2).
		return nil, asUsage(err, "producers are the unicast addresses (or names) the producers send from")
	}
	if err != nil {
		return nil, err
	}
	for _, s := range sources {
		log.Info().Str("source", s.String()).Str("group", group.String()).Str("interface", ifiName(ifi)).Msg("joined")
	}
	return conn, nil
}

// newPipeline makes the receive pipeline of the checked flags, and says
// which safeguards are off.
func newPipeline(c *cli.Context, o *recvOptions, ring *sign.Keyring, out sink.Sink, m *metrics.Recv, log zerolog.Logger) (*receive.Pipeline, error) {
	if o.cfg.Health == nil {
		log.Warn().Msg("health tests are OFF (--health off): bytes of a broken producer are forwarded as they are")
	}
	if o.cfg.AllowUnsigned {
		log.Warn().Str("see", "docs/security.md").Msg("accepting UNSIGNED version 1.0 frames (--allow-unsigned): anyone can forge them; only the health tests catch replays")
	}
	cfg := o.cfg
	cfg.Trust, cfg.Output = ring, out
	if m != nil {
		cfg.ObserveVerify = m.ObserveVerify
	}
	pipe, err := receive.New(cfg)
	if err != nil {
		return nil, err
	}
	// Keep the heap small under a flood of forged datagrams, whose
	// verification makes short-lived garbage: unless GOMEMLIMIT says
	// otherwise, the collector works harder past twice what recv holds
	// with its keyring loaded (8 MiB at least), refitted on each reload.
	if os.Getenv("GOMEMLIMIT") == "" {
		memlimit.Fit()
	}
	return pipe, nil
}

// recvLoop logs what the pipeline does, as r decides: drops, alarms and
// summaries.
type recvLoop struct {
	log     zerolog.Logger
	conn    datagramConn // a native receiver or an AMT gateway
	pipe    *receive.Pipeline
	sums    *receive.Summaries
	metrics *metrics.Recv // nil if off
	silence time.Duration // --silence; 0: no alarms
	r       *report.Recv
}

// run receives until a signal, --count frames or an error, with a summary
// every interval (0: none) and one at the end.
func (r *recvLoop) run(ctx context.Context, pipe *receive.Pipeline, opts receive.Options, interval time.Duration) error {
	stopSums := r.summaries(interval)
	loop := receive.Loop[netip.Addr]{
		Read: func(buf []byte) (int, netip.Addr, error) {
			n, src, err := r.conn.Read(buf)
			if errors.Is(err, mcast.ErrTruncated) {
				err = nil // buf is longer than any --max-datagram: dropped as too big
			}
			return n, src, err
		},
		Stop:    func() { r.conn.Close() },
		BufSize: mcast.ReadBufferSize,
		Observe: r.dropped,
		Options: opts,
	}
	if native, ok := r.conn.(*mcast.Receiver); ok {
		loop.ReadBatch = native.ReadBatch // recvmmsg
	}
	err := receive.Run(ctx, pipe, loop)
	stopSums()
	logLines(r.log, r.r.Stopped(r.sums.Next(), r.pipe.Producers(), transportFields(r.conn), time.Now()))
	switch {
	case errors.Is(err, receive.ErrOutput):
		r.metrics.SinkError()
	case errors.Is(err, net.ErrClosed) && ctx.Err() != nil:
		return nil // SIGINT or SIGTERM
	}
	return err
}

// summaries logs a summary every interval, and the alarms as they are
// raised and cleared, until the returned function is called, which waits
// for the last one; an interval of 0 logs no summary.
func (r *recvLoop) summaries(interval time.Duration) (stop func()) {
	if interval <= 0 && r.silence <= 0 {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var sums, alarms <-chan time.Time
		if interval > 0 {
			t := time.NewTicker(interval)
			defer t.Stop()
			sums = t.C
		}
		if r.silence > 0 {
			t := time.NewTicker(report.AlarmEvery(r.silence))
			defer t.Stop()
			alarms = t.C
		}
		for {
			select {
			case <-sums:
				r.checkAlarms()
				logLines(r.log, r.r.Summary(r.sums.Next(), transportFields(r.conn), time.Now()))
			case <-alarms:
				r.checkAlarms()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// checkAlarms logs each alarm once when it is raised, and when it is
// cleared.
func (r *recvLoop) checkAlarms() {
	if r.silence > 0 {
		logLines(r.log, r.r.Alarms(r.pipe.Alarms(r.silence))...)
	}
}

// dropped counts each health-test failure and isolated FIPS block failure
// in the metrics, and logs what r decides of a datagram the pipeline did
// not forward or whose frame changed its producer's health.
func (r *recvLoop) dropped(_ []byte, src netip.Addr, v receive.Verdict) {
	switch {
	case v.HealthFailed():
		r.metrics.HealthFailure(v.KeyID)
	case v.BlockFailed():
		r.metrics.BlockFailure(v.KeyID)
	}
	if lines := r.r.Verdict(src, v); lines != nil {
		logLines(r.log, lines...)
	}
}

// openOutput opens -o/--output: "kernel" is the kernel pool, anything else
// a path or - for stdout. made reports whether it made the path (a FIFO).
func openOutput(c *cli.Context) (out sink.Sink, made bool, err error) {
	path := c.String("output")
	if path == "kernel" {
		out, err := sink.OpenKernel(c.Int("credit"))
		if errors.Is(err, fs.ErrPermission) {
			// A configuration error: restarting cannot fix it (exit 2).
			return nil, false, asUsage(err, "run recv as root, or give its service CAP_SYS_ADMIN (AmbientCapabilities=CAP_SYS_ADMIN)")
		}
		return out, false, err
	}
	_, statErr := os.Lstat(path)
	out, err = sink.Open(path)
	if err != nil {
		return nil, false, asUsage(err, "-o/--output takes a FIFO, a regular file, a path to make a FIFO at, - for stdout, or kernel")
	}
	return out, path != "-" && errors.Is(statErr, fs.ErrNotExist), nil
}

// outputFits refuses an output that cannot take, in one write, the largest
// frame a datagram within --max-datagram can carry: a FIFO takes
// sink.PipeBuf bytes at once. (Any such frame would be dropped as
// output_too_big.)
func outputFits(c *cli.Context, maxDatagram int) error {
	out, unsigned := c.String("output"), c.Bool("allow-unsigned")
	if out == "kernel" {
		return nil
	}
	limit, most := sink.MaxWrite(out), receive.MaxData(maxDatagram, unsigned)
	if limit == 0 || most <= limit {
		return nil
	}
	return usagef(fmt.Sprintf("use -s/--max-datagram %d or less with a FIFO, or write to a file", receive.MaxDatagramFor(limit, unsigned)),
		"-o/--output %q: a FIFO takes at most %d bytes at once, and a datagram of --max-datagram %d bytes can carry a frame of %d", out, limit, maxDatagram, most)
}

// samplerFlags reads --sample and --sample-interval; nil means keep all.
func samplerFlags(c *cli.Context) (receive.Sampler, error) {
	cfg := sample.Config{P: c.Float64("sample")}
	if iv := c.String("sample-interval"); iv != "" {
		lo, hi, ok := strings.Cut(iv, ":")
		if !ok {
			hi = lo
		}
		var err1, err2 error
		cfg.MinInterval, err1 = time.ParseDuration(lo)
		cfg.MaxInterval, err2 = time.ParseDuration(hi)
		if err1 != nil || err2 != nil || cfg.MinInterval < 0 || cfg.MaxInterval < cfg.MinInterval || cfg.MaxInterval == 0 {
			return nil, usagef("--sample-interval takes MIN:MAX durations such as 1s:20s, or one duration", "bad --sample-interval %q", iv)
		}
	}
	if cfg.P == 1 && cfg.MaxInterval == 0 {
		return nil, nil
	}
	s, err := sample.New(cfg)
	if err != nil {
		return nil, asUsage(err, "--sample takes a probability P with 5.5e-20 <= P <= 1")
	}
	return s, nil
}

// healthFlag reads --health: it returns the factory of per-producer
// health checks, or nil for off.
func healthFlag(c *cli.Context) (func(kid string) receive.HealthCheck, error) {
	switch c.String("health") {
	case "off":
		return nil, nil
	case "on":
		return receive.HealthMonitors(health.Config{})
	}
	return nil, usagef("--health takes on or off", "bad --health %q", c.String("health"))
}
