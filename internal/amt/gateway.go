package amt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Timers of the gateway. RFC 7450 §5.2.3.4 leaves the numbers to the
// implementation.
const (
	// FirstRetry is how long the gateway waits for an Advertisement or a
	// Query before it sends the Discovery or Request again; each retry
	// waits twice as long.
	FirstRetry = time.Second
	// MaxBackoff bounds the wait between Relay Discoveries to a relay
	// that does not answer.
	MaxBackoff = 30 * time.Second
	// RequestTries is how many Requests go unanswered before the relay is
	// taken for gone and discovered again.
	RequestTries = 3
	// DefaultInterval is the query interval used until a relay says its
	// own, and when it says 0: RFC 3376's default, 125 s.
	DefaultInterval = 125 * time.Second
	// DefaultProbe is [Config.Probe]'s default.
	DefaultProbe = 5 * time.Second
	// maxMessage is the largest AMT message read: a UDP datagram.
	maxMessage = 65535
)

// ErrConfig is a [Config] that cannot work; [Open]'s error wraps it.
var ErrConfig = errors.New("amt: bad config")

// Config says which relay to find and which channels to join.
type Config struct {
	// Discovery is where Relay Discovery messages go: a relay's
	// discovery address or the AMT anycast address; port 0 means [Port].
	// Its family is the tunnel's.
	Discovery netip.AddrPort
	// Group is the SSM group and UDP port of the channels. Its family is
	// the data's: IGMPv3 for IPv4, MLDv2 for IPv6.
	Group netip.AddrPort
	// Sources are the channels' sources, of the group's family.
	Sources []netip.Addr
	// Probe is how long the tunnel may carry no data before the gateway
	// asks the relay with a Request whether it is still there, rather
	// than waiting for the query interval; 0 means [DefaultProbe], a
	// negative value only the query interval.
	Probe time.Duration
}

// State is a tunnel's state.
type State int32

// The states of a tunnel.
const (
	// Discovering: Relay Discovery sent, no Advertisement yet.
	Discovering State = iota
	// Requesting: a relay advertised, Request sent, no Query yet.
	Requesting
	// Up: the relay sent a Query and the membership was reported.
	Up
	// Closed: [Gateway.Close] was called.
	Closed
)

func (s State) String() string {
	switch s {
	case Discovering:
		return "discovering"
	case Requesting:
		return "requesting"
	case Up:
		return "up"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Stats is what a gateway did so far.
type Stats struct {
	State State
	// Local is the gateway's UDP socket address.
	Local netip.AddrPort
	// Discovery is where Relay Discoveries go; Relay the relay that
	// advertised itself last (zero before the first Advertisement).
	Discovery, Relay netip.AddrPort
	// Interval is the relay's query interval; zero before a Query.
	Interval time.Duration
	// Rediscoveries counts the times a relay that had advertised itself
	// went silent and was discovered again.
	Rediscoveries uint64
	// Queries counts Membership Queries answered.
	Queries uint64
	// Data counts Multicast Data messages delivered.
	Data uint64
	// Foreign counts Multicast Data of a channel not joined: another
	// group or port, or a source not joined (a spoofed inner source).
	Foreign uint64
	// Malformed counts messages that did not parse: bad Multicast Data
	// (not one whole UDP datagram, a bad checksum) among them.
	Malformed uint64
	// Stray counts messages the gateway did not expect: from an address
	// that is not the relay, with a nonce it did not send, or of a type a
	// relay does not send.
	Stray uint64
}

// A Gateway is an AMT gateway joined to the channels of a [Config]. It is
// safe for concurrent use, but [Gateway.Read] is meant to be called from
// one goroutine, which also handles the relay's control messages: the
// tunnel comes up only while Read is being called. The zero value is not
// usable: call [Open].
type Gateway struct {
	conn      *net.UDPConn
	group     netip.AddrPort
	sources   []netip.Addr
	discovery netip.AddrPort
	probe     time.Duration
	kick      chan struct{} // wakes the timer goroutine
	done      chan struct{} // closed by Close
	stopped   chan struct{} // closed when the timer goroutine ends
	rbuf      []byte        // Read's

	// Counted by Read without the lock.
	data, foreign, malformed, stray atomic.Uint64
	lastData                        atomic.Int64 // unix nanoseconds

	mu            sync.Mutex
	state         State
	relay         netip.AddrPort // valid from Requesting on
	discNonce     uint32         // of the last Relay Discovery
	reqNonce      uint32         // of the current Request round
	tries         int            // Discoveries or Requests sent in this round
	next          time.Time      // when the timer acts next
	backoff       time.Duration  // the wait before the next Discovery
	lastRequest   time.Time
	lastQuery     time.Time
	interval      time.Duration
	mac           [macLen]byte // of the last Query, for Teardown
	macNonce      uint32
	gwSeen        netip.AddrPort // the Query's G address, if any
	rediscoveries uint64
	queries       uint64
	buf           []byte // for messages sent under mu
}

// Open opens the gateway's UDP socket and starts discovering a relay.
func Open(cfg Config) (*Gateway, error) {
	if !cfg.Discovery.Addr().IsValid() {
		return nil, fmt.Errorf("%w: no discovery address", ErrConfig)
	}
	if !cfg.Group.Addr().IsMulticast() || cfg.Group.Port() == 0 {
		return nil, fmt.Errorf("%w: group %s is not a multicast address and port", ErrConfig, cfg.Group)
	}
	if len(cfg.Sources) == 0 {
		return nil, fmt.Errorf("%w: no source", ErrConfig)
	}
	for _, s := range cfg.Sources {
		if s.Is4() != cfg.Group.Addr().Is4() {
			return nil, fmt.Errorf("%w: source %s and group %s of different families", ErrConfig, s, cfg.Group.Addr())
		}
	}
	disc := netip.AddrPortFrom(cfg.Discovery.Addr().Unmap(), cfg.Discovery.Port())
	if disc.Port() == 0 {
		disc = netip.AddrPortFrom(disc.Addr(), Port)
	}
	network := "udp6"
	if disc.Addr().Is4() {
		network = "udp4"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("amt: open gateway socket: %w", err)
	}
	probe := cfg.Probe
	if probe == 0 {
		probe = DefaultProbe
	}
	g := &Gateway{
		conn: conn, group: cfg.Group, sources: slices.Clone(cfg.Sources), discovery: disc, probe: probe,
		kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
		backoff: FirstRetry, interval: DefaultInterval, rbuf: make([]byte, maxMessage),
	}
	g.lastData.Store(time.Now().UnixNano())
	go g.timers()
	return g, nil
}

// nonce returns a random nonzero nonce (a relay ignores a nonce of 0).
func nonce() uint32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		if n := binary.BigEndian.Uint32(b[:]); n != 0 {
			return n
		}
	}
}

// jitter returns d plus up to a quarter of d at random, so that gateways
// that lost one relay at once do not come back in step.
func jitter(d time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d/4)+1))
	if err != nil {
		return d
	}
	return d + time.Duration(n.Int64())
}

// timers sends Discoveries and Requests when they are due, until Close.
func (g *Gateway) timers() {
	defer close(g.stopped)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-t.C:
		case <-g.kick:
		}
		t.Reset(g.tick(time.Now()))
	}
}

// tick does what is due at now and returns how long until the next tick.
func (g *Gateway) tick(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case Closed:
		return time.Hour
	case Discovering:
		if !now.Before(g.next) {
			g.discNonce = nonce()
			g.send(appendDiscovery(g.buf[:0], g.discNonce), g.discovery)
			g.tries++
			g.next = now.Add(jitter(g.backoff))
			g.backoff = min(2*g.backoff, MaxBackoff)
		}
	case Requesting:
		if !now.Before(g.next) {
			if g.tries >= RequestTries {
				g.rediscover(now)
				return 0
			}
			g.sendRequest(now)
		}
	case Up:
		if g.reqNonce != 0 { // a Request of this round is unanswered
			if !now.Before(g.next) {
				g.sendRequest(now)
			}
			break
		}
		idle := time.Duration(now.UnixNano() - g.lastData.Load())
		switch {
		case !now.Before(g.lastQuery.Add(g.interval)):
			g.newRequest(now) // the query interval is up: renew
		case g.probe > 0 && idle >= g.probe && now.Sub(g.lastRequest) >= g.probe:
			g.newRequest(now) // no data for a while: is the relay there?
		default:
			g.next = g.lastQuery.Add(g.interval)
			if g.probe > 0 {
				p := now.Add(g.probe - idle)
				if r := g.lastRequest.Add(g.probe); r.After(p) {
					p = r
				}
				if p.Before(g.next) {
					g.next = p
				}
			}
		}
	}
	return max(g.next.Sub(now), time.Millisecond)
}

// rediscover forgets the relay and starts discovering again.
func (g *Gateway) rediscover(now time.Time) {
	g.state, g.tries, g.backoff, g.next = Discovering, 0, FirstRetry, now
	g.rediscoveries++
}

// newRequest starts a Request round with a fresh nonce.
func (g *Gateway) newRequest(now time.Time) {
	if g.state != Up {
		g.state = Requesting
	}
	g.reqNonce, g.tries = nonce(), 0
	g.sendRequest(now)
}

// sendRequest sends (or sends again) the round's Request; in state Up, an
// unanswered round moves the tunnel to Requesting.
func (g *Gateway) sendRequest(now time.Time) {
	if g.state == Up && g.tries > 0 {
		g.state = Requesting
	}
	g.send(appendRequest(g.buf[:0], g.reqNonce, !g.group.Addr().Is4()), g.relay)
	g.lastRequest = now
	g.next = now.Add(FirstRetry << g.tries)
	g.tries++
}

// send sends b to dst, keeping b's array for the next message. A failed
// send is left to the retries.
func (g *Gateway) send(b []byte, dst netip.AddrPort) {
	g.buf = b
	_, _ = g.conn.WriteToUDPAddrPort(b, dst)
}

// wake makes the timer goroutine tick now.
func (g *Gateway) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Read reads the next Multicast Data of a joined channel into b and
// returns its UDP payload's length and inner source; a payload longer
// than b fills it. It handles the relay's control messages as they come,
// and drops and counts (in [Gateway.Stats]) whatever is not data of a
// joined channel. After [Gateway.Close], it returns an error wrapping
// [net.ErrClosed].
func (g *Gateway) Read(b []byte) (n int, src netip.Addr, err error) {
	msg := g.rbuf
	for {
		m, from, err := g.conn.ReadFromUDPAddrPort(msg)
		if err != nil {
			return 0, netip.Addr{}, fmt.Errorf("amt: read: %w", err)
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if m == 0 || msg[0] != TypeData {
			g.control(msg[:m], from)
			continue
		}
		g.mu.Lock()
		relay := g.relay
		g.mu.Unlock()
		if from != relay {
			g.stray.Add(1)
			continue
		}
		p, err := ParseData(msg[:m])
		if err != nil {
			g.malformed.Add(1)
			continue
		}
		if !g.joined(p) {
			g.foreign.Add(1)
			continue
		}
		g.data.Add(1)
		g.lastData.Store(time.Now().UnixNano())
		return copy(b, p.Payload), p.Src, nil
	}
}

// joined reports whether p is a datagram of a joined channel.
func (g *Gateway) joined(p Packet) bool {
	return p.Dst == g.group.Addr() && p.DstPort == g.group.Port() && slices.Contains(g.sources, p.Src)
}

// control handles a message other than Multicast Data.
func (g *Gateway) control(b []byte, from netip.AddrPort) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	switch {
	case len(b) > 0 && b[0] == TypeAdvertisement:
		a, err := ParseAdvertisement(b)
		if err != nil {
			g.malformed.Add(1)
			return
		}
		if g.state != Discovering || a.Nonce != g.discNonce || a.Relay.Is4() != g.discovery.Addr().Is4() {
			g.stray.Add(1)
			return
		}
		g.relay = netip.AddrPortFrom(a.Relay, g.discovery.Port()) // Port, but for tests
		g.state = Requesting
		g.backoff = FirstRetry
		g.newRequest(now)
		g.wake()
	case len(b) > 0 && b[0] == TypeQuery:
		q, err := ParseQuery(b)
		if err != nil {
			g.malformed.Add(1)
			return
		}
		if from != g.relay || q.Nonce != g.reqNonce || g.state == Discovering || g.state == Closed {
			g.stray.Add(1)
			return
		}
		g.reqNonce = 0 // one Update per Request
		report := appendReport(nil, recordIsInclude, g.group.Addr(), g.sources)
		g.send(appendUpdate(g.buf[:0], q.MAC, q.Nonce, report), g.relay)
		g.mac, g.macNonce, g.gwSeen = q.MAC, q.Nonce, q.Gateway
		g.state, g.tries, g.lastQuery = Up, 0, now
		g.interval = q.Interval
		if g.interval <= 0 {
			g.interval = DefaultInterval
		}
		g.queries++
		g.lastData.Store(now.UnixNano()) // a live relay: probe again only after Probe
		g.wake()
	default:
		g.stray.Add(1)
	}
}

// Foreign returns the number of Multicast Data messages dropped because
// they were not of a joined channel.
func (g *Gateway) Foreign() uint64 { return g.foreign.Load() }

// Stats returns what the gateway did so far.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Stats{State: g.state, Discovery: g.discovery, Interval: 0, Rediscoveries: g.rediscoveries, Queries: g.queries,
		Data: g.data.Load(), Foreign: g.foreign.Load(), Malformed: g.malformed.Load(), Stray: g.stray.Load()}
	if g.state != Discovering {
		s.Relay = g.relay
	}
	if g.queries > 0 {
		s.Interval = g.interval
	}
	s.Local = g.localAddr()
	return s
}

// Close leaves the channels: if the tunnel is up it sends the relay a
// Membership Update with no sources and a Teardown (RFC 7450 §5.2.3.7),
// which a relay without Teardown support ignores; then it closes the
// socket, ending a blocked [Gateway.Read].
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.state == Closed {
		g.mu.Unlock()
		return nil
	}
	if g.state == Up || (g.state == Requesting && g.macNonce != 0) {
		// BLOCK_OLD_SOURCES of the joined sources: amtrelayd reads
		// CHANGE_TO_INCLUDE with no sources as a (*,G) leave, of nothing.
		leave := appendReport(nil, recordBlockOld, g.group.Addr(), g.sources)
		g.send(appendUpdate(g.buf[:0], g.mac, g.macNonce, leave), g.relay)
		gw := g.gwSeen
		if !gw.IsValid() {
			gw = g.localAddr()
		}
		g.send(appendTeardown(g.buf[:0], g.mac, g.macNonce, gw), g.relay)
	}
	g.state = Closed
	g.mu.Unlock()
	close(g.done)
	<-g.stopped
	return g.conn.Close()
}

// localAddr is the socket's address: in [Stats], and for a Teardown when
// the relay did not say how it saw the gateway.
func (g *Gateway) localAddr() netip.AddrPort {
	ap := g.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
