package sink

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// noctty keeps a terminal device opened as an output from becoming the
// process's controlling terminal.
const noctty = unix.O_NOCTTY

// mkfifo creates a FIFO at path with the given permissions.
func mkfifo(path string, perm uint32) error {
	return unix.Mkfifo(path, perm)
}

// fifoSink writes to a FIFO through a raw non-blocking file descriptor
// opened read-write. Writing through the raw descriptor, not an os.File,
// matters: an os.File would hand a non-blocking descriptor to the runtime
// poller and wait for room instead of reporting EAGAIN.
//
// A fifoSink is safe for concurrent use. Each Write is a single write(2)
// of at most PipeBuf bytes, which the kernel never interleaves with another.
type fifoSink struct {
	mu   sync.RWMutex // Write holds it shared, Close exclusively, so fd is never reused under a Write
	fd   int          // -1 after Close
	path string
}

// openFIFO opens the FIFO at path read-write and non-blocking. If created
// is set, the FIFO was just made by this process and its permissions are
// set to 0600 regardless of the umask.
func openFIFO(path string, created bool) (Sink, error) {
	var fd int
	for {
		var err error
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sink: open %q: %w", path, err)
		}
		break
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sink: open %q: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return nil, fmt.Errorf("sink: open %q: no longer a fifo after opening", path)
	}
	if created {
		if err := unix.Fchmod(fd, 0o600); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("sink: open %q: chmod: %w", path, err)
		}
	}
	return &fifoSink{fd: fd, path: path}, nil
}

// Write writes p to the FIFO with one non-blocking write. It returns
// ErrFull, having written nothing, when the pipe buffer has no room for
// all of p because the reader is slow or absent. It refuses p longer than
// PipeBuf, which the kernel could write in part, with an error matching
// ErrTooBig, and writes nothing.
// A reader that exits or restarts is not an error: the sink holds a read
// end, so the write never fails with EPIPE or raises SIGPIPE.
func (s *fifoSink) Write(p []byte) (int, error) {
	if len(p) > PipeBuf {
		return 0, fmt.Errorf("sink: write fifo %q: %d bytes is more than PipeBuf (%d), which would not be atomic: %w", s.path, len(p), PipeBuf, ErrTooBig)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, fmt.Errorf("sink: write fifo %q: %w", s.path, os.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Write(s.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, ErrFull
		case err != nil:
			return 0, fmt.Errorf("sink: write fifo %q: %w", s.path, err)
		case n != len(p):
			// Cannot happen for len(p) <= PIPE_BUF on Linux.
			return n, fmt.Errorf("sink: write fifo %q: short write of %d of %d bytes", s.path, n, len(p))
		}
		return n, nil
	}
}

// Close closes the FIFO. Bytes still in the pipe buffer stay there for a
// reader only while some other process holds the FIFO open.
func (s *fifoSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return fmt.Errorf("sink: close fifo %q: %w", s.path, os.ErrClosed)
	}
	fd := s.fd
	s.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("sink: close fifo %q: %w", s.path, err)
	}
	return nil
}

// String describes the output, e.g. `fifo "/run/ssmrandom/rnd-pipe"`.
func (s *fifoSink) String() string { return fmt.Sprintf("fifo %q", s.path) }
