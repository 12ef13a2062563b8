package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
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
			return writeMan(e.stdout, c.App)
		},
	}
}

// manDocs are the files of docs/ that the manual page names in SEE ALSO.
// The Debian package installs every docs/*.md in /usr/share/doc/ssmrandom
// (scripts/deb.sh), and make deb-check holds it to that list.
var manDocs = []struct{ file, what string }{
	{"protocol.md", "the wire format, normative: frames, signatures, the receiver's checks in order"},
	{"security.md", "what is protected and what is not, crediting entropy, the health tests"},
	{"deployment.md", "what the network needs (SSM, IGMPv3/MLDv2, snooping, firewalls, MTU), sizing, keys"},
	{"boot.md", "seeds at boot: the initramfs-tools hook, the dracut module, the seed unit and timer, seed.conf"},
	{"metrics.md", "the Prometheus metrics of recv and send, example queries and alerts, the Grafana dashboard"},
	{"migration.md", "moving from the original ssmrandom: its commands, options and files"},
	{"performance.md", "what signing and verifying cost, measured"},
	{"research.md", "the original ssmrandom's open questions, answered with measurements"},
}

// manSections are the parts of the page that are not in any --help: each
// a title and its body, in the light markup of [roffBody].
var manSections = []struct{ title, body string }{
	{"EXIT STATUS", `
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
	{"SIGNALS", `
:: SIGINT, SIGTERM
send, rawsend and recv stop: they log a summary of what they sent or forwarded and dropped, remove their --pidfile and exit with status 0. seed stops waiting, says what it heard and exits with status 1, writing nothing.
:: SIGHUP
recv reads --trust again (the units' systemctl reload sends it): a key added is trusted and a key removed refused from the next frame on. recv also reloads by itself when a file in --trust changes.`},
	{"ENVIRONMENT", `
:: NOTIFY_SOCKET
Set by systemd for a Type=notify service (the package's send and recv units): send, rawsend and recv tell it READY=1 once ready (recv: joined and its output open; send: its socket open), RELOADING=1 and READY=1 around each reload, STOPPING=1 when they stop.
:: WATCHDOG_USEC
Set by systemd for WatchdogSec=: send and rawsend ping it (WATCHDOG=1) every half period in which they sent a datagram; recv has no watchdog.`},
	{"FILES", `
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
:: /usr/share/doc/ssmrandom/
README.Debian (the package, the units, rngd), the files of docs/ named below, and examples/: the rngd drop-in and a Grafana dashboard.`},
	{"EXAMPLES", `
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

// writeMan writes the manual page ssmrandom(8) in roff (man(7)): the
// description, options and commands from the app's own help text, then
// [manSections] and SEE ALSO.
func writeMan(w io.Writer, app *cli.App) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH SSMRANDOM 8 \"\" \"ssmrandom %s\" \"System Administration\"\n", roffEscape(app.Version))
	b.WriteString(".nh\n") // no hyphenation: flags and paths stay whole
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", app.Name, roffEscape(app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n.I command\n.RI [ options ]\n.RI [ arguments ]\n.br\n", app.Name)
	fmt.Fprintf(&b, ".B %s\n.RB [ \\-\\-help | \\-\\-version ]\n", app.Name)
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(roffParagraphs(app.Description))
	b.WriteString(".SH OPTIONS\n")
	writeManFlags(&b, app.VisibleFlags(), true)
	b.WriteString(".SH COMMANDS\n")
	b.WriteString("Every command also takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n")
	for _, c := range app.VisibleCommands() {
		if c.Name == "help" {
			continue
		}
		synopsis := app.Name + " " + c.Name
		if len(c.VisibleFlags()) > 0 {
			synopsis += " [options]"
		}
		if c.ArgsUsage != "" {
			synopsis += " " + c.ArgsUsage
		}
		fmt.Fprintf(&b, ".SS %s\n", roffEscape(synopsis))
		b.WriteString(roffParagraphs(upperFirst(c.Usage) + "."))
		if c.Description != "" {
			b.WriteString(".PP\n")
			b.WriteString(roffParagraphs(c.Description))
		}
		writeManFlags(&b, c.VisibleFlags(), false)
	}
	for _, s := range manSections {
		fmt.Fprintf(&b, ".SH %s\n", s.title)
		b.WriteString(roffBody(s.body))
	}
	b.WriteString(".SH SEE ALSO\n")
	b.WriteString(".BR rngd (8),\n.BR random (4),\n.BR systemd.exec (5)\n.PP\n")
	b.WriteString(roffEscape("Where this page or --help names docs/NAME.md, the file is /usr/share/doc/ssmrandom/NAME.md "+
		"in the Debian package, and docs/NAME.md in the source; /usr/share/doc/ssmrandom/README.Debian covers the package itself.") + "\n")
	for _, d := range manDocs {
		fmt.Fprintf(&b, ".TP\n.I docs/%s\n%s.\n", roffEscape(d.file), roffEscape(upperFirst(d.what)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeManFlags writes one tagged paragraph per flag: its names, short
// ones first, the placeholder of its value, its usage and its default.
// -h/--help is left out unless withHelp.
func writeManFlags(b *strings.Builder, flags []cli.Flag, withHelp bool) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		names := f.Names()
		if !ok || (!withHelp && slices.Contains(names, "help")) {
			continue
		}
		placeholder, usage := unquoteUsage(df.GetUsage())
		if placeholder == "" && df.TakesValue() {
			placeholder = "VALUE"
		}
		slices.SortStableFunc(names, func(x, y string) int { return len(x) - len(y) })
		var tag []string
		for _, n := range names {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			tag = append(tag, "\\fB"+dash+roffEscape(n)+"\\fR")
		}
		line := strings.Join(tag, ", ")
		if df.TakesValue() {
			line += " \\fI" + roffEscape(placeholder) + "\\fR"
		}
		text := roffEscape(usage)
		if placeholder != "" {
			text = strings.Replace(text, roffEscape(placeholder), "\\fI"+roffEscape(placeholder)+"\\fR", 1)
		}
		if df.TakesValue() {
			def := df.GetDefaultText()
			if def == "" {
				def = df.GetValue()
			}
			if def != "" && def != `""` {
				text += " (default: " + roffEscape(strings.Trim(def, `"`)) + ")"
			}
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", line, roffLines(text))
	}
}

// unquoteUsage returns the placeholder a usage text names in back quotes
// (as urfave/cli's help does) and the text without them.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	return usage[i+1 : i+1+j], usage[:i] + usage[i+1:i+1+j] + usage[i+1+j+1:]
}

// roffEscape makes text safe inside a roff text line: backslashes and
// hyphens escaped (\- is what man(7) pages use in options, so that they
// can be searched for and copied).
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLines makes escaped text into text lines: none may start with a
// control character (. or ').
func roffLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " ")
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// roffParagraphs turns help text (lines broken for a terminal, paragraphs
// apart by a blank line) into filled roff paragraphs.
func roffParagraphs(s string) string {
	var out []string
	for _, p := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s), -1) {
		out = append(out, roffLines(roffEscape(p)))
	}
	return strings.Join(out, "\n.PP\n") + "\n"
}

// roffBody renders the markup of [manSections]: ":: TERM" starts a
// tagged paragraph whose text follows (more ":: TERM" lines right after
// it add terms), ".." starts a new plain paragraph,
// "$ COMMAND" is an example command line; other lines are text.
func roffBody(s string) string {
	var b strings.Builder
	inExample, inTerms := false, false
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		term, isTerm := strings.CutPrefix(l, ":: ")
		if isTerm {
			macro := ".TP"
			if inTerms {
				macro = ".TQ"
			}
			fmt.Fprintf(&b, "%s\n.B %s\n", macro, roffEscape(term))
			inTerms = true
			continue
		}
		inTerms = false
		if cmd, ok := strings.CutPrefix(l, "$ "); ok {
			if !inExample {
				b.WriteString(".PP\n.RS\n.EX\n")
				inExample = true
			}
			b.WriteString(roffLines(roffEscape(cmd)) + "\n")
			continue
		}
		if inExample {
			b.WriteString(".EE\n.RE\n")
			inExample = false
		}
		if l == ".." {
			b.WriteString(".PP\n")
		} else {
			b.WriteString(roffLines(roffEscape(l)) + "\n")
		}
	}
	if inExample {
		b.WriteString(".EE\n.RE\n")
	}
	return b.String()
}

// upperFirst returns s with its first letter in upper case.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
