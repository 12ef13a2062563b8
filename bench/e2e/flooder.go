package main

import (
	"bytes"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/sign"
)

const (
	// forgedSeqBase is the first sequence number of the paced flood's
	// forged frames: far ahead of the genuine producer's (so the replay
	// window passes every one to the next check) and 12 digits like every
	// later one, so that only those digits change from one datagram to
	// the next.
	forgedSeqBase = 100_000_000_000

	// floodBatch is how many datagrams one sendmmsg (ipv4.PacketConn
	// WriteBatch) hands the kernel at most.
	floodBatch = 64

	// floodTick is the pause between batches once the flood is ahead of
	// its rate: time.Sleep takes about 1 ms at the least on the reference
	// machine, so the paced flood sends what has come due after each
	// wake-up, in batches.
	floodTick = 200 * time.Microsecond
)

// capture is a genuine datagram of the producer, seen on the group as an
// attacker on the path sees it, taken apart.
type capture struct {
	header []byte      // the protected header, decoded JSON
	mt     string      // its "mt" member (base64url), "" if untagged
	frame  frame.Frame // the payload
	sig    []byte      // the signature, decoded
}

// captureGenuine joins (src, g) on lo and returns the first frame (not a
// seed datagram) of the producer there; with wantTag, the first frame that
// carries a member tag. It gives up after timeout.
func captureGenuine(g netip.AddrPort, src netip.Addr, wantTag bool, timeout time.Duration) (capture, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return capture{}, err
	}
	r, err := mcast.JoinSSM(g, lo, []netip.Addr{src})
	if err != nil {
		return capture{}, err
	}
	defer r.Close() // before the flood: this socket would take a copy of every forged datagram
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return capture{}, err
	}
	buf := make([]byte, mcast.ReadBufferSize)
	for {
		n, _, err := r.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			what := "frame"
			if wantTag {
				what = "frame with a member tag"
			}
			return capture{}, fmt.Errorf("no genuine %s on %v within %v", what, g, timeout)
		}
		if err != nil {
			return capture{}, err
		}
		if c, ok := parseCapture(buf[:n]); ok && (!wantTag || c.mt != "") {
			return c, nil
		}
	}
}

// parseCapture takes a datagram apart; false if it is not a signed frame.
func parseCapture(d []byte) (capture, bool) {
	u, err := sign.Inspect(d)
	if err != nil {
		return capture{}, false
	}
	f, err := frame.Parse(u.Payload)
	if err != nil {
		return capture{}, false // a seed datagram, or not ours
	}
	var h map[string]any
	if json.Unmarshal(u.Header, &h) != nil {
		return capture{}, false
	}
	mt, _ := h["mt"].(string)
	return capture{header: u.Header, mt: mt, frame: f, sig: u.Signature}, len(u.Signature) == ed25519.SignatureSize
}

// forger makes the paced flood's datagrams as an attacker on the path
// would: the captured frame's header (its producer's trusted kid, and, if
// it has one, a member tag of the same round whose 16 tag bytes are
// inverted, so wrong), the captured frame's source name and epoch, a
// fresh time, a sequence number of its own for every datagram, fresh
// random data, and the captured signature with one bit of s flipped: a
// canonical signature that only a full Ed25519 verification refuses. Each
// datagram passes every check a receiver makes before the signature (and a
// member's tag check fails it). A forger is not safe for concurrent use.
type forger struct {
	prefix []byte // header part and '.'
	plain  []byte // the payload JSON; its sequence digits are rewritten
	seqOff int    // where the 12 sequence digits are in plain
	suffix []byte // '.' and the signature part
	seq    uint64 // the next sequence number
}

func newForger(c capture) (*forger, error) {
	header := c.header
	if c.mt != "" {
		mt, err := base64.RawURLEncoding.DecodeString(c.mt)
		if err != nil || len(mt) != 24 {
			return nil, fmt.Errorf("captured member tag %q: not 24 bytes of base64url", c.mt)
		}
		for i := 8; i < len(mt); i++ { // ROUND kept, TAG inverted
			mt[i] ^= 0xff
		}
		header = bytes.Replace(header, []byte(`"`+c.mt+`"`), []byte(`"`+base64.RawURLEncoding.EncodeToString(mt)+`"`), 1)
	}
	f := c.frame
	f.Seq = forgedSeqBase
	f.Time = time.Now().UnixMilli()
	f.Data = make([]byte, frameSize)
	crand.Read(f.Data)
	plain := f.Append(nil)
	i := bytes.Index(plain, []byte(`,"n":`))
	if i < 0 {
		return nil, errors.New("forged payload has no sequence number")
	}
	sig := bytes.Clone(c.sig)
	sig[32] ^= 1 // the low bit of s: still canonical, so a full verification
	return &forger{
		prefix: append(base64.RawURLEncoding.AppendEncode(nil, header), '.'),
		plain:  plain,
		seqOff: i + len(`,"n":`),
		suffix: append([]byte{'.'}, base64.RawURLEncoding.AppendEncode(nil, sig)...),
		seq:    forgedSeqBase,
	}, nil
}

// datagram returns a new datagram: the template, with the next sequence
// number. next rewrites a datagram made by it in place.
func (fg *forger) datagram() []byte {
	d := append(bytes.Clone(fg.prefix), base64.RawURLEncoding.AppendEncode(nil, fg.plain)...)
	d = append(d, fg.suffix...)
	fg.next(d)
	return d
}

// next writes the next sequence number into d, a datagram of fg: only the
// base64url characters of the 3-byte groups that hold its digits.
func (fg *forger) next(d []byte) {
	strconv.AppendUint(fg.plain[:fg.seqOff], fg.seq, 10) // 12 digits in place
	fg.seq++
	g0 := fg.seqOff / 3 * 3
	g1 := (fg.seqOff + 12 + 2) / 3 * 3
	base64.RawURLEncoding.Encode(d[len(fg.prefix)+g0/3*4:], fg.plain[g0:g1])
}

// checkForged reports an error unless the keyring in trustFile refuses d
// as a bad signature (an untagged datagram), or refuses it at all (a
// tagged one: a binary older than member tags may refuse the header).
func checkForged(d []byte, trustFile string, tagged bool) error {
	ring, _, err := sign.LoadTrust(trustFile)
	if err != nil {
		return err
	}
	_, _, err = ring.Verify(d)
	switch {
	case err == nil:
		return errors.New("forged datagram verifies")
	case !tagged && !errors.Is(err, sign.ErrBadSignature):
		return fmt.Errorf("forged datagram: got %v, want %v", err, sign.ErrBadSignature)
	}
	return nil
}

// floodResult is what a paced flood sent.
type floodResult struct {
	sent, failed uint64
	active       time.Duration
}

// pacedFlood sends fg's datagrams to g for d at rate datagrams per second
// (0: as fast as it can), from a UDP socket bound to src (the genuine
// producer's own address) and a port of its own, on lo, in batches of up
// to floodBatch with one sendmmsg each.
func pacedFlood(g netip.AddrPort, src netip.Addr, fg *forger, rate int, d time.Duration) (floodResult, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return floodResult{}, err
	}
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		return floodResult{}, err
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	if err := pc.SetMulticastInterface(lo); err != nil {
		return floodResult{}, err
	}
	if err := pc.SetMulticastTTL(1); err != nil {
		return floodResult{}, err
	}
	if err := pc.SetMulticastLoopback(true); err != nil {
		return floodResult{}, err
	}
	to := net.UDPAddrFromAddrPort(g)
	msgs := make([]ipv4.Message, floodBatch)
	for i := range msgs {
		msgs[i] = ipv4.Message{Buffers: [][]byte{fg.datagram()}, Addr: to}
	}
	var res floodResult
	start := time.Now()
	for {
		el := time.Since(start)
		if el >= d {
			break
		}
		n := floodBatch
		if rate > 0 {
			due := int64(el.Seconds()*float64(rate)) + 1 - int64(res.sent+res.failed)
			if due <= 0 {
				time.Sleep(floodTick)
				continue
			}
			n = int(min(due, floodBatch))
		}
		for i := range n {
			fg.next(msgs[i].Buffers[0])
		}
		k, err := pc.WriteBatch(msgs[:n], 0)
		res.sent += uint64(max(k, 0))
		if err != nil || k < n {
			res.failed += uint64(n - max(k, 0))
		}
	}
	res.active = time.Since(start)
	return res, nil
}
