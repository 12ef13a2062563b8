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
// [OpenKernel] is the other output: it mixes the bytes straight into the
// Linux kernel's entropy pool with the RNDADDENTROPY ioctl on /dev/random,
// with no rngd in between. It is a separate constructor, not a special
// name for Open, so that every string Open takes is a path: the command
// line maps its own "kernel" keyword to OpenKernel. RNDADDENTROPY needs
// CAP_SYS_ADMIN; OpenKernel checks for it up front and fails with an error
// matching fs.ErrPermission if it is missing. Writes never block and there
// is no reader to be slow or gone: the kernel takes every write. On systems
// other than Linux, OpenKernel returns an error matching
// errors.ErrUnsupported.
//
// OpenKernel takes a credit, 0 to 8 bits per byte: how much entropy the
// kernel is told each byte contains. Crediting is a claim that the bytes
// are unpredictable to an attacker. Bytes sent over multicast are visible
// to anyone on the path between sender and receiver, so by default (credit
// 0) they are only mixed in, never credited: mixing in known bytes cannot
// weaken the pool, but counting them as entropy could let the kernel
// believe it is seeded when it is not. Credit 0 is what a plain write(2) to
// /dev/random does too, which needs no privilege: Open("/dev/random")
// gives that without CAP_SYS_ADMIN. The one input worth crediting is a
// host's secret seed (docs/protocol.md §9, the seed command): 32 bytes
// credited at 8 bits each, then [Kernel.Reseed] (RNDRESEEDCRNG) so that
// the RNG rekeys from them at once.
//
// Since Linux 5.18 (Jason Donenfeld's rewrite of random.c), credit matters
// only until the kernel's random number generator is initialised, that is
// while crng_init is below 2 in early boot, when the kernel has collected
// fewer than 256 bits. That is exactly when a fresh virtual machine wants
// entropy from the network. Once initialised the kernel never blocks
// readers again and ignores credit: every write is mixed in, and
// /proc/sys/kernel/random/entropy_avail reads 256 for good. Before 5.18,
// credit raised entropy_avail and could unblock readers of /dev/random.
//
// The package never logs and never panics; it returns errors whose text
// names the output, and [ErrFull] for the one condition a caller is expected
// to count and carry on from.
package sink
