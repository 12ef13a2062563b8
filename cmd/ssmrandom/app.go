package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/completion"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/words"
)

// version is set at build time with -ldflags "-X main.version=..."
// (make build); left empty, describeVersion fills it from the build info.
var version string

// Exit statuses.
const (
	exitOK      = 0
	exitRuntime = 1 // the command started and failed
	exitUsage   = 2 // bad flags, arguments or input files; nothing was done
)

// cliError is an error with the exit status and an optional hint, a
// second line telling the user what to do (naming a flag both ways, as in
// -k/--key).
type cliError struct {
	err  error
	hint string
	code int
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// usagef returns a usage error (exit status 2) with a hint, which may be "".
func usagef(hint, format string, args ...any) error {
	return &cliError{err: fmt.Errorf(format, args...), hint: hint, code: exitUsage}
}

// asUsage marks err as a usage error with a hint, keeping its text.
func asUsage(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &cliError{err: err, hint: hint, code: exitUsage}
}

// withHint adds a hint to a runtime error (exit status 1).
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &cliError{err: err, hint: hint, code: exitRuntime}
}

// run is the whole program: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if n := len(args); n > 1 && args[n-1] == completion.Flag {
		completion.Complete(app, args[1:n-1], stdout)
		return exitOK
	}
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	msg := strings.TrimSpace(words.Error(err))
	fmt.Fprintf(stderr, "ssmrandom: error: %s\n", oneLine(msg))
	var ce *cliError
	if errors.As(err, &ce) {
		if ce.hint != "" {
			fmt.Fprintf(stderr, "ssmrandom: hint: %s\n", ce.hint)
		}
		return ce.code
	}
	return exitRuntime
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// env carries what every command needs from the outside world.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	onUsage := func(c *cli.Context, err error, _ bool) error { return flagUsageError(c, err) }
	cmds := []*cli.Command{keygenCommand(e), sendCommand(e), rawsendCommand(e), recvCommand(e), seedCommand(e), statusCommand(e), keysCommand(e), inspectCommand(e), manCommand(e), completionCommand(e)}
	for _, c := range cmds {
		c.OnUsageError = onUsage
	}
	return &cli.App{
		Name:    "ssmrandom",
		Usage:   "distribute signed entropy over source-specific multicast",
		Version: version,
		Description: "A producer signs every frame of entropy with Ed25519 (JWS, EdDSA) and multicasts it\n" +
			"to an SSM group; receivers verify every frame against their trusted keys and write\n" +
			"only verified bytes to rngd's FIFO, a file or stdout.",
		Commands:        cmds,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		OnUsageError:    onUsage,
		HideHelpCommand: false,
		ExitErrHandler:  func(*cli.Context, error) {}, // run prints errors and picks the status
		Action:          noCommand,
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(stderr, "ssmrandom: error: unknown command %q\nssmrandom: hint: commands are keygen, send, rawsend, recv, seed, status, keys and inspect\n", name)
			cli.OsExiter(exitUsage)
		},
	}
}

// noCommand is the action of ssmrandom without a command: the usage on
// stderr and exit status 2, as for any other usage error.
func noCommand(c *cli.Context) error {
	if c.NArg() > 0 {
		c.App.CommandNotFound(c, c.Args().First()) // exits with status 2
		return usagef("", "unknown command %q", c.Args().First())
	}
	cli.HelpPrinter(c.App.ErrWriter, cli.AppHelpTemplate, c.App)
	return usagef("", "no command given")
}

// logFlags are the logging flags of the daemon commands.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Aliases: []string{"L"}, Value: "info", Usage: "log `LEVEL`: debug, info, warn or error (or the original ssmrandom's warning and critical)"},
		&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "log `FORMAT`: console, json, or auto (console on a terminal, json otherwise)"},
		&cli.DurationFlag{Name: "stats-interval", Value: time.Minute, Usage: "log a summary line every `DURATION` (0 for none)"},
	}
}

// newLogger builds the logger from the logging flags.
func newLogger(c *cli.Context, w io.Writer) (zerolog.Logger, error) {
	name := strings.ToLower(c.String("log-level"))
	switch name { // the original ssmrandom's names, Python's
	case "warning":
		name = "warn"
	case "critical":
		name = "error"
	}
	level, err := zerolog.ParseLevel(name)
	if err != nil || level < zerolog.DebugLevel || level > zerolog.ErrorLevel {
		return zerolog.Nop(), usagef("-L/--log-level takes debug, info, warn or error", "bad log level %q", c.String("log-level"))
	}
	format := c.String("log-format")
	switch format {
	case "auto":
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	case "json", "console":
	default:
		return zerolog.Nop(), usagef("--log-format takes console, json or auto", "bad log format %q", format)
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	if c.Duration("stats-interval") < 0 {
		return zerolog.Nop(), usagef("--stats-interval takes a duration such as 30s, or 0 for none", "negative --stats-interval %s", c.Duration("stats-interval"))
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// logLines hands lines of internal/report to log.
func logLines(log zerolog.Logger, lines ...report.Line) {
	for _, l := range lines {
		addFields(log.WithLevel(logLevels[l.Level]), l.Fields).Msg(l.Msg)
	}
}

var logLevels = [...]zerolog.Level{report.Debug: zerolog.DebugLevel, report.Info: zerolog.InfoLevel, report.Warn: zerolog.WarnLevel, report.Error: zerolog.ErrorLevel}

// addFields adds fs to ev, in order; zerolog writes each value as the
// method of its type would (Str, Uint64, AnErr, Strs, ...).
func addFields(ev *zerolog.Event, fs report.Fields) *zerolog.Event {
	kv := make([]any, 0, 2*len(fs))
	for _, f := range fs {
		v := f.Value
		switch x := v.(type) {
		case nil: // a nil error: no field
			continue
		case report.Fields:
			v = fieldsObject(x)
		case []report.Fields:
			objs := make([]zerolog.LogObjectMarshaler, len(x))
			for i, o := range x {
				objs[i] = fieldsObject(o)
			}
			v = objs
		}
		kv = append(kv, f.Key, v)
	}
	return ev.Fields(kv)
}

// fieldsObject writes fields as a JSON object in a log line.
type fieldsObject report.Fields

func (o fieldsObject) MarshalZerologObject(e *zerolog.Event) { addFields(e, report.Fields(o)) }

// begin does what every command that runs until it is done does first, in
// order: it checks its arguments (argsErr), builds the logger, catches
// SIGINT and SIGTERM, which end ctx (as stop does), reads the flags with
// readFlags and takes -P/--pidfile if it is given. The caller defers
// end, which releases the pidfile and then calls stop; on error there is
// nothing to end.
func begin(c *cli.Context, e *env, argsErr error, readFlags func() error) (log zerolog.Logger, ctx context.Context, stop context.CancelFunc, end func(), err error) {
	if argsErr != nil {
		return log, nil, nil, nil, argsErr
	}
	if log, err = newLogger(c, e.stderr); err != nil {
		return log, nil, nil, nil, err
	}
	ctx, stop = signalContext(c.Context)
	release := func() {}
	if err = readFlags(); err == nil {
		release, err = takePidfile(c, log)
	}
	if err != nil {
		stop()
		return log, nil, nil, nil, err
	}
	return log, ctx, stop, func() { release(); stop() }, nil
}

// signalContext returns a context cancelled by SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// noArgs refuses positional arguments.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("flags go before arguments; see 'ssmrandom "+c.Command.Name+" --help'", "%s takes no arguments; got %q", c.Command.Name, c.Args().First())
	}
	return nil
}
