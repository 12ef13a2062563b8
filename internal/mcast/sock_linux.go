package mcast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// msgTrunc is the recvmsg flag that marks a truncated datagram.
const msgTrunc = unix.MSG_TRUNC

// dialControl returns a [net.Dialer] Control function that sets the
// multicast interface to ifi before connect, so that connect picks the route
// and the source address of ifi. It returns nil for a nil ifi.
func dialControl(v6 bool, ifi *net.Interface) func(network, address string, c syscall.RawConn) error {
	if ifi == nil {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			if v6 {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index)
			} else {
				err = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF,
					&unix.IPMreqn{Ifindex: int32(ifi.Index)})
			}
		})
		if cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("set multicast interface %s: %w", ifi.Name, os.NewSyscallError("setsockopt", err))
		}
		return nil
	}
}

// listenGroup returns a UDP socket bound to the group address and port, with
// SO_REUSEADDR on and IP_MULTICAST_ALL (IPV6_MULTICAST_ALL) off. The net
// package cannot do this: it binds a multicast laddr to the wildcard address.
func listenGroup(group netip.AddrPort, ifi *net.Interface) (*net.UDPConn, error) {
	v6 := group.Addr().Is6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "udp "+group.String())
	defer f.Close() // net.FilePacketConn dups the descriptor
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, fmt.Errorf("set SO_REUSEADDR: %w", os.NewSyscallError("setsockopt", err))
	}
	// Each datagram read carries the socket's drop count (Linux 2.6.33).
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return nil, fmt.Errorf("set SO_RXQ_OVFL: %w", os.NewSyscallError("setsockopt", err))
	}
	var sa unix.Sockaddr
	if v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return nil, fmt.Errorf("set IPV6_V6ONLY: %w", os.NewSyscallError("setsockopt", err))
		}
		// IPV6_MULTICAST_ALL came with Linux 4.20; without it the socket
		// still gets only its own group's datagrams (it is bound to the
		// group) and Read still drops foreign sources.
		err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
		if err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
			return nil, fmt.Errorf("set IPV6_MULTICAST_ALL: %w", os.NewSyscallError("setsockopt", err))
		}
		sa6 := &unix.SockaddrInet6{Port: int(group.Port()), Addr: group.Addr().As16()}
		a := group.Addr()
		if ifi != nil && (a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()) {
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	} else {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
			return nil, fmt.Errorf("set IP_MULTICAST_ALL: %w", os.NewSyscallError("setsockopt", err))
		}
		sa = &unix.SockaddrInet4{Port: int(group.Port()), Addr: group.Addr().As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("bind %s: %w", group, os.NewSyscallError("bind", err))
	}
	c, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// oobSize is the control buffer of one datagram read by recvmmsg: room
// for the SO_RXQ_OVFL message (a 32-bit count) and to spare.
const oobSize = 64

// batchReader reads datagrams with recvmmsg. Its zero value is ready; it
// is not safe for concurrent use. Its buffers are made on the first read
// and then reused, so reads allocate nothing.
type batchReader struct {
	hs    []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	oob   []byte
	rc    syscall.RawConn
	recvF func(fd uintptr) bool // b.recv, bound once

	vlen  int // the messages of the current call
	n     int // its results
	errno syscall.Errno
}

// read reads up to len(bufs) datagrams from conn, at least one, and
// returns how many, each with its length and source, and the largest drop
// count (SO_RXQ_OVFL) they carried, 0 if none did.
func (b *batchReader) read(conn *net.UDPConn, bufs [][]byte, ns []int, srcs []netip.Addr) (n int, drops uint32, err error) {
	if b.rc == nil {
		if b.rc, err = conn.SyscallConn(); err != nil {
			return 0, 0, err
		}
		b.hs = make([]unix.Mmsghdr, MaxReadBatch)
		b.iovs = make([]unix.Iovec, MaxReadBatch)
		b.names = make([]unix.RawSockaddrInet6, MaxReadBatch)
		b.oob = make([]byte, MaxReadBatch*oobSize)
		b.recvF = b.recv
	}
	b.vlen = len(bufs)
	for i := range bufs {
		iov := &b.iovs[i]
		iov.Base = unsafe.SliceData(bufs[i])
		iov.SetLen(len(bufs[i]))
		h := &b.hs[i]
		h.Len = 0
		h.Hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[i])), Namelen: unix.SizeofSockaddrInet6, Iov: iov,
			Control: &b.oob[i*oobSize]}
		h.Hdr.SetIovlen(1)
		h.Hdr.SetControllen(oobSize)
	}
	err = b.rc.Read(b.recvF)
	for i := range bufs {
		b.iovs[i].Base = nil // keep no caller's buffer alive
	}
	if err != nil {
		return 0, 0, err
	}
	if b.errno != 0 {
		return 0, 0, os.NewSyscallError("recvmmsg", b.errno)
	}
	for i := range b.n {
		h := &b.hs[i]
		ns[i] = min(int(h.Len), len(bufs[i]))
		srcs[i] = rawAddr(&b.names[i])
		if h.Hdr.Controllen > 0 {
			if v, ok := overflow(b.oob[i*oobSize : i*oobSize+int(h.Hdr.Controllen)]); ok {
				drops = max(drops, v)
			}
		}
	}
	return b.n, drops, nil
}

// recv is the function b.read hands the runtime's poller: false means
// nothing to read yet, wait.
func (b *batchReader) recv(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hs[0])), uintptr(b.vlen), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		b.n, b.errno = 0, errno
		if errno == 0 {
			b.n = int(n)
		}
		return true
	}
}

// rawAddr returns the address of a sockaddr_in or sockaddr_in6.
func rawAddr(sa *unix.RawSockaddrInet6) netip.Addr {
	if sa.Family == unix.AF_INET {
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(sa)).Addr)
	}
	return netip.AddrFrom16(sa.Addr)
}

// overflow returns the drop count of an SO_RXQ_OVFL control message in
// oob, and whether there is one.
func overflow(oob []byte) (uint32, bool) {
	for len(oob) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.CmsgLen(0) || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			return binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]), true
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}

// socketDrops returns the socket's drop counter (SO_MEMINFO, Linux 4.6),
// and whether it could be read.
func socketDrops(conn *net.UDPConn) (uint32, bool) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, false
	}
	var mem [unix.SK_MEMINFO_VARS]uint32
	var errno syscall.Errno
	cerr := rc.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(mem))
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if cerr != nil || errno != 0 {
		return 0, false
	}
	return mem[unix.SK_MEMINFO_DROPS], true
}

// setReadBuffer sets conn's receive buffer to bytes with SO_RCVBUFFORCE,
// or where the process may not (no CAP_NET_ADMIN) with SO_RCVBUF, which
// the kernel caps at net.core.rmem_max; then it reads the size back.
func setReadBuffer(conn *net.UDPConn, bytes int) (ReadBuffer, error) {
	b := ReadBuffer{Asked: bytes}
	rc, err := conn.SyscallConn()
	if err != nil {
		return b, err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
		b.Forced = serr == nil
		if errors.Is(serr, unix.EPERM) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, bytes)
		}
		if serr != nil {
			serr = os.NewSyscallError("setsockopt", serr)
			return
		}
		b.Size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		if serr != nil {
			serr = os.NewSyscallError("getsockopt", serr)
		}
	})
	if cerr != nil {
		return b, cerr
	}
	if serr != nil {
		return b, serr
	}
	// Linux doubles the size set; SO_RCVBUF sets at most rmem_max.
	b.Capped = !b.Forced && b.Size/2 < bytes
	return b, nil
}

// readBufferSize returns conn's receive buffer (SO_RCVBUF), 0 if it
// cannot be read.
func readBufferSize(conn *net.UDPConn) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return n
}
