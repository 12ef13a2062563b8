package sign

// Edge-case vectors for Batch: what crypto/ed25519 (JWS.Verify) and a
// Batch say of signatures with small-order and mixed-order points and
// non-canonical encodings. The speccheck-*.txt files are the 12 cases of
// "Taming the many EdDSAs" on raw messages; the others are datagrams made
// by writeBatchVectors, many with the private key on purpose (only a key's
// owner can make a signature with a torsion component in R).

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/edwards25519"

	"github.com/nordunet/ssmrandom/internal/vectors"
)

var updateBatch = flag.Bool("update-batch", false, "rewrite the generated files of testdata/batch instead of checking them")

// batchVector is one file of testdata/batch.
type batchVector struct {
	path   string
	expect string // crypto/ed25519's verdict: "ok" or "bad signature"
	batch  string // a Batch's: "ok", "bad signature" or "either"
	route  string // "batch" if the signature goes into the sum, else "single"
	pub    []byte
	msg    []byte // the signed bytes, if not a datagram
	sig    []byte
	dgram  []byte // the datagram, if not msg and sig
}

func readBatchVector(t *testing.T, path string) batchVector {
	t.Helper()
	fields, err := vectors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	v := batchVector{path: path}
	for _, f := range fields {
		key, value := f.Key, f.Value
		unhex := func() []byte {
			b, err := hex.DecodeString(value)
			if err != nil {
				t.Fatalf("%s: got %q, want hex", f.Pos(path), value)
			}
			return b
		}
		switch key {
		case "expect":
			v.expect = value
		case "batch":
			v.batch = value
		case "route":
			v.route = value
		case "pub":
			v.pub = unhex()
		case "msg":
			v.msg = unhex()
		case "sig":
			v.sig = unhex()
		case "datagram":
			v.dgram = []byte(value)
		default:
			t.Fatalf("%s: unknown key %q", f.Pos(path), key)
		}
	}
	if v.expect != "ok" && v.expect != "bad signature" || v.batch != "ok" && v.batch != "bad signature" && v.batch != "either" ||
		v.route != "batch" && v.route != "single" || len(v.pub) != 32 || (v.dgram == nil) == (v.msg == nil || len(v.sig) != 64) {
		t.Fatalf("%s: want expect, batch, route, a 32-byte pub and a datagram or msg and a 64-byte sig", path)
	}
	return v
}

// signed returns the vector as Keyring.Parse would.
func (v batchVector) signed(t *testing.T) JWS {
	t.Helper()
	if v.dgram == nil {
		return JWS{pub: newPublicKey(v.pub), input: v.msg, sig: [64]byte(v.sig)}
	}
	ring, err := NewKeyring(Key{Public: v.pub})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ring.Parse(nil, v.dgram)
	if err != nil {
		t.Fatalf("%s: Parse: got error %v, want nil", v.path, err)
	}
	return m
}

// TestBatchVectors checks each vector's verdicts: crypto/ed25519's, that
// of JWS.Verify, and that of a Batch where the vector sits among 15
// good signatures. A batch verdict "either" must come out "bad
// signature" at least once in 64 fresh batches, and may come out "ok".
func TestBatchVectors(t *testing.T) {
	if *updateBatch {
		writeBatchVectors(t)
	}
	paths, err := filepath.Glob("testdata/batch/*.txt")
	if err != nil || len(paths) < 20 {
		t.Fatalf("testdata/batch: got %d files, %v; want at least 20", len(paths), err)
	}
	good := goodJWS(t, 15)
	for _, path := range paths {
		v := readBatchVector(t, path)
		t.Run(filepath.Base(path), func(t *testing.T) {
			m := v.signed(t)
			verdict := func(ok bool) string {
				if ok {
					return "ok"
				}
				return "bad signature"
			}
			if got := verdict(ed25519.Verify(v.pub, m.input, m.sig[:])); got != v.expect {
				t.Errorf("crypto/ed25519: got %s, want %s", got, v.expect)
			}
			if got := verdict(m.Verify() == nil); got != v.expect {
				t.Errorf("JWS.Verify: got %s, want %s", got, v.expect)
			}
			var b Batch
			var r edwards25519.Point
			var s edwards25519.Scalar
			if fits := b.fits(&m, &r, &s); (v.route == "batch") != fits {
				t.Errorf("route: got fits %v, want route %s", fits, v.route)
			}
			tries, rejected := 1, 0
			if v.batch == "either" {
				tries = 64
			}
			for range tries {
				var b Batch
				for i := range good {
					b.Add(&good[i])
				}
				b.Add(&m)
				ok := b.Verify(nil)
				for i := range good {
					if !ok[i] {
						t.Fatalf("good signature %d beside the vector: got bad, want ok", i)
					}
				}
				got := verdict(ok[len(good)])
				if got != "ok" {
					rejected++
				}
				if v.batch != "either" && got != v.batch {
					t.Errorf("Batch: got %s, want %s", got, v.batch)
				}
			}
			if v.batch == "either" && rejected == 0 {
				t.Errorf("Batch: got ok %d times in %d, want bad signature at least once", tries, tries)
			}
		})
	}
}

// goodJWS returns n good JWS values from one key.
func goodJWS(t *testing.T, n int) []JWS {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, 32))
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]JWS, n)
	for i := range out {
		d, err := s.Sign([]byte(fmt.Sprintf("good frame %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = ring.Parse(nil, d); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// vectorSigner makes datagrams with chosen R and S for a key, which need
// not be the key's own point: forge signs as the owner of scalar a would
// for the public key bytes pub.
type vectorSigner struct {
	a   *edwards25519.Scalar
	pub []byte
}

func newVectorSigner(t *testing.T, seed byte) vectorSigner {
	t.Helper()
	h := sha512.Sum512(bytes.Repeat([]byte{seed}, 32))
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	return vectorSigner{a: a, pub: new(edwards25519.Point).ScalarBaseMult(a).Bytes()}
}

// input returns the JWS Signing Input H.P of payload for v's key.
func (v vectorSigner) input(payload string) []byte {
	h := headerPrefix + KeyID(v.pub) + headerSuffix
	return []byte(base64.RawURLEncoding.EncodeToString([]byte(h)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)))
}

// k returns H(R || A || input) as a scalar.
func (v vectorSigner) k(rEnc, input []byte) *edwards25519.Scalar {
	h := sha512.New()
	h.Write(rEnc)
	h.Write(v.pub)
	h.Write(input)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	return k
}

// sign returns the signature (rEnc, r + k·a) of input: with r the
// discrete log of the prime-order part of R, an owner's signature that
// the cofactored equation accepts.
func (v vectorSigner) sign(rEnc []byte, r *edwards25519.Scalar, input []byte) []byte {
	s := edwards25519.NewScalar().MultiplyAdd(v.k(rEnc, input), v.a, r)
	return append(append([]byte{}, rEnc...), s.Bytes()...)
}

func datagram(input, sig []byte) []byte {
	return []byte(string(input) + "." + base64.RawURLEncoding.EncodeToString(sig))
}

// torsion8 returns a point of order 8.
func torsion8(t *testing.T) *edwards25519.Point {
	t.Helper()
	// The canonical encoding of a point of order 8 (as in speccheck).
	enc, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	p, err := new(edwards25519.Point).SetBytes(enc)
	if err != nil {
		t.Fatal(err)
	}
	var q edwards25519.Point
	if q.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("torsion8: not of small order")
	}
	return p
}

// addL returns s + L as 32 little-endian bytes (s + L < 2^253).
func addL(s []byte) []byte {
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 31: 0x10}
	out := make([]byte, 32)
	var carry int
	for i := range out {
		x := int(s[i]) + int(l[i]) + carry
		out[i], carry = byte(x), x>>8
	}
	return out
}

func writeBatchVectors(t *testing.T) {
	v := newVectorSigner(t, 0x01)
	T := torsion8(t)
	r, _ := edwards25519.NewScalar().SetCanonicalBytes(append(bytes.Repeat([]byte{0x33}, 31), 0x03))
	R := new(edwards25519.Point).ScalarBaseMult(r)
	zero := edwards25519.NewScalar()
	identity := edwards25519.NewIdentityPoint().Bytes()
	write := func(name, comment, expect, batch, route string, pub, dgram []byte) {
		var b bytes.Buffer
		fmt.Fprintf(&b, "# %s\n# Made by TestBatchVectors -update-batch.\n", comment)
		fmt.Fprintf(&b, "expect: %s\nbatch: %s\nroute: %s\npub: %x\ndatagram: %s\n", expect, batch, route, pub, dgram)
		if err := os.WriteFile(filepath.Join("testdata/batch", name+".txt"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := v.input("frame payload")
	good := v.sign(R.Bytes(), r, in)
	write("ok", "A good signature by a key of prime order.", "ok", "ok", "batch", v.pub, datagram(in, good))

	write("other-payload", "A good signature of another payload: a forgery.", "bad signature", "bad signature", "batch",
		v.pub, datagram(v.input("frame payloaD"), good))

	forged := append(append([]byte{}, new(edwards25519.Point).ScalarBaseMult(v.k(R.Bytes(), in)).Bytes()...), good[32:]...)
	write("forged-r", "A valid R point and canonical S that do not satisfy the equation: a forgery.", "bad signature", "bad signature", "batch",
		v.pub, datagram(in, forged))

	write("s-plus-l", "A good signature with S + L for S: non-canonical S.", "bad signature", "bad signature", "single",
		v.pub, datagram(in, append(append([]byte{}, good[:32]...), addL(good[32:])...)))

	high := append([]byte{}, good...)
	high[63] |= 0xe0
	write("s-high-bits", "A good signature with the top 3 bits of S set: S >> L.", "bad signature", "bad signature", "single",
		v.pub, datagram(in, high))

	RT := new(edwards25519.Point).Add(R, T).Bytes()
	write("r-mixed-order", "The owner's signature with R = rB + T, T of order 8: valid cofactored, not cofactorless.\n"+
		"# A batch accepts it when its z is 0 mod 8 (probability 1/8 here).",
		"bad signature", "either", "batch", v.pub, datagram(in, v.sign(RT, r, in)))

	write("r-identity", "The owner's signature with R = O (canonical) and S = k·a: valid both ways.",
		"ok", "ok", "single", v.pub, datagram(in, v.sign(identity, zero, in)))

	write("r-order-8", "The owner's signature with R = T of order 8 and S = k·a: valid cofactored only.",
		"bad signature", "bad signature", "single", v.pub, datagram(in, v.sign(T.Bytes(), zero, in)))

	idSign := append([]byte{}, identity...)
	idSign[31] |= 0x80
	write("r-identity-noncanonical", "The owner's signature with R = O encoded with the sign bit set and S = k·a.",
		"bad signature", "bad signature", "single", v.pub, datagram(in, v.sign(idSign, zero, in)))

	// A point whose y is under 19, encoded as y + p: non-canonical.
	for y := byte(2); y < 19; y++ {
		enc := bytes.Repeat([]byte{0xff}, 32)
		enc[0], enc[31] = 0xed+y, 0x7f
		p, err := new(edwards25519.Point).SetBytes(enc)
		if err != nil {
			continue
		}
		var q edwards25519.Point
		if q.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
			continue
		}
		write("r-noncanonical-y", fmt.Sprintf("R encoded as y + p for y = %d; S made as the owner would for R = O.", y),
			"bad signature", "bad signature", "single", v.pub, datagram(in, v.sign(enc, zero, in)))
		break
	}

	// A key with a torsion component: A' = aB + T. The owner's signature
	// passes the cofactorless check iff k·T = O, that is k = 0 mod 8.
	mixed := vectorSigner{a: v.a, pub: new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(v.a), T).Bytes()}
	var done [2]bool
	for i := 0; !done[0] || !done[1]; i++ {
		in := mixed.input(fmt.Sprintf("frame payload %d", i))
		k := mixed.k(R.Bytes(), in)
		k8 := k.Bytes()[0]%8 == 0
		if done[b2i(k8)] {
			continue
		}
		done[b2i(k8)] = true
		if k8 {
			write("a-mixed-order-ok", "The owner's signature under A = aB + T, T of order 8, with k = 0 mod 8: valid both ways.",
				"ok", "ok", "single", mixed.pub, datagram(in, mixed.sign(R.Bytes(), r, in)))
		} else {
			write("a-mixed-order-bad", "The owner's signature under A = aB + T, T of order 8, with k != 0 mod 8: valid cofactored only.",
				"bad signature", "bad signature", "single", mixed.pub, datagram(in, mixed.sign(R.Bytes(), r, in)))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
