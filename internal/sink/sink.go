package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrFull is returned by Write when the reader is slow or absent and the
// write would block. Nothing of p was written: the caller drops the frame
// and counts it. Besides errors.Is, a caller that does not import sink
// can tell it by its method Full, which returns true (package receive
// does).
var ErrFull error = fullError{}

// fullError is the type of [ErrFull].
type fullError struct{}

func (fullError) Error() string { return "sink: output full" }

// Full reports that the output was full: true.
func (fullError) Full() bool { return true }

// PipeBuf is POSIX PIPE_BUF on Linux: writes of up to this many bytes to a
// FIFO are atomic.
const PipeBuf = 4096

// DefaultFIFO is the path of the FIFO that rngd reads by default.
const DefaultFIFO = "/run/ssmrandom/rnd-pipe"

// Sink is an output for verified entropy bytes. The Sinks that [Open] and
// [OpenKernel] return are safe for concurrent use: concurrent Writes to a
// FIFO never interleave, and Close may be called while Writes are in
// progress.
type Sink interface {
	// Write writes all of p or none of it. For a FIFO, a write of at most
	// PipeBuf bytes is atomic and a larger one is refused. Write returns
	// an error matching ErrFull (with errors.Is) when the write would
	// block. A file, device or the kernel pool may report a short write
	// together with an error, for example when the disk is full.
	Write(p []byte) (int, error)

	// Close releases the output. Write after Close returns an error
	// matching os.ErrClosed.
	Close() error

	// String describes the output for logs, for example
	// `fifo "/run/ssmrandom/rnd-pipe"`, `file "x"`, `stdout` or
	// `kernel pool (credit 0 bits/byte)`.
	String() string
}

// Kernel is the kernel output ([OpenKernel]): a Sink into the kernel's
// entropy pool that can also make the kernel's RNG reseed at once.
type Kernel interface {
	Sink
	// Reseed makes the kernel's CRNG take a new key from its input pool
	// now (the RNDRESEEDCRNG ioctl, CAP_SYS_ADMIN), instead of at its next
	// scheduled reseed, so that bytes just written are in what the RNG
	// gives from then on. It is what a host does after it credits a
	// secret seed.
	Reseed() error
}

// Open opens the output named by path, as described in the package
// documentation: "-" is standard output, an existing regular file is
// appended to, an existing FIFO is opened non-blocking, an existing
// character device is written with blocking writes, and a path that does
// not exist is created as a FIFO with mode 0600 (its parent directory with
// mode 0755). Open never blocks waiting for a reader.
func Open(path string) (Sink, error) {
	if path == "-" {
		return &stdoutSink{f: os.Stdout}, nil
	}
	if path == "" {
		return nil, errors.New("sink: open: empty path")
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("sink: open %q: %w", path, unwrapPath(err))
	}
	return openExisting(path, fi.Mode())
}

// create makes a FIFO at path, which did not exist, and opens it.
func create(path string) (Sink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sink: open %q: %w", path, err)
	}
	err := mkfifo(path, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Someone else created path after our Stat: open what is there.
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("sink: open %q: %w", path, unwrapPath(err))
		}
		return openExisting(path, fi.Mode())
	}
	if err != nil {
		return nil, fmt.Errorf("sink: open %q: mkfifo: %w", path, err)
	}
	return openFIFO(path, true)
}

// openExisting opens path, which Stat reported to have the given mode.
func openExisting(path string, mode fs.FileMode) (Sink, error) {
	switch {
	case mode.IsRegular():
		return openFile(path, "file", os.O_WRONLY|os.O_APPEND, fs.FileMode.IsRegular)
	case mode&fs.ModeNamedPipe != 0:
		return openFIFO(path, false)
	case mode&fs.ModeCharDevice != 0:
		return openFile(path, "device", os.O_WRONLY|noctty, func(m fs.FileMode) bool {
			return m&fs.ModeCharDevice != 0
		})
	case mode.IsDir():
		return nil, fmt.Errorf("sink: open %q: %w", path, syscall.EISDIR)
	default:
		return nil, fmt.Errorf("sink: open %q: %s is not a supported output", path, kind(mode))
	}
}

// openFile opens a regular file or device for blocking writes and checks,
// on the open file, that it is still of the kind Stat saw.
func openFile(path, what string, flag int, ok func(fs.FileMode) bool) (Sink, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("sink: open %q: %w", path, unwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sink: open %q: %w", path, unwrapPath(err))
	}
	if !ok(fi.Mode()) {
		f.Close()
		return nil, fmt.Errorf("sink: open %q: replaced by a %s while opening", path, kind(fi.Mode()))
	}
	return &fileSink{f: f, desc: fmt.Sprintf("%s %q", what, path)}, nil
}

// kind names the type of file mode describes, for error messages.
func kind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "regular file"
	case mode.IsDir():
		return "directory"
	case mode&fs.ModeNamedPipe != 0:
		return "fifo"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "block device"
	case mode&fs.ModeSymlink != 0:
		return "symlink"
	default:
		return "irregular file"
	}
}

// unwrapPath returns the cause inside a *fs.PathError, whose path and
// operation the caller's own context already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileSink writes to a regular file or character device with blocking
// writes. It is safe for concurrent use; each Write is passed whole to
// os.File.Write, so concurrent writes to a file opened for appending do not
// interleave within one call unless the kernel splits the write.
type fileSink struct {
	f    *os.File
	desc string
}

// Write writes p to the file. It blocks until all of p is written or an
// error occurs; a short write comes with an error.
func (s *fileSink) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("sink: write %s: %w", s.desc, unwrapPath(err))
	}
	return n, nil
}

// Close closes the file.
func (s *fileSink) Close() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("sink: close %s: %w", s.desc, unwrapPath(err))
	}
	return nil
}

// String describes the output, e.g. `file "x"` or `device "/dev/null"`.
func (s *fileSink) String() string { return s.desc }

// stdoutSink writes to standard output with blocking writes. It is safe
// for concurrent use.
type stdoutSink struct {
	mu     sync.RWMutex
	closed bool
	f      *os.File
}

// Write writes p to standard output, blocking while the reader is slow.
// A write to a closed pipe raises SIGPIPE, which ends the process unless
// the program has called signal.Notify for SIGPIPE; then Write returns an
// error wrapping syscall.EPIPE.
func (s *stdoutSink) Write(p []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("sink: write stdout: %w", os.ErrClosed)
	}
	n, err := s.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("sink: write stdout: %w", unwrapPath(err))
	}
	return n, nil
}

// Close stops further writes through s, after waiting for any Write in
// progress. It leaves os.Stdout itself open, since the process, not the
// sink, owns it.
func (s *stdoutSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sink: close stdout: %w", os.ErrClosed)
	}
	s.closed = true
	return nil
}

// String returns "stdout".
func (s *stdoutSink) String() string { return "stdout" }
