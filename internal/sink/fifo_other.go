//go:build !linux

package sink

import (
	"errors"
	"fmt"
)

// noctty is zero where the FIFO output, and so O_NOCTTY handling, is not
// implemented.
const noctty = 0

// mkfifo reports that FIFO outputs are implemented only on Linux.
func mkfifo(path string, perm uint32) error {
	return errors.ErrUnsupported
}

// openFIFO reports that FIFO outputs are implemented only on Linux.
func openFIFO(path string, created bool) (Sink, error) {
	return nil, fmt.Errorf("sink: open %q: fifo outputs are only implemented on Linux: %w", path, errors.ErrUnsupported)
}
