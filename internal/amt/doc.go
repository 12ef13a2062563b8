// Package amt is an Automatic Multicast Tunneling gateway (RFC 7450) in
// user space: it reaches an SSM channel through an AMT relay over a plain
// UDP socket, with no tun device and no privileges.
//
// A [Gateway] discovers a relay (Relay Discovery, Advertisement), asks it
// for a Membership Query (Request, with a random nonzero nonce), answers
// with a Membership Update carrying an IGMPv3 report (IPv4 data) or an
// MLDv2 report (IPv6 data) for exactly the joined (source, group)
// channels, and then reads Multicast Data: each one's inner IP and UDP
// headers are checked against the joined channels and stripped, and
// [Gateway.Read] returns the UDP payload with its inner source, the shape
// of a native SSM receiver. It renews its membership at the relay's query
// interval, and finds a relay that went silent again, with backoff.
//
// The package moves datagrams and knows nothing of frames or keys: a
// relay is not trusted, and whatever it sends is checked by the caller as
// any datagram from the network is. It never logs; [Gateway.Stats] says
// what it did.
package amt
