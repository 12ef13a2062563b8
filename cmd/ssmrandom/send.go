package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
	"golang.org/x/time/rate"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// defaultRate is the default --rate in bytes per second: 32 frames of 512
// bytes a second, far more than a receiver's rngd consumes.
const defaultRate = 16384

func sendCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Value: "keys/producer.jwk", Usage: "private key `FILE` (JWK, mode 0600) to sign with"},
		&cli.StringFlag{Name: "input", Aliases: []string{"r"}, Value: "/dev/urandom", Usage: "entropy `SOURCE`: a device, a file, or - for stdin"},
		&cli.IntFlag{Name: "ttl", Aliases: []string{"t"}, Value: mcast.DefaultTTL, Usage: "multicast `TTL`, 0 to 255"},
		&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Usage: "entropy `BYTES` per frame", DefaultText: "the largest power of two that fits --max-datagram"},
		&cli.IntFlag{Name: "max-datagram", Value: budgetSafe, Usage: fmt.Sprintf("largest datagram to send, in `BYTES`: %d fits every path unfragmented, %d fits IPv4 over Ethernet, %d IPv6 over Ethernet", budgetSafe, budgetEthernet4, budgetEthernet6)},
		&cli.StringFlag{Name: "source", Usage: "source `NAME` put in every frame (default: this host's name; with --unsigned, the --input path, as the original ssmrandom did)"},
		&cli.IntFlag{Name: "rate", Value: defaultRate, Usage: "send at most `BYTES` of entropy per second (0 for no limit)"},
		&cli.Uint64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` frames", DefaultText: "until the input ends, or SIGINT/SIGTERM"},
		&cli.BoolFlag{Name: "unsigned", Usage: "send the original ssmrandom's unsigned version 1.0 frames instead, for receivers that still run it: no key, no signature, nothing stops a forger (docs/migration.md)"},
	}
	flags = append(flags, netFlags()...)
	flags = append(flags, metricsFlag())
	flags = append(flags, daemonFlags()...)
	flags = append(flags, logFlags()...)
	return &cli.Command{
		Name:  "send",
		Usage: "read entropy, sign every frame, multicast it",
		Description: "Reads --input in --size chunks, signs each as a JWS (EdDSA) with --key and sends it to\n" +
			"the SSM group. Stops at the end of a regular file or stdin, after --count frames, or on\n" +
			"SIGINT/SIGTERM, and logs a summary. A failed send is logged and counted, not fatal.\n" +
			"With --unsigned it sends the original ssmrandom's unsigned frames, byte for byte as it\n" +
			"did, for receivers not yet moved over; ssmrandom recv takes them only with --allow-unsigned.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return runSend(c, e) },
	}
}

// sendMode is what a sender puts in each datagram.
type sendMode int

const (
	modeSigned   sendMode = iota // an IEDP 2.0 frame signed as a JWS: send
	modeUnsigned                 // the original ssmrandom's unsigned version 1.0 frame: send --unsigned
	modeRaw                      // the input's bytes as they are: rawsend
)

func runSend(c *cli.Context, e *env) error {
	mode := modeSigned
	if c.Bool("unsigned") {
		mode = modeUnsigned
	}
	return runSender(c, e, mode)
}

// runSender is send and rawsend: mode says what goes in each datagram.
func runSender(c *cli.Context, e *env, mode sendMode) error {
	if printVersion(c, e) {
		return nil
	}
	if err := noArgs(c); err != nil {
		return err
	}
	log, err := newLogger(c, e.stderr)
	if err != nil {
		return err
	}
	// SIGINT or SIGTERM ends the command cleanly from the start.
	ctx, stop := signalContext(c.Context)
	defer stop()
	group, err := groupFlag(c)
	if err != nil {
		return err
	}
	ttl := c.Int("ttl")
	if ttl < 0 || ttl > 255 {
		return usagef("-t/--ttl takes 0 to 255", "bad TTL %d", ttl)
	}
	if c.Int("rate") < 0 {
		return usagef("--rate takes bytes per second, or 0 for no limit", "bad rate %d", c.Int("rate"))
	}
	budget, err := budgetFlag(c)
	if err != nil {
		return err
	}
	source := c.String("source")
	switch {
	case mode == modeRaw:
	case source == "" && mode == modeUnsigned:
		// The original put its input's path in "s".
		if source = c.String("input"); !frame.ValidSource(source) {
			return usagef("name the source with --source", "the input's path %q cannot be a source name", source)
		}
	case source == "":
		if source, err = os.Hostname(); err != nil || !frame.ValidSource(source) {
			return usagef("name the source with --source", "this host's name %q cannot be a source name", source)
		}
	}
	if mode != modeRaw && !frame.ValidSource(source) {
		return usagef(fmt.Sprintf("--source takes 1 to %d printable ASCII characters without quotes, backslashes or spaces", frame.MaxSource), "bad source name %q", source)
	}
	ifi, err := interfaceFlag(c)
	if err != nil {
		return err
	}
	var signer *sign.Signer
	var fits func(size int) bool // whether datagrams of size bytes of entropy fit the budget
	maxSize, defaultSize := frame.MaxData, 1<<12
	switch mode {
	case modeSigned:
		if signer, err = loadSigner(c); err != nil {
			return err
		}
		if v := signer.Valid(); !v.Contains(time.Now()) {
			return usagef("make a new key with 'ssmrandom keygen' and give receivers its public half",
				"key %s of %s is valid %s, not now: every receiver would drop its frames", signer.KeyID(), c.String("key"), v)
		}
		fits = func(size int) bool { return signer.Len(frame.MaxLen(source, size)) <= budget }
	case modeUnsigned:
		if c.IsSet("key") {
			return usagef("leave out -k/--key, or --unsigned to sign with it", "--unsigned frames are not signed, and a key was given")
		}
		fits = func(size int) bool { return frame.V1Len(source, size) <= budget }
	case modeRaw:
		maxSize, defaultSize = maxBudget, rawDefaultSize
		fits = func(size int) bool { return size <= budget }
	}
	size := c.Int("size")
	if c.IsSet("size") && (size < 1 || size > maxSize) {
		return usagef(fmt.Sprintf("-s/--size takes 1 to %d bytes", maxSize), "bad size %d", size)
	}
	if !c.IsSet("size") {
		for size = defaultSize; size > 1 && !fits(size); size >>= 1 {
		}
	}
	if size < 1 || !fits(size) {
		largest := 0
		for n := 1; n <= maxSize && fits(n); n++ {
			largest = n
		}
		hint := fmt.Sprintf("use -s/--size %d or less, or raise --max-datagram on networks known to carry larger datagrams", largest)
		if mode == modeRaw {
			return usagef(hint, "%d bytes do not fit a datagram of %d bytes", size, budget)
		}
		return usagef(hint, "frames of %d bytes do not fit a datagram of %d bytes (source %q)", size, budget, source)
	}
	release, err := takePidfile(c, log)
	if err != nil {
		return err
	}
	defer release()
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
	sender, err := mcast.Dial(group, ifi, ttl)
	if err != nil {
		return err
	}
	defer sender.Close()
	start := log.Info()
	switch mode {
	case modeSigned:
		start = start.Str("kid", signer.KeyID())
	case modeUnsigned:
		start = start.Str("format", "v1.0 unsigned").Str("source", source)
	case modeRaw:
		start = start.Str("format", "raw")
	}
	start.Str("group", group.String()).Str("source_addr", sender.LocalAddr().Addr().String()).
		Str("interface", ifiName(ifi)).Int("ttl", ttl).Int("size", size).Int("max_datagram", budget).
		Str("input", c.String("input")).Int("rate", c.Int("rate")).Msg("sending")
	switch mode {
	case modeUnsigned:
		log.Warn().Msg("sending UNSIGNED version 1.0 frames (--unsigned) for receivers that still run the original ssmrandom: " +
			"anyone on the path can forge, change or replay them and no receiver can tell; " +
			"move the receivers to 'ssmrandom recv --trust' and then drop --unsigned (docs/migration.md)")
	case modeRaw:
		log.Warn().Msg("sending the input's bytes bare (rawsend): no framing and no signature; ssmrandom recv drops every such datagram")
	}

	if srv != nil {
		defer serveMetrics(ctx, srv, m, log)()
		defer stop() // ends the metrics server, before its wait
	}
	s := &sendLoop{
		log: log, mode: mode, signer: signer, sender: sender, in: in, size: size, source: source,
		count: c.Uint64("count"), interval: c.Duration("stats-interval"), metrics: m,
	}
	if signer != nil && !signer.Valid().NotAfter.IsZero() {
		s.expires = signer.Valid().NotAfter.UnixMilli()
	}
	if r := c.Int("rate"); r > 0 {
		// A burst of 20 ms of frames (at least one): paced, yet a sleep that
		// overshoots (timers are coarse on busy hosts) is made up for.
		s.limit = rate.NewLimiter(rate.Limit(r), max(size, r/50))
	}
	err = s.run(ctx)
	noun := "frames"
	if mode == modeRaw {
		noun = "datagrams"
	}
	log.Info().Uint64("frames", s.frames).Uint64("bytes", s.bytes).Uint64("send_errors", s.sendErrors).
		Msgf("sent %d %s, %d bytes, %d send errors", s.frames, noun, s.bytes, s.sendErrors)
	return err
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

// sendLoop reads the input and sends it in datagrams: signed frames,
// unsigned frames or bare bytes, as mode says.
type sendLoop struct {
	log      zerolog.Logger
	mode     sendMode
	signer   *sign.Signer  // for modeSigned
	expires  int64         // Unix milliseconds when the signing key expires; 0 for never
	metrics  *metrics.Send // nil if off
	sender   *mcast.Sender
	in       io.Reader
	limit    *rate.Limiter
	size     int
	source   string
	count    uint64
	interval time.Duration

	dgram []byte // the datagram being sent, reused

	frames, bytes, sendErrors uint64
}

// chunk is one read from the input.
type chunk struct {
	data []byte
	err  error // io.EOF at the end of the input
}

func (s *sendLoop) run(ctx context.Context) error {
	// Reading happens in its own goroutine so that a signal ends the run
	// even while a read from a pipe or a slow device blocks.
	//
	// The reader runs up to readAhead chunks ahead, so the two goroutines
	// do not hand over every frame one at a time, and it cycles through
	// readAhead+3 buffers: one being read, readAhead queued, one being
	// signed, and one spare, so a buffer is never reused while in use.
	const readAhead = 64
	chunks := make(chan chunk, readAhead)
	bufs := make([][]byte, readAhead+3)
	for i := range bufs {
		bufs[i] = make([]byte, s.size)
	}
	go func() {
		for i := 0; ; i = (i + 1) % len(bufs) {
			buf := bufs[i]
			n, err := io.ReadFull(s.in, buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = nil // a last short chunk is still sent, then EOF comes
			}
			select {
			case chunks <- chunk{data: buf[:n], err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var tick <-chan time.Time
	if s.interval > 0 {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		tick = t.C
	}
	f := frame.Frame{Source: s.source, Epoch: uint64(time.Now().UnixMilli())}
	buf := make([]byte, 0, frame.MaxLen(s.source, s.size))
	for s.count == 0 || s.frames < s.count {
		var ch chunk
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			s.log.Info().Uint64("frames", s.frames).Uint64("bytes", s.bytes).Uint64("send_errors", s.sendErrors).Msg("summary")
			continue
		case ch = <-chunks:
		}
		if len(ch.data) > 0 {
			if s.limit != nil {
				if err := s.limit.WaitN(ctx, len(ch.data)); err != nil {
					return nil // cancelled
				}
			}
			if err := s.send(&f, ch.data, &buf); err != nil {
				return err
			}
		}
		if errors.Is(ch.err, io.EOF) {
			return nil
		}
		if ch.err != nil {
			s.metrics.ReadError()
			return fmt.Errorf("read input: %w", ch.err)
		}
	}
	return nil
}

// send signs and sends one frame, then advances f's sequence number.
func (s *sendLoop) send(f *frame.Frame, data []byte, buf *[]byte) error {
	now := time.Now().UnixMilli()
	if s.expires != 0 && now >= s.expires {
		return fmt.Errorf("key %s expired at %s: receivers drop its frames from then on; start send with the next key", s.signer.KeyID(), time.UnixMilli(s.expires).UTC().Format(time.RFC3339))
	}
	if f.Seq > frame.MaxSeq { // start a new epoch (docs/protocol.md, section 4)
		f.Epoch, f.Seq = max(uint64(now), f.Epoch+1), 0
	}
	f.Time, f.Data = now, data
	var datagram []byte
	switch s.mode {
	case modeSigned:
		*buf = f.Append((*buf)[:0])
		s.dgram = s.signer.Append(s.dgram[:0], *buf)
		datagram = s.dgram
	case modeUnsigned:
		s.dgram = frame.AppendV1(s.dgram[:0], s.source, data)
		datagram = s.dgram
	case modeRaw:
		datagram = data
	}
	if err := s.sender.Send(datagram); err != nil {
		s.metrics.SendError()
		s.sendErrors++
		if s.sendErrors == 1 || s.sendErrors%1000 == 0 {
			s.log.Warn().Err(err).Uint64("send_errors", s.sendErrors).Msg("send failed; frame lost")
		}
	} else {
		s.metrics.Sent(len(data))
		s.frames++
		s.bytes += uint64(len(data))
		s.log.Debug().Uint64("seq", f.Seq).Int("bytes", len(data)).Int("datagram", len(datagram)).Msg("sent")
	}
	f.Seq++
	return nil
}
