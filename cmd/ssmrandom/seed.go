package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sink"
)

func seedCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		trustFlag("required"),
		&cli.StringFlag{Name: "host-key", Usage: "this host's private X25519 key, a JWK `FILE` of mode 0600 (required)"},
		&cli.IntFlag{Name: "need", Value: 1, Usage: "combine the seeds of `K` distinct producer keys (1 to 255)"},
		&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "give up, with exit status 1, after `DURATION`"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "kernel", Usage: "`OUT`: kernel (credit 256 bits, reseed), a new FILE (0600), or - for stdout"},
		&cli.IntFlag{Name: "max-datagram", Aliases: []string{"s"}, Value: maxDatagramEthernet4, Usage: "drop datagrams over `BYTES` unread"},
		maxAgeFlag("seed datagrams"),
		maxSkewFlag("seed datagrams", ""),
	}
	flags = append(flags, netFlags()...)
	flags = append(flags, amtRelayFlag(), rcvbufFlag())
	flags = append(flags, logFlags()[:2]...) // no summaries: seed is not a daemon
	return &cli.Command{
		Name:      "seed",
		Usage:     "wait for this host's secret seed from the producers, credit it to the kernel, exit",
		ArgsUsage: "PRODUCER...",
		Description: "Joins (PRODUCER, GROUP) for each producer and waits for seed datagrams with an entry\n" +
			"for --host-key (docs/protocol.md §9). Each is checked as recv checks frames (--trust,\n" +
			"validity, freshness, replay, signature) before its entry is opened. Once --need distinct\n" +
			"producer keys have each given a seed, they are combined into one 32-byte seed that no\n" +
			"fewer than K of them know, and seed exits 0 with one line: the producers and the time\n" +
			"waited. -o kernel (the default, CAP_SYS_ADMIN) credits the seed to the kernel as 256\n" +
			"bits (RNDADDENTROPY) and makes the kernel's RNG reseed (RNDRESEEDCRNG); -o FILE writes\n" +
			"it to a new file of mode 0600; - to stdout. After --timeout it exits 1, saying what it\n" +
			"heard. The seed is never logged (docs/security.md).",
		Flags:  flags,
		Action: func(c *cli.Context) error { return runSeed(c, e) },
	}
}

// hostSeedOptions are seed's flags, checked.
type hostSeedOptions struct {
	group netip.AddrPort
	cfg   hostseed.Config // all but Trust
	out   string
}

func runSeed(c *cli.Context, e *env) error {
	hosts := c.Args().Slice()
	var o *hostSeedOptions
	log, ctx, _, end, err := begin(c, e, flagsFirst(hosts), func() (err error) { o, err = hostSeedFlags(c, hosts); return err })
	if err != nil {
		return err
	}
	defer end()
	ifi, _, err := interfaceFlag(c)
	if err != nil {
		return err
	}
	if o.cfg.Trust, err = loadTrust(c.String("trust"), log); err != nil {
		return err
	}
	taker, err := hostseed.New(o.cfg)
	if err != nil {
		return asUsage(err, "--need counts distinct producer keys: at most as many as --trust holds")
	}
	var kernel sink.Kernel
	if o.out == "kernel" { // opened first: a missing capability shows now, not after the wait
		if kernel, err = sink.OpenKernel(8); err != nil {
			return withHint(err, "run seed as root, or use -o FILE")
		}
		defer kernel.Close()
	}
	conn, err := joinChannel(ctx, c, hosts, o.group, ifi, log)
	if conn == nil {
		if err == nil {
			err = errors.New("interrupted")
		}
		return err
	}
	defer conn.Close()
	if native, ok := conn.(*mcast.Receiver); ok { // an AMT gateway keeps its tunnel up itself
		defer keepJoined(native, log)()
	}
	log.Info().Dict("transport", addFields(zerolog.Dict(), transportFields(conn))).Str("host_key", o.cfg.Key.ID()).Int("need", o.cfg.Need).Dur("timeout", c.Duration("timeout")).Msg("waiting for seeds")
	waited, err := waitSeeds(ctx, c.Duration("timeout"), conn, taker, log)
	if err != nil {
		return err
	}
	return putSeeds(e, o.out, kernel, taker, waited)
}

// waitSeeds reads seed datagrams from conn until taker has its seeds, or
// timeout passes, or ctx is done, and returns the seconds it waited.
func waitSeeds(ctx context.Context, timeout time.Duration, conn datagramConn, taker *hostseed.Taker, log zerolog.Logger) (float64, error) {
	start := time.Now()
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := hostseed.Run(wait, taker, hostseed.Loop[netip.Addr]{
		Read: func(buf []byte) (int, netip.Addr, error) {
			n, src, err := conn.Read(buf)
			if errors.Is(err, mcast.ErrTruncated) {
				err = nil // dropped as too big
			}
			return n, src, err
		},
		Stop:    func() { conn.Close() },
		BufSize: mcast.ReadBufferSize,
		Observe: func(_ []byte, src netip.Addr, v hostseed.Verdict) { logLines(log, report.SeedVerdict(src, v)) },
	})
	waited := time.Since(start).Seconds()
	if err != nil {
		st := taker.Stats()
		if errors.Is(err, context.DeadlineExceeded) {
			return waited, withHint(fmt.Errorf("no seed after %.1f s: heard %s", waited, st.Heard()), seedHint(st))
		}
		if ctx.Err() != nil {
			return waited, fmt.Errorf("interrupted after %.1f s: heard %s", waited, st.Heard())
		}
	}
	return waited, err
}

// putSeeds combines taker's seeds, writes the seed where -o says, and
// says so in one line: on stdout, or with -o - on stderr.
func putSeeds(e *env, out string, kernel sink.Kernel, taker *hostseed.Taker, waited float64) error {
	seed, err := taker.Seed()
	defer clear(seed[:])
	if err != nil {
		return err
	}
	done, err := putSeed(e, out, kernel, seed[:])
	if err != nil {
		return err
	}
	kids := taker.Producers()
	line := fmt.Sprintf("seed: %s from %d producer keys (%s) after %.1f s\n", done, len(kids), strings.Join(kids, ", "), waited)
	w := e.stdout
	if out == "-" {
		w = e.stderr // stdout holds the seed
	}
	_, err = fmt.Fprint(w, line)
	return err
}

// hostSeedFlags reads and checks seed's flags and loads the host key.
func hostSeedFlags(c *cli.Context, hosts []string) (*hostSeedOptions, error) {
	if c.String("trust") == "" {
		return nil, usagef("name the producers' public keys with --trust, e.g. --trust /etc/ssmrandom/trust", "no --trust given")
	}
	if c.String("host-key") == "" {
		return nil, usagef("name this host's private key with --host-key, e.g. --host-key /etc/ssmrandom/host.jwk (ssmrandom keygen --host makes one)", "no --host-key given")
	}
	if len(hosts) == 0 {
		return nil, usagef("name at least one producer: ssmrandom seed [flags] PRODUCER...", "no producer host given")
	}
	o := &hostSeedOptions{out: c.String("output")}
	var err error
	if o.group, err = groupFlag(c); err != nil {
		return nil, err
	}
	if o.cfg.MaxDatagram, err = maxDatagramValue(c); err != nil {
		return nil, err
	}
	if err := rcvbufValue(c); err != nil {
		return nil, err
	}
	if n := c.Int("need"); n < 1 || n > 255 {
		return nil, usagef("--need takes 1 to 255 distinct producer keys", "bad --need %d", n)
	}
	if c.Duration("timeout") <= 0 {
		return nil, usagef("--timeout takes a positive duration such as 60s", "bad --timeout %s", c.Duration("timeout"))
	}
	if c.Duration("max-age") <= 0 || c.Duration("max-skew") < 0 {
		return nil, usagef("--max-age takes a positive duration such as 30s, --max-skew one such as 5s, or 0", "bad --max-age %s or --max-skew %s", c.Duration("max-age"), c.Duration("max-skew"))
	}
	o.cfg.Need, o.cfg.MaxAge, o.cfg.MaxSkew = c.Int("need"), c.Duration("max-age"), c.Duration("max-skew")
	switch o.out {
	case "":
		return nil, usagef("-o/--output takes kernel, a new file or - for stdout", "empty -o/--output")
	case "kernel", "-":
	default:
		if _, err := os.Lstat(o.out); !errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("-o/--output FILE must not exist: seed writes a new file and never replaces one", "output %s exists", o.out)
		}
	}
	if o.cfg.Key, err = seal.LoadHostKey(c.String("host-key")); err != nil {
		return nil, asUsage(err, "--host-key takes this host's private key file, mode 0600, as ssmrandom keygen --host writes it")
	}
	return o, nil
}

// putSeed writes the seed where -o says and says what it did.
func putSeed(e *env, out string, kernel sink.Kernel, seed []byte) (string, error) {
	switch out {
	case "kernel":
		if _, err := kernel.Write(seed); err != nil {
			return "", err
		}
		if err := kernel.Reseed(); err != nil {
			return "", err
		}
		return fmt.Sprintf("credited %d bits to the kernel and reseeded it", 8*seedwire.SeedSize), nil
	case "-":
		if _, err := e.stdout.Write(seed); err != nil {
			return "", fmt.Errorf("write stdout: %w", err)
		}
		return "wrote the seed to stdout", nil
	}
	if err := sink.WriteNewFile(out, seed); err != nil {
		return "", err
	}
	return "wrote the seed to " + out, nil
}

// seedHint says what to check when seed heard nothing for this host.
func seedHint(st hostseed.Stats) string {
	switch {
	case st.Datagrams == 0:
		return "nothing arrived: check -g/--group, -p/--port, -i/--interface and the producer names, and that the producers run send --members"
	case st.Count[hostseed.OpenFailed] > 0:
		return "entries for this host id did not open: is --host-key the key whose .pub.jwk the producers hold?"
	case st.Count[hostseed.Taken] == 0 && st.Count[hostseed.OtherHost] > 0:
		return "no entry for this host: copy its public key (the .pub.jwk of --host-key) into the producers' --members, valid now"
	case st.Count[hostseed.Stale]+st.Count[hostseed.Future] > 0 && st.Count[hostseed.Taken] == 0:
		return "seed datagrams were too old or dated ahead: check this host's clock (NTP), or --max-age and --max-skew"
	case st.Count[hostseed.UnknownKey] > 0:
		return "seed datagrams came from keys not in --trust"
	case st.Count[hostseed.Taken] > 0:
		return "seeds came from fewer distinct producer keys than --need"
	}
	return ""
}
