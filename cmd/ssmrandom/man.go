package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/manual"
)

// manCommand prints the manual page, made from the commands' own help
// text so that it cannot drift from --help; make deb and make install
// install it.
func manCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (roff) to stdout",
		Hidden: true,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return manual.Write(e.stdout, c.App, manual.Page{Sections: manSections, SeeAlso: manSeeAlso, DocsNote: manDocsNote, Docs: manDocs})
		},
	}
}

// manSeeAlso are the other manual pages SEE ALSO names, and manDocsNote
// says where the files of manDocs are.
var manSeeAlso = []string{"rngd(8)", "random(4)", "systemd.exec(5)"}

const manDocsNote = "Where this page or --help names docs/NAME.md, the file is /usr/share/doc/ssmrandom/NAME.md " +
	"in the Debian package, and docs/NAME.md in the source; /usr/share/doc/ssmrandom/README.Debian covers the package itself."

// manDocs are the files of docs/ that the manual page names in SEE ALSO.
// The Debian package installs every docs/*.md in /usr/share/doc/ssmrandom
// (scripts/deb.sh), and make deb-check holds it to that list.
var manDocs = []manual.Doc{
	{File: "protocol.md", What: "the wire format, normative: frames, signatures, the receiver's checks in order"},
	{File: "security.md", What: "what is protected and what is not, crediting entropy, the health tests"},
	{File: "deployment.md", What: "what the network needs (SSM, IGMPv3/MLDv2, snooping, firewalls, MTU), sizing, keys"},
	{File: "boot.md", What: "seeds at boot: the initramfs-tools hook, the dracut module, the seed unit and timer, seed.conf"},
	{File: "metrics.md", What: "the Prometheus metrics of recv and send, example queries and alerts, the Grafana dashboard"},
	{File: "migration.md", What: "moving from the original ssmrandom: its commands, options and files"},
	{File: "performance.md", What: "what signing and verifying cost, measured"},
	{File: "research.md", What: "the original ssmrandom's open questions, answered with measurements"},
}

// manSections are the parts of the page that are not in any --help: each
// a title and its body, in the light markup of [manual.Section].
var manSections = []manual.Section{
	{Title: "EXIT STATUS", Body: `
:: 0
Success. For inspect: the datagram verifies; for keys: every trust file loaded; for seed: the host's seed was taken and written; for status: the daemon asked is healthy.
:: 1
A failure at run time: the command started and then failed (a socket error, an output that stopped taking bytes, a producer name that does not resolve yet), or inspect's datagram does not verify, or keys skipped a trust file, or seed's --timeout passed (or a signal came) before it had its seeds, or status found the daemon degraded (silence, an output nobody drains, an unhealthy producer, failing sends) or could not ask it. A supervisor may retry; the systemd units restart after 5 s.
:: 2
A usage or configuration error: bad flags or arguments, a key or trust file that cannot be used, an output that cannot be opened (its folder missing, or -o kernel without CAP_SYS_ADMIN), a producer that is not a unicast address, a key file keygen would overwrite, a keygen --not-after already past, a configuration that cannot work. Nothing was sent or written, and a restart cannot fix it: the units stop there (RestartPreventExitStatus=2). ssmrandom with no command exits with status 2 too.
:: 3
status only: no recv or send answers on the control socket (--control): none runs, or it runs without a socket.
..
Errors are one line on stderr, "ssmrandom: error: ...", often followed by "ssmrandom: hint: ..." naming the flag to change.`},
	{Title: "SIGNALS", Body: `
:: SIGINT, SIGTERM
send, rawsend and recv stop: they log a summary of what they sent or forwarded and dropped, remove their --pidfile and exit with status 0. seed stops waiting, says what it heard and exits with status 1, writing nothing.
:: SIGHUP
recv reads --trust again (the units' systemctl reload sends it): a key added is trusted and a key removed refused from the next frame on. recv also reloads by itself when a file in --trust changes.`},
	{Title: "ENVIRONMENT", Body: `
:: NOTIFY_SOCKET
Set by systemd for a Type=notify service (the package's send and recv units): send, rawsend and recv tell it READY=1 once ready (recv: joined and its output open; send: its socket open), RELOADING=1 and READY=1 around each reload, STOPPING=1 when they stop.
:: WATCHDOG_USEC
Set by systemd for WatchdogSec=: send and rawsend ping it (WATCHDOG=1) every half period in which they sent a datagram; recv has no watchdog.`},
	{Title: "FILES", Body: `
The paths of the Debian package; built from source, the defaults of the flags apply.
:: /etc/default/ssmrandom
The flags of the systemd units ssmrandom-send, ssmrandom-recv and ssmrandom-recv-kernel (SSMRANDOM_ARGS, SSMRANDOM_HOST, ...).
:: /etc/ssmrandom/producer.jwk
:: /etc/ssmrandom/producer.pub.jwk
The sender's key pair, made by ssmrandom keygen -o /etc/ssmrandom/producer. The private key is mode 0600, owned by the user ssmrandom; the public one goes to the receivers.
:: /etc/ssmrandom/trust/
The receivers' trusted producer keys (recv --trust), one JWK file each.
:: /run/ssmrandom/rnd-pipe
The FIFO recv writes verified bytes to by default (recv -o), for rngd.
:: /run/ssmrandom/recv.sock
:: /run/ssmrandom/send.sock
The control sockets that ssmrandom status asks (recv and send --control), mode 0600, made when /run/ssmrandom exists.
:: /lib/systemd/system/ssmrandom-*.service
The units: send, recv (FIFO for rngd), recv-kernel (-o kernel) and seed (a seed at boot), and ssmrandom-seed.timer (a fresh seed every hour). None is enabled on install.
:: /etc/ssmrandom/seed.conf
The seed at boot: producers, group, port, interface, time limit; read by the initramfs hook, the dracut module and ssmrandom-seed.service (docs/boot.md).
:: /usr/lib/ssmrandom/seed-boot
The seed step that each boot path runs with seed.conf.
:: /usr/share/initramfs-tools/hooks/ssmrandom
:: /usr/lib/dracut/modules.d/90ssmrandom/
The initramfs-tools hook (and its boot scripts) and the dracut module that take the seed in the initramfs.
:: /lib/udev/rules.d/60-ssmrandom-hwrng.rules
Gives /dev/hwrng to the group ssmrandom (mode 0640), so that the sender may read it.
:: /usr/share/bash-completion/completions/ssmrandom
:: /usr/share/zsh/vendor-completions/_ssmrandom
Shell completion of commands and flags, also printed by ssmrandom completion bash and ssmrandom completion zsh.
:: /proc/sys/net/core/rmem_max
The largest socket receive buffer a process without CAP_NET_ADMIN may set (sysctl net.core.rmem_max, 208 KiB by default). recv and seed ask for --rcvbuf bytes (4 MiB by default) with SO_RCVBUFFORCE where they may, else with SO_RCVBUF, which the kernel caps at this value; Linux then counts twice the size set. recv logs the size it got at the start, and says when this value capped it; raise it with sysctl -w net.core.rmem_max=4194304 and a file in /etc/sysctl.d/.
:: /usr/share/doc/ssmrandom/
README.Debian (the package, the units, rngd), the files of docs/ named below, and examples/: the rngd drop-in and a Grafana dashboard.`},
	{Title: "EXAMPLES", Body: `
Make a producer key pair, and sign and send entropy from the hardware RNG:
$ ssmrandom keygen -o /etc/ssmrandom/producer
$ ssmrandom send -k /etc/ssmrandom/producer.jwk -r /dev/hwrng -g 232.0.1.100
..
Receive from two redundant producers, verify every frame against the keys in /etc/ssmrandom/trust, and write the verified bytes to rngd's FIFO, with metrics on the loopback address:
$ ssmrandom recv --trust /etc/ssmrandom/trust -o /run/ssmrandom/rnd-pipe --metrics-addr 127.0.0.1:9641 producer1.example.org producer2.example.org
..
At boot, wait for this host's secret seed from two of the producers, credit it to the kernel and make the kernel reseed:
$ ssmrandom seed --trust /etc/ssmrandom/trust --host-key /etc/ssmrandom/host.jwk --need 2 producer1.example.org producer2.example.org producer3.example.org
..
List the trusted keys, their validity and when each last sent a verified frame:
$ ssmrandom keys --trust /etc/ssmrandom/trust --metrics http://127.0.0.1:9641/metrics
..
Ask the running receiver how it is doing, and check it from a script (exit status 0 healthy, 1 degraded, 3 not running):
$ ssmrandom status
$ ssmrandom status --json send
..
Say what a captured datagram is and whether it verifies:
$ ssmrandom inspect --trust /etc/ssmrandom/trust datagram.bin
..
Complete ssmrandom's commands and flags in the running bash:
$ source <(ssmrandom completion bash)`},
}
