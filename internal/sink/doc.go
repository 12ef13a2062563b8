// Package sink provides the outputs that ssmrandom writes verified entropy
// to, usually a FIFO that rngd reads.
//
// [Open] picks the output from a path:
//
//   - "-" is standard output. Writes block while the reader is slow. If the
//     reader is gone, writing to a closed pipe on standard output raises
//     SIGPIPE, which ends the process unless the program has called
//     signal.Notify for SIGPIPE; in that case Write returns an error wrapping
//     syscall.EPIPE.
//   - An existing regular file is appended to, never truncated. There is no
//     reader to wait for: the file grows until the disk is full, when Write
//     returns an error (possibly after a short write).
//   - An existing FIFO is opened read-write and non-blocking. Open never
//     waits for a reader. Because the sink itself holds a read end, the
//     kernel never reports a broken pipe when the reader (rngd) exits or
//     restarts, and the reader never sees end of file while the sink is open;
//     bytes written while no reader is attached wait in the pipe buffer
//     (64 KiB by default on Linux) for the next reader. When the pipe buffer
//     is full, because the reader is slow or absent, Write returns [ErrFull]
//     at once and writes nothing: the caller drops the frame and counts it.
//     Writes of at most [PipeBuf] bytes are all-or-nothing; larger writes are
//     refused.
//   - A path that does not exist becomes a FIFO: the parent directory is
//     created if missing (mode 0755) and the FIFO is created with mode 0600,
//     then opened as above.
//   - An existing character device, such as /dev/null, is opened write-only
//     and written with blocking writes; what a slow or absent reader means
//     is up to the device. This is handy for benchmarks.
//
// Any other kind of file (a directory, socket or block device) is an error.
//
// The package never logs and never panics; it returns errors whose text
// names the output, and [ErrFull] for the one condition a caller is expected
// to count and carry on from.
package sink
