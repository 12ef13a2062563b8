package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/control"
	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/health"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// defaultRate is the default --rate in bytes per second: 32 frames of 512
// bytes a second, far more than a receiver's rngd consumes.
const defaultRate = 16384

// Warnings logged at the start of an unsigned or raw send.
const (
	unsignedWarning = "sending UNSIGNED version 1.0 frames (--unsigned): anyone on the path can forge, change or replay them; " +
		"move the receivers to 'ssmrandom recv --trust', then drop --unsigned (docs/migration.md)"
	rawWarning = "sending the input's bytes bare (rawsend): no framing and no signature; ssmrandom recv drops every such datagram"
)

func sendCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Value: "keys/producer.jwk", Usage: "private key `FILE` (JWK, mode 0600) to sign with"},
		inputFlag(), ttlFlag(),
		&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Usage: "entropy `BYTES` per frame (recv's -s is --max-datagram)", DefaultText: "the largest power of two that fits --max-datagram"},
		maxDatagramFlag(),
		&cli.StringFlag{Name: "source", Usage: "source `NAME` in every frame", DefaultText: "this host's name; with --unsigned, the --input path"},
		rateFlag(),
		&cli.Uint64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` frames", DefaultText: "until the input ends, or SIGINT/SIGTERM"},
		&cli.BoolFlag{Name: "unsigned", Usage: "send the original ssmrandom's unsigned v1.0 frames: no key, no signature (docs/migration.md)"},
		&cli.StringFlag{Name: "members", Usage: "also seal a secret seed to each host key in `PATH` every --seed-interval"},
		&cli.DurationFlag{Name: "seed-interval", Value: send.DefaultSeedInterval, Usage: "start a seed round every `DURATION`"},
		&cli.IntFlag{Name: "workers", Usage: "sign on `N` cores at once", DefaultText: "every core"},
	}
	return &cli.Command{
		Name:  "send",
		Usage: "read entropy, sign every frame, multicast it",
		Description: "Reads --input in --size chunks, signs each as a JWS (EdDSA) with --key and sends it to\n" +
			"the SSM group, on --workers cores at once (default every core) yet numbered and sent in\n" +
			"order. Stops at the end of a regular file or stdin, after --count frames, or on\n" +
			"SIGINT/SIGTERM, and logs a summary. A failed send is logged and counted, not fatal.\n" +
			"Health tests (--health, as recv runs them) check the input before any of it is signed or\n" +
			"sealed; while it fails them nothing is sent, neither frames nor seeds (docs/security.md).\n" +
			"With --unsigned it sends the original ssmrandom's unsigned frames, byte for byte as it\n" +
			"did, for receivers not yet moved over; ssmrandom recv takes them only with --allow-unsigned.\n" +
			"Nothing stops a forger of unsigned frames.\n\n" +
			"With --members (a folder of host public keys made by 'ssmrandom keygen --host', a JWK\n" +
			"file or a JWK Set) it also sends sealed seeds (docs/protocol.md §9): every --seed-interval,\n" +
			"a fresh 32-byte seed for each host whose key is valid, derived from --input mixed with the\n" +
			"system's generator, sealed to that host alone and signed, on the same group and sequence\n" +
			"as the frames and paced beside them. --members is read again on SIGHUP and when it\n" +
			"changes. Hosts take their seed with 'ssmrandom seed'; see docs/deployment.md.\n" +
			"Each round also seals a fresh member key; once a round is sent, every datagram carries\n" +
			"a tag under its key (\"mt\", docs/protocol.md §10), which lets members drop forgeries\n" +
			"cheaply. Datagrams are sized for the tag (53 bytes) from the start: at --max-datagram\n" +
			"1232 the default --size is 256, and a seed datagram holds 5 hosts.\n\n" +
			maxDatagramHelp + "\n\n" + daemonHelp,
		Flags:  senderFlags(flags),
		Action: func(c *cli.Context) error { return runSend(c, e) },
	}
}

// senderFlags adds the flags send and rawsend share to flags.
func senderFlags(flags []cli.Flag) []cli.Flag {
	flags = append(flags, &cli.StringFlag{Name: "health", Value: "on", Usage: "`MODE` on or off: SP 800-90B and FIPS 140-2 health tests on the input before sending (off is for experiments only)"})
	flags = append(flags, netFlags()...)
	flags = append(flags, metricsFlag(), controlFlag("send"))
	flags = append(flags, daemonFlags()...)
	return append(flags, logFlags()...)
}

func inputFlag() cli.Flag {
	return &cli.StringFlag{Name: "input", Aliases: []string{"r"}, Value: "/dev/urandom", Usage: "entropy `SOURCE`: a device, a file, or - for stdin"}
}

func ttlFlag() cli.Flag {
	return &cli.IntFlag{Name: "ttl", Aliases: []string{"t"}, Value: defaultTTL, Usage: "multicast `TTL`, 0 to 255"}
}

func rateFlag() cli.Flag {
	return &cli.IntFlag{Name: "rate", Value: defaultRate, Usage: "send at most `BYTES` of entropy per second (0 for no limit)"}
}

// sendMode is what a send command puts in each datagram, chosen once.
type sendMode struct {
	framer      send.Framer
	source      string
	signer      *sign.Signer // signed frames only
	maxSize     int          // the largest -s/--size
	defaultSize int          // where the search for a size that fits starts
	noun        string       // what the summary counts, singular
	warning     string       // logged at the start, if not ""
	start       func(*zerolog.Event) *zerolog.Event
	seeds       *seedSetup   // send --members only
	tags        *send.TagKey // send --members only
}

func runSend(c *cli.Context, e *env) error {
	return runSender(c, e, func(c *cli.Context) (*sendMode, error) {
		if c.Bool("unsigned") {
			return unsignedMode(c)
		}
		return signedMode(c)
	})
}

// signedMode is send's: signed frames.
func signedMode(c *cli.Context) (*sendMode, error) {
	source, err := sourceFlag(c, os.Hostname, "this host's name")
	if err != nil {
		return nil, err
	}
	signer, err := loadSigner(c)
	if err != nil {
		return nil, err
	}
	if v := signer.Valid(); !v.Contains(time.Now()) {
		return nil, usagef("make a new key with 'ssmrandom keygen' and give receivers its public half",
			"key %s of %s is valid %s, not now: every receiver would drop its frames", signer.KeyID(), c.String("key"), v)
	}
	mode := &sendMode{
		framer: send.NewSigned(signer), source: source, signer: signer, maxSize: frame.MaxData, defaultSize: 1 << 12, noun: "frame",
		start: func(ev *zerolog.Event) *zerolog.Event { return ev.Str("kid", signer.KeyID()) },
	}
	if c.String("members") != "" { // member tags: frames sized for them from the start
		mode.tags = new(send.TagKey)
		mode.framer = send.NewTagged(signer, mode.tags)
	}
	return mode, nil
}

// unsignedMode is send --unsigned's: the original ssmrandom's frames.
func unsignedMode(c *cli.Context) (*sendMode, error) {
	// The original put its input's path in "s".
	source, err := sourceFlag(c, func() (string, error) { return c.String("input"), nil }, "the input's path")
	if err != nil {
		return nil, err
	}
	if c.IsSet("key") {
		return nil, usagef("leave out -k/--key, or --unsigned to sign with it", "--unsigned frames are not signed, and a key was given")
	}
	return &sendMode{
		framer: send.V1{}, source: source, maxSize: frame.MaxData, defaultSize: 1 << 12, noun: "frame", warning: unsignedWarning,
		start: func(ev *zerolog.Event) *zerolog.Event { return ev.Str("format", "v1.0 unsigned").Str("source", source) },
	}, nil
}

// sourceFlag reads --source or, without it, the name fallback returns;
// what says in errors what that name is.
func sourceFlag(c *cli.Context, fallback func() (string, error), what string) (string, error) {
	source := c.String("source")
	if source == "" {
		var err error
		if source, err = fallback(); err != nil || !frame.ValidSource(source) {
			return "", usagef("name the source with --source", "%s %q cannot be a source name", what, source)
		}
	}
	if !frame.ValidSource(source) {
		return "", usagef(fmt.Sprintf("--source takes 1 to %d printable ASCII characters without quotes, backslashes or spaces", frame.MaxSource), "bad source name %q", source)
	}
	return source, nil
}

// sendConfig is what the send commands read from their flags, before
// anything is opened.
type sendConfig struct {
	group       netip.AddrPort
	ifi         *net.Interface
	from        netip.Addr // -i's address, or none
	ttl, size   int
	maxDatagram int
	health      *health.Config // nil: --health off
}

// runSender is send and rawsend: chooseMode says what goes in each
// datagram.
func runSender(c *cli.Context, e *env, chooseMode func(*cli.Context) (*sendMode, error)) error {
	if printVersion(c, e) {
		return nil
	}
	var cfg sendConfig
	var mode *sendMode
	log, ctx, stop, end, err := begin(c, e, noArgs(c), func() (err error) { cfg, mode, err = readSendFlags(c, chooseMode); return err })
	if err != nil {
		return err
	}
	defer end() // SIGINT or SIGTERM ends the command cleanly from the start
	in, err := openInput(c.String("input"), e.stdin)
	if err != nil {
		return asUsage(err, "-r/--input takes a device, a file, or - for stdin")
	}
	defer in.Close()
	srv, err := listenMetrics(c)
	if err != nil {
		return err
	}
	var m *metrics.Send // nil: metrics off, and its methods do nothing
	if srv != nil {
		defer srv.Close()
		m = metrics.NewSend(version)
	}
	conn, err := mcast.DialFrom(cfg.group, cfg.ifi, cfg.from, cfg.ttl)
	if err != nil {
		return err
	}
	defer conn.Close()
	mode.start(log.Info()).Str("group", cfg.group.String()).Str("source_addr", conn.LocalAddr().Addr().String()).
		Str("interface", ifiName(cfg.ifi)).Int("ttl", cfg.ttl).Int("size", cfg.size).Int("max_datagram", cfg.maxDatagram).
		Str("input", c.String("input")).Int("rate", c.Int("rate")).Msg("sending")
	if mode.warning != "" {
		log.Warn().Msg(mode.warning)
	}
	if cfg.health == nil {
		log.Warn().Msg("health tests are OFF (--health off): the input is sent as it is, even if its source has broken")
	}
	if srv != nil {
		defer serveMetrics(ctx, srv, m, log)()
		defer stop() // ends the metrics server, before its wait
	}
	return runLoop(ctx, c, log, m, mode, send.Config{Input: in, Conn: conn, Size: cfg.size, Health: cfg.health})
}

// readSendFlags reads and checks the flags of send and rawsend.
func readSendFlags(c *cli.Context, chooseMode func(*cli.Context) (*sendMode, error)) (sendConfig, *sendMode, error) {
	var cfg sendConfig
	var err error
	if cfg.group, err = groupFlag(c); err != nil {
		return cfg, nil, err
	}
	if cfg.ttl = c.Int("ttl"); cfg.ttl < 0 || cfg.ttl > 255 {
		return cfg, nil, usagef("-t/--ttl takes 0 to 255", "bad TTL %d", cfg.ttl)
	}
	if c.Int("rate") < 0 {
		return cfg, nil, usagef("--rate takes bytes per second, or 0 for no limit", "bad rate %d", c.Int("rate"))
	}
	if w := c.Int("workers"); c.IsSet("workers") && (w < 1 || w > send.MaxWorkers) {
		return cfg, nil, usagef(fmt.Sprintf("--workers takes 1 to %d", send.MaxWorkers), "bad --workers %d", w)
	}
	if cfg.maxDatagram, err = maxDatagramValue(c); err != nil {
		return cfg, nil, err
	}
	switch c.String("health") {
	case "on":
		cfg.health = &health.Config{}
	case "off":
	default:
		return cfg, nil, usagef("--health takes on or off", "bad --health %q", c.String("health"))
	}
	mode, err := chooseMode(c)
	if err != nil {
		return cfg, nil, err
	}
	if cfg.ifi, cfg.from, err = interfaceFlag(c); err != nil {
		return cfg, nil, err
	}
	if cfg.size, err = sizeFlag(c, mode, cfg.maxDatagram); err != nil {
		return cfg, nil, err
	}
	mode.seeds, err = seedFlags(c, mode, cfg.maxDatagram)
	return cfg, mode, err
}

// sizeFlag reads -s/--size, or without it picks the largest power of two
// up to the mode's default whose datagrams fit maxDatagram.
func sizeFlag(c *cli.Context, mode *sendMode, maxDatagram int) (int, error) {
	fits := func(n int) bool { return mode.framer.Len(mode.source, n) <= maxDatagram }
	size := c.Int("size")
	if c.IsSet("size") && (size < 1 || size > mode.maxSize) {
		return 0, usagef(fmt.Sprintf("-s/--size takes 1 to %d bytes", mode.maxSize), "bad size %d", size)
	}
	if !c.IsSet("size") {
		for size = mode.defaultSize; size > 1 && !fits(size); size >>= 1 {
		}
	}
	if size >= 1 && fits(size) {
		return size, nil
	}
	largest := 0
	for n := 1; n <= mode.maxSize && fits(n); n++ {
		largest = n
	}
	hint := fmt.Sprintf("use -s/--size %d or less, or raise --max-datagram on networks known to carry larger datagrams", largest)
	if _, raw := mode.framer.(send.Raw); raw {
		return 0, usagef(hint, "%d bytes do not fit a datagram of %d bytes", size, maxDatagram)
	}
	return 0, usagef(hint, "frames of %d bytes do not fit a datagram of %d bytes (source %q)", size, maxDatagram, mode.source)
}

// runLoop runs the send loop of cfg with the rest of its configuration
// from the flags, logs what it does and its summary, and counts it in m.
func runLoop(ctx context.Context, c *cli.Context, log zerolog.Logger, m *metrics.Send, mode *sendMode, cfg send.Config) error {
	cfg.Framer, cfg.Source, cfg.Rate, cfg.Count, cfg.Workers = mode.framer, mode.source, c.Int("rate"), c.Uint64("count"), c.Int("workers")
	if mode.signer != nil {
		cfg.Expires = mode.signer.Valid().NotAfter
	}
	obs := &sendObserver{log: log, m: m, r: report.NewSend(log.GetLevel() <= zerolog.DebugLevel)}
	cfg.Observe = obs.observe
	if mode.seeds != nil {
		cfg.Seeds = mode.seeds.config(log, m)
	}
	cfg.HealthChange = func(err error) {
		if err != nil {
			log.Error().Str("input", c.String("input")).
				Msgf("input failed health tests: %s; sending nothing until it passes again", strings.TrimPrefix(err.Error(), "health: "))
			return
		}
		log.Info().Str("input", c.String("input")).Msg("input passes health tests again")
	}
	loop, err := send.New(cfg)
	if err != nil {
		return err
	}
	if cfg.Health != nil {
		m.WatchInput(func() metrics.InputHealth {
			s := loop.Stats()
			return metrics.InputHealth{Failures: s.HealthFailures, Blocks: s.HealthBlocks, Dropped: s.HealthDropped, Unhealthy: s.Unhealthy}
		})
	}
	defer notifyReady(ctx, log, func() uint64 { s := loop.Stats(); return s.Frames + s.SendErrors + s.SeedDatagrams })()
	if mode.seeds != nil {
		defer mode.seeds.start(ctx, log, loop)()
	}
	sums := send.NewSummaries(loop)
	var kid string
	if mode.signer != nil {
		kid = mode.signer.KeyID()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	waitControl, err := serveControl(ctx, c, "send", log, func() control.Status {
		start, end := sums.Last()
		return control.SendStatus(kid, start, end, loop.Stats(), obs.r.Failing())
	})
	if err != nil {
		return err
	}
	defer waitControl()
	defer cancel() // ends the control server, before its wait: also when send ends by itself (--count, end of input)
	defer logSummaries(ctx, sums, log, c.Duration("stats-interval"))()
	err = loop.Run(ctx)
	switch {
	case errors.Is(err, send.ErrRead):
		m.ReadError()
	case errors.Is(err, send.ErrKeyExpired):
		err = fmt.Errorf("key %s expired at %s: receivers drop its frames from then on; start send with the next key",
			mode.signer.KeyID(), mode.signer.Valid().NotAfter.UTC().Format(time.RFC3339))
	}
	logLines(log, report.SendTotal(loop.Stats(), mode.noun))
	return err
}

// sendObserver counts each frame sent in the metrics and logs what r
// decides of it.
type sendObserver struct {
	log zerolog.Logger
	m   *metrics.Send
	r   *report.Send
}

// observe is send.Config.Observe.
func (o *sendObserver) observe(ev send.Event) {
	if ev.Err != nil {
		o.m.SendError()
	} else {
		o.m.Sent(ev.Bytes)
	}
	if lines := o.r.Event(ev); lines != nil {
		logLines(o.log, lines...)
	}
}

// logSummaries logs what the loop did in each interval (never if it is
// 0) until the returned function is called.
func logSummaries(ctx context.Context, sums *send.Summaries, log zerolog.Logger, interval time.Duration) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				logLines(log, report.SendSummary(sums.Next(), interval))
			}
		}
	}()
	return func() { cancel(); <-done }
}

// loadSigner loads -k/--key.
func loadSigner(c *cli.Context) (*sign.Signer, error) {
	signer, err := sign.LoadSigner(c.String("key"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !c.IsSet("key") {
			return nil, asUsage(err, "make a key with 'ssmrandom keygen', or name one with -k/--key")
		}
		if errors.Is(err, sign.ErrPermissions) {
			return nil, asUsage(err, "chmod 600 "+c.String("key")+" so that only its owner can read it")
		}
		return nil, asUsage(err, "-k/--key takes a private Ed25519 JWK file made by 'ssmrandom keygen'")
	}
	return signer, nil
}

// openInput opens the entropy source; "-" is stdin.
func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("input: %s is a directory", name)
	}
	return f, nil
}
