package mcast

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

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
