package sink

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelChunk is the most bytes passed to the kernel in one RNDADDENTROPY
// call; Write splits longer inputs. It is the smallest Linux page size:
// from Linux 5.18 the kernel checks for pending signals after each full
// page it mixes and, if the Go runtime has signalled the thread (as it does
// to preempt goroutines), stops early and fails the call with EFAULT. A
// call of at most one page is never cut short.
const kernelChunk = 4096

// randPoolInfo is the kernel's struct rand_pool_info with room for one
// chunk: entropy_count and buf_size are C ints in native byte order,
// followed by the bytes to mix in. The kernel reads only the header and
// the first buf_size bytes.
type randPoolInfo struct {
	entropyCount int32 // bits credited; at most 8*bufSize
	bufSize      int32
	buf          [kernelChunk]byte
}

// kernelSink mixes bytes into the kernel's entropy pool with the
// RNDADDENTROPY ioctl on /dev/random. It is safe for concurrent use: Write
// and Close hold a mutex, as all Writes share one ioctl buffer. Its zero
// value is not usable; use [OpenKernel].
type kernelSink struct {
	mu     sync.Mutex // guards fd and info; held across each ioctl so Close never closes fd under a Write
	fd     int        // -1 after Close
	credit int32      // bits credited per byte, 0 to 8
	info   *randPoolInfo
}

// OpenKernel returns a Kernel sink that mixes bytes into the Linux kernel's
// entropy pool with the RNDADDENTROPY ioctl on /dev/random, crediting
// creditBitsPerByte bits of entropy (0 to 8) for each byte written.
//
// Credit 0, the safe choice for bytes that crossed a network, mixes the
// bytes in without claiming they are secret; see the package documentation
// for what crediting means and when it has any effect.
//
// RNDADDENTROPY needs CAP_SYS_ADMIN in the initial user namespace whatever
// the credit. OpenKernel checks this up front by issuing an empty,
// uncredited RNDADDENTROPY, so a missing capability is reported here, as
// an error matching [fs.ErrPermission], never at the first Write.
//
// Write never blocks and has no slow or absent reader: the kernel takes
// every write. Inputs longer than 4096 bytes are passed in 4096-byte
// chunks, each credited on its own.
func OpenKernel(creditBitsPerByte int) (Kernel, error) {
	if creditBitsPerByte < 0 || creditBitsPerByte > 8 {
		return nil, fmt.Errorf("sink: kernel: credit of %d bits per byte is not between 0 and 8", creditBitsPerByte)
	}
	var fd int
	for {
		var err error
		fd, err = unix.Open("/dev/random", unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sink: kernel: open /dev/random: %w", err)
		}
		break
	}
	s := &kernelSink{fd: fd, credit: int32(creditBitsPerByte), info: new(randPoolInfo)}
	// An empty, uncredited RNDADDENTROPY changes nothing but runs the
	// kernel's permission check. Probing beats reading our capabilities
	// with capget(2): in a container, CAP_SYS_ADMIN in a user namespace
	// shows up in capget but does not satisfy the kernel, which checks
	// the initial namespace.
	if err := s.ioctl(0); err != nil {
		unix.Close(fd)
		switch err {
		case unix.EPERM:
			return nil, fmt.Errorf("sink: kernel: RNDADDENTROPY needs CAP_SYS_ADMIN (run as root or give the service CAP_SYS_ADMIN): %w", err)
		case unix.ENOTTY, unix.EINVAL:
			return nil, fmt.Errorf("sink: kernel: /dev/random does not take RNDADDENTROPY (not the kernel's random device?): %w", err)
		}
		return nil, fmt.Errorf("sink: kernel: RNDADDENTROPY: %w", err)
	}
	return s, nil
}

// ioctl passes the first n bytes of s.info.buf to RNDADDENTROPY, crediting
// n*s.credit bits. The caller holds s.mu or owns s alone.
func (s *kernelSink) ioctl(n int) error {
	s.info.bufSize = int32(n)
	s.info.entropyCount = int32(n) * s.credit // at most 8*kernelChunk, within the kernel's limit of 8 bits per byte
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.RNDADDENTROPY, uintptr(unsafe.Pointer(s.info)))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errno
	}
}

// Write mixes p into the kernel's entropy pool, crediting the bits per
// byte given to OpenKernel. It never blocks. Input longer than 4096 bytes
// goes in 4096-byte chunks; if one fails, which should not happen once
// OpenKernel has succeeded, Write returns the bytes already mixed in with
// the error.
func (s *kernelSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return 0, fmt.Errorf("sink: write kernel: %w", os.ErrClosed)
	}
	written := 0
	for len(p) > 0 {
		n := copy(s.info.buf[:], p)
		if err := s.ioctl(n); err != nil {
			return written, fmt.Errorf("sink: write kernel: RNDADDENTROPY: %w", err)
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// Reseed makes the kernel's CRNG reseed from its input pool now, with the
// RNDRESEEDCRNG ioctl on /dev/random (Linux 4.17 and later).
func (s *kernelSink) Reseed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return fmt.Errorf("sink: reseed kernel: %w", os.ErrClosed)
	}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.RNDRESEEDCRNG, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("sink: reseed kernel: RNDRESEEDCRNG: %w", errno)
	}
}

// Close closes /dev/random.
func (s *kernelSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return fmt.Errorf("sink: close kernel: %w", os.ErrClosed)
	}
	fd := s.fd
	s.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("sink: close kernel: %w", err)
	}
	return nil
}

// String describes the output, e.g. "kernel pool (credit 0 bits/byte)".
func (s *kernelSink) String() string {
	return fmt.Sprintf("kernel pool (credit %d bits/byte)", s.credit)
}
