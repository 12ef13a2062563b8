package sign

import (
	"crypto/sha512"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
)

// publicKey is a trusted Ed25519 public key as verification uses it:
// decoded once, when the [Keyring] is made, rather than for every
// signature, and its order checked once, the first time a [Batch] meets
// it. It is safe for concurrent use; it must not be copied.
type publicKey struct {
	enc    [32]byte           // the key as given (the bytes that are hashed)
	a      edwards25519.Point // A, the point enc encodes; the identity if none
	minusA edwards25519.Point // −A
	// valid says that enc encodes a point, in any encoding that
	// crypto/ed25519 accepts; a key that does not verifies nothing.
	valid bool

	// prime says that enc is the canonical encoding of a point of prime
	// order L: a key whose signatures can go into a batch's sum. It is
	// set, under mu, before checked; read it through [publicKey.batchable].
	// (The check costs about one verification: made when the keyring
	// loads, it would cost 2 s of CPU per load of 20,000 keys.)
	mu      sync.Mutex
	checked atomic.Bool
	prime   bool
}

// newPublicKey decodes pub, 32 bytes.
func newPublicKey(pub []byte) *publicKey {
	k := &publicKey{enc: [32]byte(pub)}
	if _, err := k.a.SetBytes(pub); err != nil {
		k.a.Set(edwards25519.NewIdentityPoint())
	} else {
		k.valid = true
	}
	k.minusA.Negate(&k.a)
	return k
}

// batchable reports whether k is the canonical encoding of a point of
// prime order L, checking it on the first call only.
func (k *publicKey) batchable() bool {
	if !k.checked.Load() {
		k.mu.Lock()
		if !k.checked.Load() {
			k.prime = k.valid && primeOrder(&k.a, k.enc[:])
			k.checked.Store(true)
		}
		k.mu.Unlock()
	}
	return k.prime
}

// verify reports whether sig is a valid Ed25519 signature of msg by k by
// the rule of crypto/ed25519.Verify (RFC 8032 §5.1.7 without the cofactor:
// S canonical, R byte for byte the encoding of [S]B − [k]A with
// k = SHA-512(R || A || msg)), computed with the key decoded beforehand.
// It allocates nothing.
func (k *publicKey) verify(msg []byte, sig *[64]byte) bool {
	if !k.valid || sig[63]&224 != 0 {
		return false
	}
	var s edwards25519.Scalar
	if _, err := s.SetCanonicalBytes(sig[32:]); err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.enc[:])
	h.Write(msg)
	var digest [sha512.Size]byte
	var kh edwards25519.Scalar
	if _, err := kh.SetUniformBytes(h.Sum(digest[:0])); err != nil {
		return false // not reached: the digest is 64 bytes
	}
	var r edwards25519.Point
	r.VarTimeDoubleScalarBaseMult(&kh, &k.minusA, &s)
	return string(r.Bytes()) == string(sig[:32])
}

// lMinus1 is L − 1, the largest canonical scalar, little-endian.
var lMinus1 = [32]byte{
	0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

// primeOrder reports whether pub, which decodes to a, is the canonical
// encoding of a point of prime order L: not the identity nor any other
// point of small order, and with no small-order component ([L]A = O).
func primeOrder(a *edwards25519.Point, pub []byte) bool {
	if string(a.Bytes()) != string(pub) {
		return false
	}
	var p edwards25519.Point
	if p.MultByCofactor(a).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return false
	}
	l1, err := edwards25519.NewScalar().SetCanonicalBytes(lMinus1[:])
	if err != nil {
		panic("sign: " + err.Error()) // not reached: L − 1 is canonical
	}
	p.VarTimeDoubleScalarBaseMult(l1, a, edwards25519.NewScalar())
	p.Add(&p, a)
	return p.Equal(edwards25519.NewIdentityPoint()) == 1
}
