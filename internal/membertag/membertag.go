// Package membertag makes and checks member tags (docs/protocol.md §10):
// a short HMAC that a producer adds to every datagram it sends, under a
// symmetric key it shares with the current members of its seed rounds, so
// that a member can drop a forged datagram for about 1 % of an Ed25519
// verification before it verifies anything.
//
// A tag says that the datagram was made by someone who holds the round's
// member key: the producer or any member. It never says who, so it never
// replaces the signature. The package is pure: no I/O, no clocks.
package membertag

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// Sizes of the header value MT, decoded: the key's round, then the tag.
const (
	RoundSize = 8
	TagSize   = 16
	Size      = RoundSize + TagSize
	// KeySize is the length of a member key.
	KeySize = 32
)

// Context starts the message of every tag, so that a member key's HMAC
// means one thing only.
const Context = "ssmrandom member tag v1\x00"

// Key is one round's member key with its epoch and round: it makes and
// checks the tags of datagrams sent under it. Make one with [NewKey]; the
// zero value is not usable. A Key keeps its HMAC state, so it is not safe
// for concurrent use: give each goroutine its own [Key.Clone].
type Key struct {
	epoch, round uint64
	secret       [KeySize]byte
	mac          hash.Hash
	sum          [sha256.Size]byte
	prefix       []byte // Context, a kid and '.', reused
}

// NewKey returns the key of round round in epoch epoch.
func NewKey(secret *[KeySize]byte, epoch, round uint64) *Key {
	k := &Key{epoch: epoch, round: round, secret: *secret}
	k.mac = hmac.New(sha256.New, k.secret[:])
	return k
}

// Clone returns an independent copy of k, for another goroutine.
func (k *Key) Clone() *Key { return NewKey(&k.secret, k.epoch, k.round) }

// Epoch returns the epoch of the producer run that made k.
func (k *Key) Epoch() uint64 { return k.epoch }

// Round returns the seed round that carried k.
func (k *Key) Round() uint64 { return k.round }

// Secret returns the key's 32 bytes, for sealing them to members. They
// are a secret: never log them.
func (k *Key) Secret() [KeySize]byte { return k.secret }

// tag computes the 16-byte tag of a datagram by key id kid with payload
// part payloadPart into k.sum.
func (k *Key) tag(kid string, payloadPart []byte) []byte {
	k.prefix = append(append(append(k.prefix[:0], Context...), kid...), '.')
	k.mac.Reset()
	k.mac.Write(k.prefix)
	k.mac.Write(payloadPart)
	return k.mac.Sum(k.sum[:0])[:TagSize]
}

// Append appends MT, the 24 bytes of the round and the tag of the
// datagram by key id kid whose payload part (base64url, exactly as sent)
// is payloadPart, to dst.
func (k *Key) Append(dst []byte, kid string, payloadPart []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, k.round)
	return append(dst, k.tag(kid, payloadPart)...)
}

// Check reports whether mt, the 24 decoded bytes of a datagram's MT,
// names k's round and holds the right tag for kid and payloadPart. It
// takes the same time whatever the tag's bytes.
func (k *Key) Check(mt []byte, kid string, payloadPart []byte) bool {
	if len(mt) != Size || RoundOf(mt) != k.round {
		return false
	}
	return subtle.ConstantTimeCompare(mt[RoundSize:], k.tag(kid, payloadPart)) == 1
}

// RoundOf returns the round named by mt, the 24 decoded bytes of an MT.
func RoundOf(mt []byte) uint64 { return binary.BigEndian.Uint64(mt[:RoundSize]) }
