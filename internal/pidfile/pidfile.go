// Package pidfile writes a process's id to a file while it runs, as
// daemons do for their supervisors (ssmrandom's -P/--pidfile): written
// whole before it appears, locked with flock(2) while the process holds
// it, refused while another running process holds it, replaced when the
// process that wrote it is gone, and removed on [File.Close].
//
// The package does not log or exit; it returns errors that callers tell
// apart with [errors.Is] and [ErrRunning] or [ErrNotPidfile].
package pidfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var (
	// ErrRunning reports a pidfile held by another running process.
	ErrRunning = errors.New("already running")
	// ErrNotPidfile reports a file that holds something other than a
	// process id, which a pidfile must not overwrite.
	ErrNotPidfile = errors.New("not a pidfile")
	// errMoved reports a pidfile replaced between its opening and its
	// locking: look again.
	errMoved = errors.New("pidfile replaced meanwhile")
)

// File is a pidfile: a file that holds a process's id while it runs. The file
// is written whole before it appears under its name, so a reader never
// sees it half-written, and it stays open with an exclusive flock(2) lock
// (as the original ssmrandom's did), so that two processes starting at
// once cannot both take it. Make one with [Open]; the zero value is not
// usable. It is not safe for concurrent use.
type File struct {
	path string
	f    *os.File // the file at path, open and locked
}

// Open writes pid to a pidfile at path, which must either not
// exist, or be empty, or hold the id of a process that is not running (a
// stale pidfile, whose id it returns) or pid itself (a process restarted
// in a container, with the same id). A pidfile locked by a process, or
// holding the id of a running process, is an error wrapping [ErrRunning];
// anything else at path, one wrapping [ErrNotPidfile]. On systems other
// than Linux it fails with an error wrapping [errors.ErrUnsupported].
func Open(path string, pid int) (*File, int, error) {
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
			var p *File
			p, err = writePidfile(path, pid, true)
			old.Close()
			return p, stale, err
		}
		old.Close()
		if !errors.Is(err, errMoved) {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("pidfile %s: it keeps changing; is another process starting?", path)
}

// checkPidfile locks old, the file opened at path, and returns the process
// id it holds if it may be replaced (0 if it is empty).
func checkPidfile(old *os.File, path string, self int) (int, error) {
	fi, err := old.Stat()
	if err != nil {
		return 0, fmt.Errorf("pidfile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("pidfile %s: %w: not a regular file", path, ErrNotPidfile)
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
		return 0, fmt.Errorf("pidfile %s: %w as process %s (it holds the file's lock)", path, ErrRunning, text)
	}
	if text == "" {
		return 0, nil // a writer that stopped before writing
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pidfile %s: %w: it holds %.20q; not overwriting it", path, ErrNotPidfile, text)
	}
	if n != self && alive(n) {
		return 0, fmt.Errorf("pidfile %s: %w as process %d", path, ErrRunning, n)
	}
	return n, nil
}

// writePidfile writes pid to a new file next to path, locks it and moves
// it to path: over the file there if replace, else only if there is none
// (an error wrapping fs.ErrExist otherwise).
func writePidfile(path string, pid int, replace bool) (*File, error) {
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
	return &File{path: path, f: tmp}, nil
}

// Close removes the pidfile, if the file at its path is still this one,
// and releases the lock.
func (p *File) Close() error {
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
