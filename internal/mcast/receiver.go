package mcast

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Receiver receives the datagrams one or more sources send to one SSM group.
// Create it with [JoinSSM]; the zero value is not usable. Its methods are safe
// for concurrent use; in particular Close may be called from another
// goroutine to stop one blocked in Read.
type Receiver struct {
	conn    *net.UDPConn
	ssm     ssmJoiner
	group   netip.AddrPort
	ifname  string       // the interface given to JoinSSM, "" for routing
	sources []netip.Addr // joined, zone-less, no duplicates
	foreign atomic.Uint64
	drops   dropCounter
	close   sync.Once
	err     error // from the first Close

	mu     sync.Mutex     // guards ifi, closed and the memberships
	ifi    *net.Interface // where the memberships are
	closed bool

	readMu sync.Mutex // guards batch: one ReadBatch at a time
	batch  batchReader
}

// MaxReadBatch is the most datagrams one [Receiver.ReadBatch] reads: at
// 64 the system call's cost is already a small part of each datagram's.
const MaxReadBatch = 64

// ssmJoiner is what ipv4.PacketConn and ipv6.PacketConn have in common.
type ssmJoiner interface {
	JoinSourceSpecificGroup(ifi *net.Interface, group, source net.Addr) error
	LeaveSourceSpecificGroup(ifi *net.Interface, group, source net.Addr) error
	LeaveGroup(ifi *net.Interface, group net.Addr) error
}

// JoinSSM returns a [Receiver] for group: a UDP socket bound to the group
// address and port (so datagrams for other groups on the port are not
// delivered to it), with SO_REUSEADDR so several receivers on one host can
// share the port, multicast-all off on Linux (see the package
// documentation), and a source-specific join (IGMPv3 or MLDv2) of
// (source, group) on ifi for each source. A nil ifi lets the kernel choose
// the interface by routing.
//
// The group must be SSM ([ErrNotSSM] otherwise) with a nonzero port; there
// must be at least one source ([ErrNoSources]), each a unicast address of
// the group's family ([ErrFamily]) and unicast ([ErrNotUnicast]). Duplicate sources are joined once. The
// kernel limits the sources per group and socket (Linux: sysctl
// net.ipv4.igmp_max_msf, 10 by default, and net.ipv6.mld_max_msf, 64).
func JoinSSM(group netip.AddrPort, ifi *net.Interface, sources []netip.Addr) (*Receiver, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("mcast: join %s: %w", group.Addr(), ErrNoSources)
	}
	var srcs []netip.Addr
	for _, s := range sources {
		switch {
		case !s.IsValid():
			return nil, fmt.Errorf("mcast: join %s: invalid source address", group.Addr())
		case s.Is4() != group.Addr().Is4() || s.Is4In6():
			return nil, fmt.Errorf("mcast: join %s: source %s: %w", group.Addr(), s, ErrFamily)
		case s.IsUnspecified() || s.IsMulticast():
			return nil, fmt.Errorf("mcast: join %s: source %s: %w", group.Addr(), s, ErrNotUnicast)
		}
		s = s.WithZone("")
		if !slices.Contains(srcs, s) {
			srcs = append(srcs, s)
		}
	}

	conn, err := listenGroup(group, ifi)
	if err != nil {
		return nil, fmt.Errorf("mcast: join %s: %w", group, err)
	}
	r := &Receiver{conn: conn, group: group, ifi: ifi, sources: srcs}
	if ifi != nil {
		r.ifname = ifi.Name
	}
	if group.Addr().Is4() {
		r.ssm = ipv4.NewPacketConn(conn)
	} else {
		r.ssm = ipv6.NewPacketConn(conn)
	}
	gaddr := udpAddr(netip.AddrPortFrom(group.Addr(), 0), ifi)
	for _, s := range srcs {
		saddr := &net.UDPAddr{IP: s.AsSlice()}
		if err := r.ssm.JoinSourceSpecificGroup(ifi, gaddr, saddr); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mcast: join (%s, %s) on %s: %w", s, group.Addr(), ifiName(ifi), err)
		}
	}
	return r, nil
}

func ifiName(ifi *net.Interface) string {
	if ifi == nil {
		return "default interface"
	}
	return ifi.Name
}

// Read reads the next datagram into b and returns its length and source
// address. A datagram whose source is not one of the joined sources (which
// the kernel's source filter should already have dropped) is skipped and
// counted in [Receiver.Foreign], and Read waits for the next. A datagram
// longer than b comes back cut to len(b) with an error wrapping
// [ErrTruncated]; pass a buffer of [ReadBufferSize] bytes to avoid that. After
// Close, Read returns an error wrapping [net.ErrClosed]; past a deadline set
// with [Receiver.SetReadDeadline], one wrapping [os.ErrDeadlineExceeded].
func (r *Receiver) Read(b []byte) (n int, src netip.Addr, err error) {
	for {
		n, _, flags, from, err := r.conn.ReadMsgUDPAddrPort(b, nil)
		if err != nil {
			return 0, netip.Addr{}, fmt.Errorf("mcast: receive on %s: %w", r.group, err)
		}
		src := from.Addr().Unmap().WithZone("")
		if !slices.Contains(r.sources, src) {
			r.foreign.Add(1)
			continue
		}
		if flags&msgTrunc != 0 {
			return n, src, fmt.Errorf("mcast: receive on %s from %s: %w", r.group, src, ErrTruncated)
		}
		return n, src, nil
	}
}

// ReadBatch reads up to len(bufs) datagrams (at most [MaxReadBatch]) with
// one system call where it can (recvmmsg on Linux; elsewhere it reads one),
// waiting until there is at least one, and returns how many it read: the
// i-th into bufs[i], its length in ns[i] and its source in srcs[i]; ns and
// srcs must be as long as bufs. A datagram longer than its buffer is cut
// to it (ns[i] == len(bufs[i])), not an error: to tell such a datagram
// from one that just fits, pass buffers a byte longer than the longest
// datagram to accept. Datagrams from sources that were not joined are
// skipped and counted as [Receiver.Read] does; to return the others
// first, ReadBatch may exchange elements of bufs. It reads the kernel's
// drop count ([Receiver.Drops]) from the datagrams' control messages, and
// allocates nothing once it has read a batch. Errors are Read's.
// ReadBatch calls are serialised; Close may be called during one.
func (r *Receiver) ReadBatch(bufs [][]byte, ns []int, srcs []netip.Addr) (int, error) {
	bufs = bufs[:min(len(bufs), len(ns), len(srcs), MaxReadBatch)]
	if len(bufs) == 0 {
		return 0, nil
	}
	r.readMu.Lock()
	defer r.readMu.Unlock()
	for {
		n, drops, err := r.batch.read(r.conn, bufs, ns, srcs)
		if drops != 0 {
			r.drops.see(drops)
		}
		if err != nil {
			return 0, fmt.Errorf("mcast: receive on %s: %w", r.group, err)
		}
		kept := 0
		for i := range n {
			src := srcs[i].Unmap().WithZone("")
			if !slices.Contains(r.sources, src) {
				r.foreign.Add(1)
				continue
			}
			// bufs[kept] holds a foreign datagram, if kept < i: it
			// moves to i.
			bufs[kept], bufs[i] = bufs[i], bufs[kept]
			ns[kept], srcs[kept] = ns[i], src
			kept++
		}
		if kept > 0 {
			return kept, nil
		}
	}
}

// Drops returns how many datagrams the kernel has dropped at the socket
// since the Receiver was made, nearly always because its receive buffer
// ([Receiver.SetReadBuffer]) was full. On Linux it is the socket's drop
// counter, which the datagrams that [Receiver.ReadBatch] reads carry
// (SO_RXQ_OVFL), brought up to date by a getsockopt (SO_MEMINFO, Linux 4.6
// and later) so that drops after the last datagram read count too; it is 0
// elsewhere. After Close it is the count when the socket was closed.
func (r *Receiver) Drops() uint64 {
	if v, ok := socketDrops(r.conn); ok {
		r.drops.see(v)
	}
	return r.drops.load()
}

// ReadBuffer is the outcome of [Receiver.SetReadBuffer].
type ReadBuffer struct {
	// Asked is the size asked for, in bytes.
	Asked int
	// Size is the socket's receive buffer as the kernel reports it after
	// the change: on Linux twice the size set (Linux doubles it to allow
	// for its bookkeeping of each datagram), 0 where it cannot be read
	// back.
	Size int
	// Forced reports whether the size was set past the system's limit
	// (Linux: SO_RCVBUFFORCE, which needs CAP_NET_ADMIN). Without it the
	// size set is at most net.core.rmem_max.
	Forced bool
	// Capped reports whether the system's limit (Linux:
	// net.core.rmem_max) made the buffer smaller than asked.
	Capped bool
}

// SetReadBuffer sets the socket's receive buffer to bytes, which must be
// positive: where the process may (Linux: CAP_NET_ADMIN) past the
// system's limit, else up to it; then it reads the size back.
func (r *Receiver) SetReadBuffer(bytes int) (ReadBuffer, error) {
	if bytes <= 0 {
		return ReadBuffer{}, fmt.Errorf("mcast: receive buffer on %s: %d bytes, want a positive size", r.group, bytes)
	}
	b, err := setReadBuffer(r.conn, bytes)
	if err != nil {
		return b, fmt.Errorf("mcast: receive buffer on %s: %w", r.group, err)
	}
	return b, nil
}

// ReadBufferSize returns the socket's receive buffer in bytes as the
// kernel reports it (Linux: twice the size set), or 0 where it cannot be
// read.
func (r *Receiver) ReadBufferSize() int {
	return readBufferSize(r.conn)
}

// dropCounter turns the kernel's 32-bit count of a socket's drops, read
// at different times and in any order, into a total that never goes back.
// The zero value counts from 0; it is safe for concurrent use.
type dropCounter struct {
	mu    sync.Mutex
	last  uint32 // the latest count seen
	total uint64 // the drops up to last, wraps of the 32 bits included
}

// see takes a count read from the kernel; a count older than the latest
// seen (less than 2^31 behind it) changes nothing.
func (d *dropCounter) see(v uint32) {
	d.mu.Lock()
	if delta := v - d.last; delta < 1<<31 {
		d.total += uint64(delta)
		d.last = v
	}
	d.mu.Unlock()
}

func (d *dropCounter) load() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// SetReadDeadline sets the time after which a pending or future Read fails
// with an error wrapping [os.ErrDeadlineExceeded]. The zero time means no
// deadline.
func (r *Receiver) SetReadDeadline(t time.Time) error {
	if err := r.conn.SetReadDeadline(t); err != nil {
		return fmt.Errorf("mcast: set read deadline on %s: %w", r.group, err)
	}
	return nil
}

// Foreign returns how many datagrams Read has skipped because their source
// was not one of the joined sources.
func (r *Receiver) Foreign() uint64 {
	return r.foreign.Load()
}

// Close leaves the groups and closes the socket, making a blocked Read
// return. Calls after the first return the first's result.
func (r *Receiver) Close() error {
	r.close.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.closed = true
		// Closing the socket drops its memberships anyway; leaving first
		// just says so explicitly, so its errors (say, the interface has
		// gone) do not matter.
		gaddr := udpAddr(netip.AddrPortFrom(r.group.Addr(), 0), r.ifi)
		for _, s := range r.sources {
			_ = r.ssm.LeaveSourceSpecificGroup(r.ifi, gaddr, &net.UDPAddr{IP: s.AsSlice()})
		}
		r.Drops() // the last count, which Drops returns from now on
		if err := r.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			r.err = fmt.Errorf("mcast: close receiver for %s: %w", r.group, err)
		}
	})
	return r.err
}
