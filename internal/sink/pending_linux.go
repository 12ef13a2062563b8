package sink

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Pending returns how many bytes are in the FIFO's pipe buffer, written
// and not yet read: what was written less Pending is what the reader
// (rngd) took.
func (s *fifoSink) Pending() (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, fmt.Errorf("sink: fifo %q: %w", s.path, os.ErrClosed)
	}
	// FIONREAD, which Linux calls TIOCINQ.
	return unix.IoctlGetInt(s.fd, unix.TIOCINQ)
}
