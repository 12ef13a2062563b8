package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// rawDefaultSize is rawsend's default -s/--size: 1024 bytes per datagram,
// the original ssmrandom's default.
const rawDefaultSize = 1024

func rawsendCommand(e *env) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "input", Aliases: []string{"r"}, Value: "/dev/urandom", Usage: "entropy `SOURCE`: a device, a file, or - for stdin"},
		&cli.IntFlag{Name: "ttl", Aliases: []string{"t"}, Value: mcast.DefaultTTL, Usage: "multicast `TTL`, 0 to 255"},
		&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Value: rawDefaultSize, Usage: "`BYTES` of entropy per datagram, at most --max-datagram"},
		&cli.IntFlag{Name: "max-datagram", Value: budgetSafe, Usage: fmt.Sprintf("largest datagram to send, in `BYTES`: %d fits every path unfragmented, %d fits IPv4 over Ethernet, %d IPv6 over Ethernet", budgetSafe, budgetEthernet4, budgetEthernet6)},
		&cli.IntFlag{Name: "rate", Value: defaultRate, Usage: "send at most `BYTES` of entropy per second (0 for no limit)"},
		&cli.Uint64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` datagrams", DefaultText: "until the input ends, or SIGINT/SIGTERM"},
	}
	flags = append(flags, netFlags()...)
	flags = append(flags, metricsFlag())
	flags = append(flags, daemonFlags()...)
	flags = append(flags, logFlags()...)
	return &cli.Command{
		Name:  "rawsend",
		Usage: "read entropy and multicast it bare, as the original ssmrandom's rawsend did",
		Description: "Reads --input in --size chunks and sends each, as it is, as one datagram to the SSM\n" +
			"group: no framing, no signature. ssmrandom recv drops such datagrams (as malformed); this\n" +
			"is for receivers of your own that read raw bytes, and for tests. Stops at the end of a\n" +
			"regular file or stdin, after --count datagrams, or on SIGINT/SIGTERM.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return runSender(c, e, modeRaw) },
	}
}
