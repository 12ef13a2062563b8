package sign

import (
	"crypto/rand"
	"crypto/sha512"
	"hash"

	"filippo.io/edwards25519"
)

// Limits of [Batch.Verify].
const (
	// minBatch is the smallest batch that is checked as one: below it,
	// one multi-scalar multiplication costs more than the single checks.
	minBatch = 2
	// maxBackoff is the most [Batch.Verify] calls that are checked one by
	// one after batches failed in a row, so that a flood of forged frames
	// costs about what single verification does.
	maxBackoff = 8
)

// Batch collects [JWS] values from [Keyring.Check] and verifies them
// together: with one multi-scalar multiplication it checks, for random
// 128-bit z_i,
//
//	[Σ z_i·S_i]B − Σ [z_i]R_i − Σ_keys [Σ z_i·k_i]A = O
//
// with one term per distinct public key A, so that a queue of frames from
// one producer costs one multiplication of A in all. A batch of 64 frames from
// one key costs a quarter to a third of 64 single checks.
//
// The rule is crypto/ed25519's, that of [JWS.Verify]: S canonical
// (S < L); A any valid point encoding; R byte for byte the canonical
// encoding of [S]B − [k]A (cofactorless). A signature goes into the sum
// only if that rule reduces to "D = [S]B − R − [k]A is the identity",
// which holds when A is the canonical encoding of a point of prime order
// L (checked once per key of a [Keyring], the first time a batch meets
// it), R is the canonical encoding of a point not of small order, and S
// is canonical. Every other signature is checked by
// [JWS.Verify] itself. The sum is then compared with O exactly, not up
// to the cofactor: it is O when every signature in it is valid, and it is
// not O, but with probability at most 2^-128, when some D_i has a
// component of order L, which is the case of every forgery. The one input
// on which a Batch can differ from [JWS.Verify] is a D_i of small order
// other than O: a signature made with A's private key, its R given a
// torsion component on purpose. [JWS.Verify] rejects it; a batch that
// holds it fails, and then rejects it too, with probability at least 1/2,
// and accepts it otherwise. No one without the private key can make one.
//
// The zero value is an empty batch ready to use. A Batch is not safe for
// concurrent use. It keeps its buffers across [Batch.Reset], so that a
// reused Batch allocates only the two tables of its multi-scalar
// multiplication; it keeps no state per key, so its cost does not depend
// on how many keys take turns.
type Batch struct {
	entries []JWS

	// Scratch space for Verify, reused.
	ok      []bool // whether entry i is checked in the multiplication
	z       []byte // 16 random bytes per entry
	scalars []edwards25519.Scalar
	points  []edwards25519.Point
	sp      []*edwards25519.Scalar
	pp      []*edwards25519.Point
	used    []*publicKey          // the keys of the entries in the sum, each once
	coefs   []edwards25519.Scalar // Σ z_i·k_i over the entries of used[j]
	h       hash.Hash
	digest  [sha512.Size]byte

	backoff int // Verify calls to check one by one after a failure
	skip    int // Verify calls left to check one by one
}

// Add adds m to the batch. The batch keeps m's reference to its datagram
// until [Batch.Reset], so the datagram must not change until then.
func (b *Batch) Add(m *JWS) { b.entries = append(b.entries, *m) }

// Len returns the number of signatures added since the last
// [Batch.Reset].
func (b *Batch) Len() int { return len(b.entries) }

// Reset empties the batch, keeping its buffers.
func (b *Batch) Reset() {
	clear(b.entries) // drop the references to datagrams
	b.entries = b.entries[:0]
	clear(b.used) // and to the keys of the last Verify call
	b.used = b.used[:0]
}

// Verify checks every signature in the batch. It returns ok[:0] extended
// by [Batch.Len] values, in the order of [Batch.Add]: ok[i] reports
// whether the i-th signature is valid. If the batch as a whole fails,
// Verify checks each of its signatures with [JWS.Verify], so a batch
// with bad signatures costs at most one single verification per frame
// more than a good one, and after such a batch the next few calls check
// one by one. Verify never reports valid a signature that [JWS.Verify]
// rejects, but for a signature made on purpose with a torsion component
// in R by the key's owner, as the [Batch] doc says.
func (b *Batch) Verify(ok []bool) []bool {
	n := len(b.entries)
	ok = append(ok[:0], make([]bool, n)...)
	if n < minBatch || b.skip > 0 {
		if b.skip > 0 {
			b.skip--
		}
		for i := range b.entries {
			ok[i] = b.entries[i].Verify() == nil
		}
		return ok
	}
	if b.verifyBatch(ok) {
		b.backoff = 0
		return ok
	}
	for i := range b.entries {
		if b.ok[i] {
			ok[i] = b.entries[i].Verify() == nil
		}
	}
	b.skip = b.backoff
	b.backoff = min(2*b.backoff+1, maxBackoff)
	return ok
}

// verifyBatch checks the entries that fit a batch as one and reports
// whether they passed; the others it checks one by one into ok. b.ok[i]
// says which entries were in the batch.
func (b *Batch) verifyBatch(ok []bool) bool {
	n := len(b.entries)
	b.grow(n)
	b.used, b.coefs = b.used[:0], b.coefs[:0]
	if _, err := rand.Read(b.z[:16*n]); err != nil {
		panic("sign: crypto/rand failed: " + err.Error()) // not reached: it never fails
	}
	// scalars[0] and points[0] are for B, then one for each R in the
	// batch, then one for each key (A), after the loop.
	bCoef := &b.scalars[0]
	bCoef.Set(edwards25519.NewScalar())
	b.points[0].Set(edwards25519.NewGeneratorPoint())
	terms := 1
	var zb [32]byte
	var s, k, z edwards25519.Scalar
	for i := range b.entries {
		m := &b.entries[i]
		b.ok[i] = false
		R := &b.points[terms]
		if !b.fits(m, R, &s) {
			ok[i] = m.Verify() == nil
			continue
		}
		b.h.Reset()
		b.h.Write(m.sig[:32])
		b.h.Write(m.pub.enc[:])
		b.h.Write(m.input)
		b.h.Sum(b.digest[:0])
		if _, err := k.SetUniformBytes(b.digest[:]); err != nil {
			panic("sign: " + err.Error()) // not reached: the digest is 64 bytes
		}
		copy(zb[:16], b.z[16*i:])
		if _, err := z.SetCanonicalBytes(zb[:]); err != nil {
			panic("sign: " + err.Error()) // not reached: z < 2^128 < L
		}
		coef := b.coef(m.pub)
		bCoef.MultiplyAdd(&z, &s, bCoef)
		coef.MultiplyAdd(&z, &k, coef)
		b.scalars[terms].Negate(&z)
		b.ok[i] = true
		terms++
	}
	if terms == 1 {
		return true // nothing in the batch: all checked one by one
	}
	for j, key := range b.used {
		b.scalars[terms].Negate(&b.coefs[j])
		b.points[terms].Set(&key.a)
		terms++
	}
	sp, pp := b.sp[:terms], b.pp[:terms]
	for i := range sp {
		sp[i], pp[i] = &b.scalars[i], &b.points[i]
	}
	var sum edwards25519.Point
	sum.VarTimeMultiScalarMult(sp, pp)
	if sum.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return false
	}
	for i := range b.entries {
		if b.ok[i] {
			ok[i] = true
		}
	}
	return true
}

// fits reports whether m can go into the sum: its key is of prime order,
// its R canonical and not of small order, its S canonical. It decodes R
// and S into r and s.
func (b *Batch) fits(m *JWS, r *edwards25519.Point, s *edwards25519.Scalar) bool {
	if m.pub == nil || !m.pub.batchable() || !canonicalY(m.sig[:32]) || !notSmallOrder(r, m.sig[:32]) {
		return false
	}
	_, err := s.SetCanonicalBytes(m.sig[32:])
	return err == nil
}

// coef returns the coefficient of key's term in this Verify call's sum,
// adding a zero term for a key not met yet. Frames of one key tend to
// come together, so the search starts at the last key added; a batch is
// small (a receiver's holds at most 64 frames), so a linear search costs
// nothing next to the arithmetic.
func (b *Batch) coef(key *publicKey) *edwards25519.Scalar {
	for j := len(b.used) - 1; j >= 0; j-- {
		if b.used[j] == key {
			return &b.coefs[j]
		}
	}
	b.used = append(b.used, key)
	b.coefs = append(b.coefs, edwards25519.Scalar{})
	return &b.coefs[len(b.coefs)-1]
}

// grow makes the scratch space fit n entries and their keys.
func (b *Batch) grow(n int) {
	if b.h == nil {
		b.h = sha512.New()
	}
	// At most one term for B, n for the Rs and n for the keys.
	terms := 1 + 2*n
	if cap(b.scalars) < terms {
		b.scalars = make([]edwards25519.Scalar, terms)
		b.points = make([]edwards25519.Point, terms)
		b.sp = make([]*edwards25519.Scalar, terms)
		b.pp = make([]*edwards25519.Point, terms)
	}
	b.scalars, b.points = b.scalars[:terms], b.points[:terms]
	b.sp, b.pp = b.sp[:terms], b.pp[:terms]
	if cap(b.ok) < n {
		b.ok = make([]bool, n)
		b.z = make([]byte, 16*n)
	}
	b.ok, b.z = b.ok[:n], b.z[:16*n]
}

// notSmallOrder decodes enc into p and reports whether it is a point not
// of small order. A point with x = 0 (the identity, or the point of order
// 2) is of small order, so a point that passes has no second encoding
// with the sign bit flipped.
func notSmallOrder(p *edwards25519.Point, enc []byte) bool {
	if _, err := p.SetBytes(enc); err != nil {
		return false
	}
	var q edwards25519.Point
	return q.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}

// canonicalY reports whether the y coordinate of enc, a 32-byte point
// encoding, is less than p = 2^255 − 19.
func canonicalY(enc []byte) bool {
	if enc[31]&0x7f != 0x7f {
		return true
	}
	for _, c := range enc[1:31] {
		if c != 0xff {
			return true
		}
	}
	return enc[0] < 0xed
}
