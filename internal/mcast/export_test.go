package mcast

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// NewReceiverFromConn returns a Receiver that reads from conn, a unicast IPv4
// socket, and accepts datagrams from sources, without joining any group. It
// lets tests hand Read datagrams from a source the kernel's SSM filter would
// have dropped.
func NewReceiverFromConn(conn *net.UDPConn, sources []netip.Addr) *Receiver {
	return &Receiver{
		conn:    conn,
		ssm:     ipv4.NewPacketConn(conn),
		group:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		sources: sources,
	}
}

// DropsRead returns the drop count the datagrams read so far carried
// (SO_RXQ_OVFL), without asking the socket for its current count as
// Drops does.
func (r *Receiver) DropsRead() uint64 {
	return r.drops.load()
}

// Conn returns the receiver's socket, for benchmarks that read it
// another way.
func (r *Receiver) Conn() *net.UDPConn {
	return r.conn
}
