package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// daemonFlags are the flags of the daemon commands (send, rawsend, recv)
// that the original ssmrandom had: -P, -f, -F and -v keep their meaning
// or, where ssmrandom works otherwise, are accepted and do no harm.
func daemonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pidfile", Aliases: []string{"P"}, Usage: "write this process's id to `FILE` while running and remove it on exit; refuse to start while another running process holds it (a stale file of a dead process is replaced)"},
		&cli.BoolFlag{Name: "foreground", Aliases: []string{"f"}, Usage: "accepted for the original ssmrandom and ignored: ssmrandom always stays in the foreground and logs to stderr (run it under systemd or another supervisor)"},
		&cli.BoolFlag{Name: "F", Usage: "the same as -f: accepted and ignored"},
		&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version and exit"},
	}
}

// printVersion does -v/--version, as the original ssmrandom did it on any
// command line: it prints the version to stdout and reports true, and the
// command then does nothing else.
func printVersion(c *cli.Context, e *env) bool {
	if !c.Bool("version") {
		return false
	}
	fmt.Fprintf(e.stdout, "%s version %s\n", c.App.Name, c.App.Version)
	return true
}

// takePidfile does -P/--pidfile: it writes this process's id to the file
// and returns a function that removes it, which the command defers. With
// no -P it does nothing.
func takePidfile(c *cli.Context, log zerolog.Logger) (release func(), err error) {
	path := c.String("pidfile")
	if path == "" {
		return func() {}, nil
	}
	p, stale, err := openPidfile(path, os.Getpid())
	switch {
	case errors.Is(err, errRunning):
		return nil, withHint(err, "stop that process first, or give this one another -P/--pidfile")
	case errors.Is(err, errNotPidfile):
		return nil, asUsage(err, "-P/--pidfile takes the path of a file for the process id only, such as /run/ssmrandom.pid")
	case errors.Is(err, errors.ErrUnsupported):
		return nil, asUsage(err, "-P/--pidfile is implemented on Linux only; leave it out")
	case err != nil:
		return nil, withHint(err, "-P/--pidfile needs a folder this user may write to")
	}
	ev := log.Info().Str("pidfile", path).Int("pid", os.Getpid())
	if stale != 0 {
		ev = ev.Int("stale_pid", stale)
	}
	ev.Msg("wrote pidfile")
	return func() {
		if err := p.Close(); err != nil {
			log.Warn().Err(err).Msg("removing pidfile")
		}
	}, nil
}

var (
	// errRunning reports a pidfile held by another running process.
	errRunning = errors.New("already running")
	// errNotPidfile reports a file that holds something other than a
	// process id, which a pidfile must not overwrite.
	errNotPidfile = errors.New("not a pidfile")
	// errMoved reports a pidfile replaced between its opening and its
	// locking: look again.
	errMoved = errors.New("pidfile replaced meanwhile")
)

// pidfile is a file that holds this process's id while it runs. The file
// is written whole before it appears under its name, so a reader never
// sees it half-written, and it stays open with an exclusive flock(2) lock
// (as the original ssmrandom's did), so that two processes starting at
// once cannot both take it. It is not safe for concurrent use.
type pidfile struct {
	path string
	f    *os.File // the file at path, open and locked
}

// openPidfile writes pid to a pidfile at path, which must either not
// exist, or be empty, or hold the id of a process that is not running (a
// stale pidfile, whose id it returns) or pid itself (a process restarted
// in a container, with the same id). A pidfile locked by a process, or
// holding the id of a running process, is an error wrapping errRunning;
// anything else at path, one wrapping errNotPidfile.
func openPidfile(path string, pid int) (*pidfile, int, error) {
	for range 8 {
		old, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			p, err := writePidfile(path, pid, false)
			if errors.Is(err, fs.ErrExist) {
				continue // another process made one meanwhile: look at it
			}
			return p, 0, err
		}
		if err != nil {
			return nil, 0, fmt.Errorf("pidfile: %w", err)
		}
		stale, err := checkPidfile(old, path, pid)
		if err == nil {
			// Replace it while holding its lock, so no other process
			// can be doing the same.
			var p *pidfile
			p, err = writePidfile(path, pid, true)
			old.Close()
			return p, stale, err
		}
		old.Close()
		if !errors.Is(err, errMoved) {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("pidfile %s: it keeps changing; is another ssmrandom starting?", path)
}

// checkPidfile locks old, the file opened at path, and returns the process
// id it holds if it may be replaced (0 if it is empty).
func checkPidfile(old *os.File, path string, self int) (int, error) {
	fi, err := old.Stat()
	if err != nil {
		return 0, fmt.Errorf("pidfile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("pidfile %s: %w: not a regular file", path, errNotPidfile)
	}
	moved := func() bool {
		cur, err := os.Stat(path)
		return err != nil || !os.SameFile(fi, cur)
	}
	held, err := tryLock(old)
	if err != nil {
		return 0, fmt.Errorf("pidfile %s: %w", path, err)
	}
	if moved() {
		return 0, errMoved
	}
	b, err := io.ReadAll(io.LimitReader(old, 32))
	if err != nil {
		return 0, fmt.Errorf("pidfile: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if held {
		return 0, fmt.Errorf("pidfile %s: %w as process %s (it holds the file's lock)", path, errRunning, text)
	}
	if text == "" {
		return 0, nil // a writer that stopped before writing
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pidfile %s: %w: it holds %.20q; not overwriting it", path, errNotPidfile, text)
	}
	if n != self && alive(n) {
		return 0, fmt.Errorf("pidfile %s: %w as process %d", path, errRunning, n)
	}
	return n, nil
}

// writePidfile writes pid to a new file next to path, locks it and moves
// it to path: over the file there if replace, else only if there is none
// (an error wrapping fs.ErrExist otherwise).
func writePidfile(path string, pid int, replace bool) (*pidfile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	held, err := tryLock(tmp)
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	if held { // a new file: no one else can have it open
		return nil, fmt.Errorf("pidfile: %s is locked", name)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	if _, err := fmt.Fprintf(tmp, "%d\n", pid); err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	if replace {
		err = os.Rename(name, path)
	} else {
		err = os.Link(name, path)
		if err == nil {
			os.Remove(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	ok = true
	return &pidfile{path: path, f: tmp}, nil
}

// Close removes the pidfile, if the file at its path is still this one,
// and releases the lock.
func (p *pidfile) Close() error {
	var err error
	if fi, serr := p.f.Stat(); serr == nil {
		if cur, serr := os.Stat(p.path); serr == nil && os.SameFile(fi, cur) {
			err = os.Remove(p.path)
		}
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}
