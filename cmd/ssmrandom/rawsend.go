package main

import (
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/send"
)

// rawDefaultSize is rawsend's default -s/--size: 1024 bytes per datagram,
// the original ssmrandom's default.
const rawDefaultSize = 1024

func rawsendCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		inputFlag(), ttlFlag(),
		&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Value: rawDefaultSize, Usage: "`BYTES` of entropy per datagram, at most --max-datagram"},
		maxDatagramFlag(), rateFlag(),
		&cli.Uint64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` datagrams", DefaultText: "until the input ends, or SIGINT/SIGTERM"},
	}
	return &cli.Command{
		Name:  "rawsend",
		Usage: "read entropy and multicast it bare, as the original ssmrandom's rawsend did",
		Description: "Reads --input in --size chunks and sends each, as it is, as one datagram to the SSM\n" +
			"group: no framing, no signature. ssmrandom recv drops such datagrams (as malformed); this\n" +
			"is for receivers of your own that read raw bytes, and for tests. Stops at the end of a\n" +
			"regular file or stdin, after --count datagrams, or on SIGINT/SIGTERM. Health tests\n" +
			"(--health) check the input first, as for send: while it fails them nothing is sent.\n\n" +
			maxDatagramHelp + "\n\n" + daemonHelp,
		Flags:  senderFlags(flags),
		Action: func(c *cli.Context) error { return runSender(c, e, rawMode) },
	}
}

// rawMode is rawsend's: the input's bytes as they are.
func rawMode(*cli.Context) (*sendMode, error) {
	return &sendMode{
		framer: send.Raw{}, maxSize: maxMaxDatagram, defaultSize: rawDefaultSize, noun: "datagram", warning: rawWarning,
		start: func(ev *zerolog.Event) *zerolog.Event { return ev.Str("format", "raw") },
	}, nil
}
