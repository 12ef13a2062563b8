//go:build !linux

package sink

import (
	"errors"
	"fmt"
)

// OpenKernel reports that the kernel output is implemented only on Linux:
// the error matches [errors.ErrUnsupported].
func OpenKernel(creditBitsPerByte int) (Kernel, error) {
	return nil, fmt.Errorf("sink: kernel: only implemented on Linux: %w", errors.ErrUnsupported)
}
