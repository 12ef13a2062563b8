// Package boot holds the tests of ssmrandom's boot-time delivery as the
// Debian package installs it: the initramfs-tools hook and boot script
// built into an image by mkinitramfs and booted with Debian's kernel under
// QEMU, the dracut module built by dracut and listed by lsinitrd, and the
// systemd units run by systemd as PID 1 in a systemd-nspawn container.
//
// The tests need root and the tools below; without them they skip, and
// with the environment variable CI set they fail instead. They install
// nothing themselves: .ci/run installs, with apt-get,
//
//	qemu-system-x86 linux-image-amd64 initramfs-tools busybox
//	dracut-core dracut-network mmdebstrap systemd-container systemd
//	dbus dpkg-dev iproute2 zstd
//
// They take minutes (5 to 9 on a loaded 2-core machine), so make test
// leaves them out: make test-boot runs them, with go test -timeout 30m,
// and .ci/run runs that as a step of its own.
//
// Every test is bounded by a context and removes what it made (network
// namespaces, QEMU and nspawn processes, mounts) even when it fails.
package boot
