package mcast

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// joinLog records what a receiver asks of its socket.
type joinLog struct{ calls []string }

func (j *joinLog) JoinSourceSpecificGroup(ifi *net.Interface, group, source net.Addr) error {
	j.calls = append(j.calls, "join "+source.(*net.UDPAddr).IP.String()+" "+ifiName(ifi))
	return nil
}

func (j *joinLog) LeaveSourceSpecificGroup(ifi *net.Interface, group, source net.Addr) error {
	j.calls = append(j.calls, "leave "+source.String()+" "+ifiName(ifi))
	return nil
}

func (j *joinLog) LeaveGroup(ifi *net.Interface, group net.Addr) error {
	j.calls = append(j.calls, "leave all "+ifiName(ifi))
	return nil
}

// TestFollow: which interface changes make a receiver join again, and
// where.
func TestFollow(t *testing.T) {
	eth0 := &net.Interface{Index: 7, Name: "eth0"}
	src := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	for _, c := range []struct {
		name    string
		ifi     *net.Interface
		changes []linkChange
		want    LinkEvent // 0: no report
		calls   string
	}{
		{"up", eth0, []linkChange{{event: LinkUp, index: 7, name: "eth0"}}, LinkUp, "leave all eth0, join 192.0.2.1 eth0"},
		{"address", eth0, []linkChange{{event: LinkAddr, index: 7}}, LinkAddr, "leave all eth0, join 192.0.2.1 eth0"},
		{"address of the other family", eth0, []linkChange{{event: LinkAddr, index: 7, v6: true}}, 0, ""},
		{"routing: address of the other family", nil, []linkChange{{event: LinkAddr, index: 7, v6: true}}, 0, ""},
		{"other interface", eth0, []linkChange{{event: LinkUp, index: 8, name: "eth1"}, {event: LinkAddr, index: 8, name: ""}, {event: LinkGone, index: 8, name: "eth1"}}, 0, ""},
		{"gone", eth0, []linkChange{{event: LinkGone, index: 7, name: "eth0"}}, LinkGone, ""},
		// Created again: a new index, joined there (the name resolves
		// to the test's struct when this host has no such index).
		{"created again", eth0, []linkChange{{event: LinkGone, index: 7, name: "eth0"}, {event: LinkNew, index: 9, name: "eth0"}, {event: LinkUp, index: 9, name: "eth0"}, {event: LinkAddr, index: 9, name: ""}},
			LinkNew, "leave all eth0, join 192.0.2.1 "},
		{"lost notices", eth0, []linkChange{{event: LinkLost}}, LinkLost, "leave all eth0, join 192.0.2.1 eth0"},
		{"routing: any interface", nil, []linkChange{{event: LinkUp, index: 8, name: "eth1"}}, LinkUp, "leave all default interface, join 192.0.2.1 default interface"},
		{"routing: gone", nil, []linkChange{{event: LinkGone, index: 8, name: "eth1"}}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := &joinLog{}
			r := &Receiver{ssm: j, group: netip.MustParseAddrPort("232.0.1.130:49130"), ifi: c.ifi, sources: src}
			if c.ifi != nil {
				r.ifname = c.ifi.Name
			}
			rj, ok := r.follow(c.changes)
			if got := rj.Event; ok != (c.want != 0) || got != c.want {
				t.Errorf("got %v (%v), want %v", got, ok, c.want)
			}
			got := strings.Join(j.calls, ", ")
			if c.want == LinkNew {
				// The new interface's name depends on this host.
				if !strings.HasPrefix(got, c.calls) || r.ifi.Index != 9 {
					t.Errorf("got calls %q and index %d, want %q... and index 9", got, r.ifi.Index, c.calls)
				}
				return
			}
			if got != c.calls {
				t.Errorf("got calls %q, want %q", got, c.calls)
			}
		})
	}
	// A closed receiver does nothing.
	j := &joinLog{}
	r := &Receiver{ssm: j, ifi: eth0, ifname: "eth0", sources: src, closed: true}
	if _, ok := r.follow([]linkChange{{event: LinkUp, index: 7, name: "eth0"}}); ok || !slices.Equal(j.calls, nil) {
		t.Errorf("closed receiver: got %v, %q, want nothing", ok, j.calls)
	}
}
