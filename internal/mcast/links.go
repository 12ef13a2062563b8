package mcast

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// LinkEvent is a change of a network interface after which a [Receiver]
// announces its memberships again.
type LinkEvent int

const (
	// LinkUp: the interface came up (up and running: carrier, or
	// operational state up). Reports sent while it was down were lost, and
	// a snooping switch may have forgotten the port's groups.
	LinkUp LinkEvent = iota + 1
	// LinkAddr: an address of the group's family was added to or removed
	// from the interface; reports carry an address of it.
	LinkAddr
	// LinkNew: an interface of the joined name appeared with a new index,
	// as when it is deleted and created again. The memberships, tied to
	// the old index, are made again on the new one.
	LinkNew
	// LinkGone: the joined interface was deleted. Nothing can be done
	// until one of its name appears again ([LinkNew]).
	LinkGone
	// LinkLost: the kernel dropped change notices (the watch socket's
	// buffer overflowed), so every membership is announced again.
	LinkLost
)

func (e LinkEvent) String() string {
	switch e {
	case LinkUp:
		return "link up"
	case LinkAddr:
		return "address changed"
	case LinkNew:
		return "interface created"
	case LinkGone:
		return "interface deleted"
	case LinkLost:
		return "change notices lost"
	}
	return fmt.Sprintf("LinkEvent(%d)", int(e))
}

// linkChange is one notice from the kernel about an interface.
type linkChange struct {
	event LinkEvent
	index int
	name  string // "" for address notices
	v6    bool   // for address notices: an IPv6 address
}

// Rejoin reports what a receiver did after a change of its interface (see
// [Receiver.KeepJoined]).
type Rejoin struct {
	// Event is the change. For [LinkGone] the receiver did nothing; for
	// the others it left and joined every (source, group) again, which
	// sends a fresh IGMPv3 or MLDv2 report.
	Event LinkEvent
	// Interface is the interface's name, "" when the kernel chooses it
	// by routing (no interface was given to [JoinSSM]).
	Interface string
	// Err is why joining again failed, nil if it worked. The receiver
	// tries again at the next change.
	Err error
}

// ErrLinkWatch reports that changes of the network interfaces cannot be
// watched: on systems other than Linux, or when the kernel refuses the
// netlink socket.
var ErrLinkWatch = errors.New("cannot watch network interfaces")

// KeepJoined watches the host's network interfaces and announces the
// receiver's memberships again, without a restart, when its interface
// comes up, when an address of it changes, or when it is deleted and
// created again (a new index: the memberships are made on it). Given no
// interface at [JoinSSM], it does so after such a change of any interface.
// To announce again it leaves the group and joins each source again, so the
// kernel sends a fresh IGMPv3 or MLDv2 report at once rather than at the
// next query (up to 125 s), which a snooping switch that lost the port's
// groups needs; datagrams arriving in the microseconds between the two
// are lost.
//
// report, if not nil, is called from another goroutine after each such
// change, one call at a time. stop ends the watch and waits for it; Close
// does not stop it. The error wraps [ErrLinkWatch] if interfaces cannot be
// watched here.
func (r *Receiver) KeepJoined(report func(Rejoin)) (stop func(), err error) {
	w, err := openLinkWatch()
	if err != nil {
		return nil, fmt.Errorf("mcast: keep %s joined: %w: %w", r.group.Addr(), ErrLinkWatch, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			changes, err := w.read()
			if err != nil {
				return // closed
			}
			if rj, ok := r.follow(changes); ok && report != nil {
				report(rj)
			}
		}
	}()
	return func() {
		w.close()
		<-done
	}, nil
}

// follow acts on a batch of changes: one rejoin at most for the batch,
// after the last change that concerns the receiver's interface.
func (r *Receiver) follow(changes []linkChange) (Rejoin, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Rejoin{}, false
	}
	var (
		ifi           = r.ifi
		event         LinkEvent // the last change that calls for a rejoin
		created, gone bool
	)
	for _, c := range changes {
		var ours bool
		switch {
		case c.event == LinkLost:
			ours = true
		case r.ifname == "":
			ours = c.event != LinkGone && (c.event != LinkAddr || c.v6 == r.group.Addr().Is6())
		case c.event == LinkAddr:
			ours = c.index == ifi.Index && c.v6 == r.group.Addr().Is6()
		default:
			ours = c.name == r.ifname
		}
		switch {
		case !ours:
		case c.event == LinkGone:
			gone = gone || c.index == ifi.Index
		case r.ifname != "" && c.event != LinkLost && c.index != ifi.Index:
			ifi = &net.Interface{Index: c.index, Name: c.name}
			created, gone = true, false
		default:
			event = c.event
		}
	}
	act := true
	switch {
	case created:
		event = LinkNew
	case event != 0:
	case gone:
		event, act = LinkGone, false
	default:
		return Rejoin{}, false
	}
	rj := Rejoin{Event: event, Interface: r.ifname}
	if act {
		if ifi != nil && event == LinkNew {
			if fresh, err := net.InterfaceByIndex(ifi.Index); err == nil {
				ifi = fresh
			}
		}
		rj.Err = r.rejoin(ifi)
	}
	return rj, true
}

// rejoin leaves the group on the current interface and joins every source
// on ifi, which becomes the current interface. r.mu is held.
func (r *Receiver) rejoin(ifi *net.Interface) error {
	// Leaving the group drops every source of it at once, also on an
	// interface that no longer exists (the socket's membership names the
	// old index); its error does not matter.
	_ = r.ssm.LeaveGroup(r.ifi, udpAddr(netip.AddrPortFrom(r.group.Addr(), 0), r.ifi))
	r.ifi = ifi
	gaddr := udpAddr(netip.AddrPortFrom(r.group.Addr(), 0), ifi)
	var errs []error
	for _, s := range r.sources {
		if err := r.ssm.JoinSourceSpecificGroup(ifi, gaddr, &net.UDPAddr{IP: s.AsSlice()}); err != nil {
			errs = append(errs, fmt.Errorf("mcast: join (%s, %s) on %s again: %w", s, r.group.Addr(), ifiName(ifi), err))
		}
	}
	return errors.Join(errs...)
}
