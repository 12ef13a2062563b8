//go:build !linux

package mcast

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// msgTrunc is zero here: truncation is not detected.
const msgTrunc = 0

// dialControl returns nil: the multicast interface is set after connect,
// so the source address is the one routing picks for the group.
func dialControl(v6 bool, ifi *net.Interface) func(network, address string, c syscall.RawConn) error {
	return nil
}

// listenGroup returns a UDP socket listening on the group's port. The net
// package binds it to the wildcard address with SO_REUSEADDR, so it may get
// datagrams for other groups on the port that pass Read's source check.
func listenGroup(group netip.AddrPort, ifi *net.Interface) (*net.UDPConn, error) {
	network := "udp4"
	if group.Addr().Is6() {
		network = "udp6"
	}
	return net.ListenUDP(network, udpAddr(group, ifi))
}

// linkWatch is not available here.
type linkWatch struct{}

func openLinkWatch() (*linkWatch, error) {
	return nil, errors.New("netlink is Linux only")
}

func (*linkWatch) read() ([]linkChange, error) { return nil, errors.ErrUnsupported }

func (*linkWatch) close() {}

// batchReader reads one datagram at a time: no recvmmsg here.
type batchReader struct{}

// read reads one datagram into bufs[0]; drops are not known here.
func (*batchReader) read(conn *net.UDPConn, bufs [][]byte, ns []int, srcs []netip.Addr) (n int, drops uint32, err error) {
	n, _, _, from, err := conn.ReadMsgUDPAddrPort(bufs[0], nil)
	if err != nil {
		return 0, 0, err
	}
	ns[0], srcs[0] = n, from.Addr()
	return 1, 0, nil
}

// socketDrops reports no count: it is not known here.
func socketDrops(*net.UDPConn) (uint32, bool) { return 0, false }

// setReadBuffer sets conn's receive buffer with SO_RCVBUF; the size set
// cannot be read back here.
func setReadBuffer(conn *net.UDPConn, bytes int) (ReadBuffer, error) {
	return ReadBuffer{Asked: bytes}, conn.SetReadBuffer(bytes)
}

// readBufferSize returns 0: not known here.
func readBufferSize(*net.UDPConn) int { return 0 }
