// Package mcast moves datagrams over IP source-specific multicast (SSM,
// RFC 4607): a [Sender] sends to a group, a [Receiver] joins a group for a
// set of sources and reads what they send. It knows nothing of what the
// datagrams carry.
//
// Groups are IPv4 232.0.0.0/8 (joined with IGMPv3) or IPv6 ff3x::/32
// (joined with MLDv2); [IsSSM] tells them apart from other multicast
// addresses, which the package refuses. The same API serves both families,
// chosen by the group's address.
//
// # Linux specifics
//
// A receiver's socket is bound to the group address, not to the wildcard
// address as the net package would bind it, so datagrams for other groups
// on the same port are not delivered to it. SO_REUSEADDR lets several
// receivers on one host share the group and port. IP_MULTICAST_ALL (and
// IPV6_MULTICAST_ALL, Linux 4.20 and later) is turned off: by default Linux
// delivers to a socket datagrams for a group, or arriving on an interface,
// that the socket did not join, as long as some other socket on the host
// joined them. With it off, only the joined (source, group) pairs on the
// joined interface reach the socket; [Receiver.Read] checks the source
// again and counts strays in [Receiver.Foreign].
//
// The kernel caps the sources one socket may join per group: sysctls
// net.ipv4.igmp_max_msf (default 10) and net.ipv6.mld_max_msf (default 64).
//
// [Receiver.ReadBatch] reads up to [MaxReadBatch] datagrams with one
// recvmmsg, issued directly rather than through x/net's ReadBatch, which
// allocates a source address per datagram; [Sender.WriteBatch] sends with
// sendmmsg through x/net's WriteBatch. The receiver's socket has
// SO_RXQ_OVFL on, so the datagrams read carry the socket's drop count,
// which [Receiver.Drops] brings up to date with SO_MEMINFO.
// [Receiver.SetReadBuffer] sets the receive buffer with SO_RCVBUFFORCE
// (CAP_NET_ADMIN) or else SO_RCVBUF, which the kernel caps at sysctl
// net.core.rmem_max; the kernel then reports, and counts, twice the size
// set.
//
// On other systems the receiver's socket is bound to the wildcard address,
// truncation goes undetected, ReadBatch and WriteBatch move one datagram
// per system call, and no drop is counted.
//
// [Receiver.KeepJoined] watches the interfaces with a netlink route socket
// (RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) and joins again
// when the receiver's interface comes up, changes addresses, or is created
// again; elsewhere it returns an error wrapping [ErrLinkWatch].
//
// # Loopback
//
// IPv4 SSM works on the loopback interface without privileges and without
// changing it (lo need not have the MULTICAST flag): a [Sender] dialled on lo
// sends from 127.0.0.1 with multicast loopback on, and a [Receiver] that
// joined (127.0.0.1, group) on lo gets the datagrams, once each. [Dial] binds
// an IPv4 sender to its interface's first IPv4 address because Linux would
// otherwise pick another interface's address for lo, 127.0.0.1 having host
// scope.
//
// IPv6 multicast does not work on lo: without the MULTICAST flag lo has no
// ff00::/8 route, and dialling fails with "network is unreachable". IPv6 SSM
// between two network namespaces joined by a veth pair does work; the tests
// do that.
package mcast
