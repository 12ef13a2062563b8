package mcast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// linkWatch reads the kernel's notices of interface changes: a netlink
// route socket subscribed to the link and IPv4 and IPv6 address groups.
// Its read and close may be called from different goroutines.
type linkWatch struct {
	f       *os.File
	rc      syscall.RawConn
	buf     []byte
	running map[int]bool // by index: up and running as last seen
}

// linkRunning are the flags of an interface that can carry datagrams.
const linkRunning = unix.IFF_UP | unix.IFF_RUNNING

func openLinkWatch() (*linkWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "netlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &linkWatch{f: f, rc: rc, buf: make([]byte, 1<<16), running: map[int]bool{}}
	// Which interfaces run now, so that only a change to running counts
	// as LinkUp. Subscribed first: a change during the dump still comes.
	rib, err := syscall.NetlinkRIB(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK {
			if index, flags, _, ok := parseLink(m); ok {
				w.running[index] = flags&linkRunning == linkRunning
			}
		}
	}
	return w, nil
}

// read waits for the next notices and returns the changes they make; an
// error once the watch is closed.
func (w *linkWatch) read() ([]linkChange, error) {
	for {
		var n int
		var rerr error
		err := w.rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), w.buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil {
			return nil, err
		}
		if errors.Is(rerr, unix.ENOBUFS) {
			return []linkChange{{event: LinkLost}}, nil
		}
		if rerr != nil {
			return nil, rerr
		}
		msgs, err := syscall.ParseNetlinkMessage(w.buf[:n])
		if err != nil {
			continue // a torn message: nothing to act on
		}
		if changes := w.changes(msgs); len(changes) > 0 {
			return changes, nil
		}
	}
}

// changes turns notices into changes, keeping track of what runs.
func (w *linkWatch) changes(msgs []syscall.NetlinkMessage) []linkChange {
	var out []linkChange
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWLINK:
			index, flags, name, ok := parseLink(m)
			if !ok {
				continue
			}
			was, seen := w.running[index]
			now := flags&linkRunning == linkRunning
			w.running[index] = now
			if !seen {
				out = append(out, linkChange{event: LinkNew, index: index, name: name})
			}
			if now && !was {
				out = append(out, linkChange{event: LinkUp, index: index, name: name})
			}
		case unix.RTM_DELLINK:
			if index, _, name, ok := parseLink(m); ok {
				delete(w.running, index)
				out = append(out, linkChange{event: LinkGone, index: index, name: name})
			}
		case unix.RTM_NEWADDR, unix.RTM_DELADDR:
			// struct ifaddrmsg: family, prefixlen, flags, scope (one
			// byte each), then the index.
			if len(m.Data) >= unix.SizeofIfAddrmsg {
				index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
				v6 := m.Data[0] == unix.AF_INET6
				out = append(out, linkChange{event: LinkAddr, index: index, v6: v6})
			}
		}
	}
	return out
}

// parseLink reads an RTM_NEWLINK or RTM_DELLINK notice: the index, flags
// and name of the interface.
func parseLink(m syscall.NetlinkMessage) (index int, flags uint32, name string, ok bool) {
	// struct ifinfomsg: family, pad (one byte each), type (two), index
	// (four), flags (four), change (four).
	if len(m.Data) < unix.SizeofIfInfomsg {
		return 0, 0, "", false
	}
	index = int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
	flags = binary.NativeEndian.Uint32(m.Data[8:12])
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return 0, 0, "", false
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.IFLA_IFNAME {
			v := a.Value
			for len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			name = string(v)
		}
	}
	return index, flags, name, true
}

// close ends the watch; a read in progress returns an error.
func (w *linkWatch) close() { w.f.Close() }
