// Package seal makes and opens the sealed per-host seeds of
// docs/protocol.md §9: host keys (X25519 JWKs, RFC 8037) and a producer's
// member set, the round [Builder] that seals a fresh seed to every member
// with HPKE (RFC 9180, Go's crypto/hpke) and signs the datagrams, a host's
// [HostKey.Open], and [Combine], which makes one seed of the seeds of
// several producers.
//
// The wire encoding is package seedwire's; the signature is the caller's
// (a [Signer], which *sign.Signer is) and so is its verification on the
// host: [HostKey.Open] is for a datagram whose signature, freshness and
// replay checks have passed. The package does no network I/O, never logs,
// and no error it returns holds a seed or a private key.
package seal

import (
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/seedwire"
)

// DefaultMaxDatagram is the datagram size limit of docs/protocol.md §2: the IPv6
// minimum MTU less the IPv6 and UDP headers.
const DefaultMaxDatagram = 1232

// EntropyPerRound is how many bytes of the producer's input source a call
// of [Builder.Build] reads: twice the seed size, mixed with 32 from the
// operating system's generator (see [Config.Entropy]).
const EntropyPerRound = 64

var (
	// ErrNoEntry reports a datagram with no entry for the host.
	ErrNoEntry = errors.New("seal: no entry for this host")
	// ErrOpen reports an entry that does not open with the host key: a bad
	// tag, an entry moved from another host, round or producer, or the
	// wrong key.
	ErrOpen = errors.New("seal: entry does not open with this host key")
)

// Signer signs a payload as a JWS in the Compact Serialization with the
// protected header {"alg":"EdDSA","kid":KID}, or with a member tag
// {"alg":"EdDSA","kid":KID,"mt":MT}. *sign.Signer is one.
type Signer interface {
	// KeyID returns the kid: the key's RFC 7638 thumbprint.
	KeyID() string
	// Len returns the length of the datagram of a payload of n bytes.
	Len(n int) int
	// Append appends the datagram of payload to dst.
	Append(dst, payload []byte) []byte
	// TaggedLen returns the length of the datagram of a payload of n
	// bytes with a member tag.
	TaggedLen(n int) int
	// AppendTagged appends the datagram of payload with a member tag
	// under k to dst; with k nil it is Append.
	AppendTagged(dst, payload []byte, k *membertag.Key) []byte
}

// Config configures a [Builder].
type Config struct {
	// MaxDatagram is the datagram size limit, in bytes; 0 means [DefaultMaxDatagram].
	MaxDatagram int
	// Workers is how many goroutines seal and sign a round; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Entropy is the producer's input source (the hardware generator,
	// after its health tests). Each call of [Builder.Build] reads
	// [EntropyPerRound] bytes from it and 32 from crypto/rand, and derives
	// every member's seed from both with HKDF-SHA256: a seed is secret if
	// either input is. nil means crypto/rand alone.
	Entropy io.Reader
	// MemberKey, if true, makes room in every entry for the member
	// authentication key of [Round.MemberKey] (67-byte plaintexts against
	// 33), and in every datagram for a member tag ([Round.Tag], 53 more
	// characters in its header) whether or not a round is tagged, so that
	// sizes do not change when tagging starts: 5 entries per 1232-byte
	// datagram, against 8 without.
	MemberKey bool
}

// Builder makes the signed seed datagrams of a round. Make one with
// [NewBuilder]. Build may be called from one goroutine at a time.
type Builder struct {
	signer   Signer
	producer [seedwire.ThumbprintSize]byte
	cfg      Config
	ptLen    int
	per      int // entries per datagram
}

// NewBuilder returns a Builder that signs with s. It fails if not one
// entry fits the datagram size limit.
func NewBuilder(s Signer, cfg Config) (*Builder, error) {
	if cfg.MaxDatagram == 0 {
		cfg.MaxDatagram = DefaultMaxDatagram
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	t, err := seedwire.Thumbprint(s.KeyID())
	if err != nil {
		return nil, fmt.Errorf("seal: signer: %w", err)
	}
	b := &Builder{signer: s, producer: t, cfg: cfg, ptLen: seedwire.MinPlaintext}
	if cfg.MemberKey {
		pt := seedwire.Plaintext{HasMemberKey: true}
		b.ptLen = pt.Len()
	}
	for b.per < 255 && b.datagramLen(b.per+1) <= cfg.MaxDatagram {
		b.per++
	}
	if b.per == 0 {
		return nil, fmt.Errorf("seal: a datagram size limit of %d bytes holds no entry; a seed datagram of one entry is %d bytes",
			cfg.MaxDatagram, b.datagramLen(1))
	}
	return b, nil
}

// datagramLen returns the length of a datagram of n entries: with room
// for a member tag if the Builder carries member keys.
func (b *Builder) datagramLen(n int) int {
	pl := seedwire.Len(seedwire.SuiteX25519, b.ptLen, n)
	if b.cfg.MemberKey {
		return b.signer.TaggedLen(pl)
	}
	return b.signer.Len(pl)
}

// PerDatagram returns how many entries one datagram holds.
func (b *Builder) PerDatagram() int { return b.per }

// Datagrams returns how many datagrams a round of n members takes.
func (b *Builder) Datagrams(n int) int { return (n + b.per - 1) / b.per }

// Round is what a producer says about one round.
type Round struct {
	// Epoch is the producer's e, as in its frames.
	Epoch uint64
	// Seq is the n of the round's first datagram; the i-th datagram has
	// Seq+i. The producer reserves [Builder.Datagrams] numbers of the
	// sequence it shares with its frames.
	Seq uint64
	// Time is t, when the round was made, in Unix milliseconds.
	Time int64
	// Round numbers the round within the epoch, from 0.
	Round uint64
	// MemberKey is the member authentication key, sealed to every member
	// if the Builder was made with Config.MemberKey. It is a secret.
	MemberKey [seedwire.MemberKeySize]byte
	// Tag, if not nil, is the member key whose tag every datagram of the
	// round carries in its header (docs/protocol.md §10): the previous
	// round's. Only a Builder made with Config.MemberKey tags. Build
	// tags with clones of it, so the caller may share it.
	Tag *membertag.Key
}

// Build seals a fresh seed to each of members, which must be sorted by host
// id, each host once (as [Members.ValidAt] returns them), and returns the
// signed datagrams in the order of their sequence numbers. The work is
// spread over Config.Workers goroutines.
//
// Each member's seed is HKDF-SHA256 (RFC 5869) with
//
//	PRK  = Extract(salt = 32 bytes of crypto/rand, IKM = 64 bytes of Config.Entropy)
//	seed = Expand(PRK, info of the member's entry (§9.4), 32)
//
// so seeds are independent for every member, round and producer, and
// known only to the producer and the member.
func (b *Builder) Build(members []Member, r Round) ([][]byte, error) {
	if len(members) == 0 {
		return nil, nil
	}
	for i := 1; i < len(members); i++ {
		if string(members[i-1].HostID[:]) >= string(members[i].HostID[:]) {
			return nil, fmt.Errorf("seal: members %s and %s are not in strictly increasing order of host id", members[i-1].ID, members[i].ID)
		}
	}
	for _, m := range members {
		if m.hpke == nil {
			return nil, fmt.Errorf("seal: member %s was not made by NewMember", m.ID)
		}
	}
	if r.Tag != nil && !b.cfg.MemberKey {
		return nil, errors.New("seal: a tagged round needs a Builder made with Config.MemberKey, which makes room for the tag")
	}
	n := b.Datagrams(len(members))
	last := seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: r.Epoch, Seq: r.Seq + uint64(n-1), Time: r.Time,
		Round: r.Round, PlaintextLen: b.ptLen, Count: 1}
	first := last
	first.Seq = r.Seq
	if err := first.Check(); err != nil {
		return nil, fmt.Errorf("seal: round: %w", err)
	}
	if err := last.Check(); err != nil || last.Seq < r.Seq {
		return nil, fmt.Errorf("seal: round: %d datagrams from sequence number %d go past %d", n, r.Seq, uint64(seedwire.MaxSeq))
	}
	prk, err := b.roundKey()
	if err != nil {
		return nil, err
	}
	max := b.datagramLen(b.per)
	buf := make([]byte, n*max)
	out := make([][]byte, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, min(b.cfg.Workers, n))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, 0, seedwire.Len(seedwire.SuiteX25519, b.ptLen, b.per))
			info := make([]byte, 0, seedwire.InfoLen)
			pt := make([]byte, 0, b.ptLen)
			var tag *membertag.Key // this goroutine's own: a Key is not safe for concurrent use
			if r.Tag != nil {
				tag = r.Tag.Clone()
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs[w] != nil {
					return
				}
				group := members[i*b.per : min((i+1)*b.per, len(members))]
				h := seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: r.Epoch, Seq: r.Seq + uint64(i), Time: r.Time,
					Round: r.Round, PlaintextLen: b.ptLen, Count: len(group)}
				payload = h.Append(payload[:0])
				for j := range group {
					m := &group[j]
					info = seedwire.AppendInfo(info[:0], b.producer, r.Epoch, r.Round, m.thumb)
					var p seedwire.Plaintext
					seed, err := hkdf.Expand(sha256.New, prk, string(info), seedwire.SeedSize)
					if err != nil {
						errs[w] = fmt.Errorf("seal: derive seed: %w", err)
						return
					}
					copy(p.Seed[:], seed)
					clear(seed)
					if b.cfg.MemberKey {
						p.MemberKey, p.HasMemberKey = r.MemberKey, true
					}
					pt = p.Append(pt[:0])
					clear(p.Seed[:])
					sealed, err := hpke.Seal(m.hpke, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, pt)
					clear(pt)
					if err != nil {
						errs[w] = fmt.Errorf("seal: seal to member %s: %w", m.ID, err)
						return
					}
					payload = seedwire.AppendEntry(payload, m.HostID, sealed)
				}
				out[i] = b.signer.AppendTagged(buf[i*max:i*max:(i+1)*max], payload, tag)
			}
		}()
	}
	wg.Wait()
	clear(prk)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// roundKey returns the round's HKDF pseudorandom key.
func (b *Builder) roundKey() ([]byte, error) {
	var salt [32]byte
	var ikm [EntropyPerRound]byte
	defer clear(ikm[:])
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("seal: read crypto/rand: %w", err)
	}
	src := b.cfg.Entropy
	if src == nil {
		src = rand.Reader
	}
	if _, err := io.ReadFull(src, ikm[:]); err != nil {
		return nil, fmt.Errorf("seal: read the entropy source: %w", err)
	}
	prk, err := hkdf.Extract(sha256.New, ikm[:], salt[:])
	if err != nil {
		return nil, fmt.Errorf("seal: extract the round key: %w", err)
	}
	return prk, nil
}

// Open opens the host's entry in p, a seed payload signed by the producer
// key producer (its kid), and returns the member plaintext. The caller
// must have checked the datagram's signature, freshness and replay state
// first (docs/protocol.md §9.6): Open only decrypts. It returns
// [ErrNoEntry] if p has no entry for the host and an error wrapping
// [ErrOpen] if the entry does not open.
func (k *HostKey) Open(p *seedwire.Payload, producer string) (seedwire.Plaintext, error) {
	e, ok := p.Find(k.pub.HostID)
	if !ok {
		return seedwire.Plaintext{}, ErrNoEntry
	}
	if p.Suite != seedwire.SuiteX25519 {
		return seedwire.Plaintext{}, fmt.Errorf("seal: suite %04x: %w", p.Suite.KEM, seedwire.ErrSuite)
	}
	t, err := seedwire.Thumbprint(producer)
	if err != nil {
		return seedwire.Plaintext{}, fmt.Errorf("seal: producer: %w", err)
	}
	var ib [seedwire.InfoLen]byte
	info := seedwire.AppendInfo(ib[:0], t, p.Epoch, p.Round, k.pub.thumb)
	pt, err := hpke.Open(k.hpke, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, e.Sealed)
	if err != nil {
		return seedwire.Plaintext{}, ErrOpen
	}
	defer clear(pt)
	return seedwire.ParsePlaintext(pt)
}

// Contribution is one producer's seed, for [Combine].
type Contribution struct {
	// Producer is the kid of the producer key that signed the seed's
	// datagram.
	Producer string
	// Seed is the seed its entry held.
	Seed [seedwire.SeedSize]byte
}

// ErrCombine reports seeds that [Combine] refuses: none, or two of one
// producer key.
var ErrCombine = errors.New("seal: cannot combine these seeds")

// CombineLabel starts the HKDF info of [Combine].
const CombineLabel = "ssmrandom seed combine v1"

// Combine returns the one seed made of the seeds of K distinct producer
// keys (docs/protocol.md §9.7): with the contributions sorted by the 32
// bytes of their producer's thumbprint,
//
//	IKM  = seed_1 || ... || seed_K
//	info = "ssmrandom seed combine v1" || K (1 byte) || thumb_1 || ... || thumb_K
//	seed = HKDF-SHA256(salt = empty, IKM, info, 32)
//
// The order of cs does not matter. It is secret if any one input is.
func Combine(cs []Contribution) ([seedwire.SeedSize]byte, error) {
	var out [seedwire.SeedSize]byte
	if len(cs) == 0 || len(cs) > 255 {
		return out, fmt.Errorf("%w: %d seeds; want 1 to 255", ErrCombine, len(cs))
	}
	type item struct {
		t [seedwire.ThumbprintSize]byte
		i int
	}
	items := make([]item, len(cs))
	for i, c := range cs {
		t, err := seedwire.Thumbprint(c.Producer)
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrCombine, err)
		}
		items[i] = item{t, i}
	}
	for i := 1; i < len(items); i++ { // insertion sort: K is small
		for j := i; j > 0 && string(items[j].t[:]) < string(items[j-1].t[:]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	ikm := make([]byte, 0, len(cs)*seedwire.SeedSize)
	info := append(make([]byte, 0, len(CombineLabel)+1+len(cs)*seedwire.ThumbprintSize), CombineLabel...)
	info = append(info, byte(len(cs)))
	for i, it := range items {
		if i > 0 && it.t == items[i-1].t {
			return out, fmt.Errorf("%w: two seeds of producer %s", ErrCombine, cs[it.i].Producer)
		}
		ikm = append(ikm, cs[it.i].Seed[:]...)
		info = append(info, it.t[:]...)
	}
	defer clear(ikm)
	k, err := hkdf.Key(sha256.New, ikm, nil, string(info), seedwire.SeedSize)
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrCombine, err)
	}
	copy(out[:], k)
	clear(k)
	return out, nil
}
