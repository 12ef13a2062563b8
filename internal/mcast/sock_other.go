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
