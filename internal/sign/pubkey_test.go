package sign

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
	"time"
)

// TestPublicKeyVerify holds publicKey.verify, the check of every
// signature, to crypto/ed25519.Verify on good signatures, signatures and
// messages with one bit flipped, and random public keys (most of them no
// point at all, some not canonical or of small order), from a fixed seed.
// The edge cases of "Taming the many EdDSAs" are in testdata/batch
// (TestBatchVectors).
func TestPublicKeyVerify(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2))
	var seed [ed25519.SeedSize]byte
	agree := func(what string, pub ed25519.PublicKey, msg, sig []byte) {
		t.Helper()
		want := ed25519.Verify(pub, msg, sig)
		if got := newPublicKey(pub).verify(msg, (*[64]byte)(sig)); got != want {
			t.Fatalf("%s: pub %x, msg %x, sig %x: got %v, want crypto/ed25519's %v", what, pub, msg, sig, got, want)
		}
	}
	flip := func(b []byte) []byte {
		c := append([]byte(nil), b...)
		i := r.IntN(8 * len(c))
		c[i/8] ^= 1 << (i % 8)
		return c
	}
	good := 0
	for i := range 300 {
		for j := range seed {
			seed[j] = byte(r.Uint32())
		}
		priv := ed25519.NewKeyFromSeed(seed[:])
		pub := priv.Public().(ed25519.PublicKey)
		msg := make([]byte, r.IntN(1500))
		for j := range msg {
			msg[j] = byte(r.Uint32())
		}
		sig := ed25519.Sign(priv, msg)
		agree("good", pub, msg, sig)
		agree("signature bit flipped", pub, msg, flip(sig))
		if len(msg) > 0 {
			agree("message bit flipped", pub, flip(msg), sig)
		}
		agree("key bit flipped", flip(pub), msg, sig)
		other := make([]byte, 32)
		for j := range other {
			other[j] = byte(r.Uint32())
		}
		if i%8 == 0 {
			other[31] |= 0x7f // y near or over p: not canonical, for some
			for j := 1; j < 31; j++ {
				other[j] = 0xff
			}
		}
		agree("random key", other, msg, sig)
		if ed25519.Verify(pub, msg, sig) {
			good++
		}
	}
	if good != 300 {
		t.Fatalf("good signatures: got %d verified, want 300", good)
	}
}

// BenchmarkPublicKeyVerify is publicKey.verify, the check of JWS.Verify
// with the key decoded when the keyring was made, against
// crypto/ed25519.Verify, which decodes the key every time, on one
// 700-byte message (a 512-byte frame's signing input), alternately in
// one loop, each first in every other round. The metric "ratio" is the
// first over the second.
func BenchmarkPublicKeyVerify(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	msg := make([]byte, 700)
	sig := ed25519.Sign(priv, msg)
	k := newPublicKey(pub)
	var ours, theirs time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range 2 {
			t0 := time.Now()
			var ok bool
			if (i+j)%2 == 0 {
				ok = k.verify(msg, (*[64]byte)(sig))
				ours += time.Since(t0)
			} else {
				ok = ed25519.Verify(pub, msg, sig)
				theirs += time.Since(t0)
			}
			if !ok {
				b.Fatal("got a bad signature, want good")
			}
		}
	}
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
}
