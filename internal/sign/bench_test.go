package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// benchSizes are the entropy bytes per frame.
var benchSizes = []int{32, 512}

// benchPayload returns the canonical payload of a frame with size data
// bytes from source "producer.example.org".
func benchPayload(b *testing.B, size int) []byte {
	b.Helper()
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: bytes.Repeat([]byte{0xa5}, size)}
	p, err := f.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSign(b *testing.B) {
	s := mustSigner(b, testKey(1))
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := benchPayload(b, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Sign(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify is the full check of one datagram: Keyring.Verify, then
// frame.ParseInto into a reused Frame.
func BenchmarkVerify(b *testing.B) {
	priv := testKey(1)
	s := mustSigner(b, priv)
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()}, sign.Key{Public: testKey(2).Public().(ed25519.PublicKey)})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			d := mustSign(b, s, benchPayload(b, size))
			var f frame.Frame
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				p, _, err := ring.Verify(d)
				if err != nil {
					b.Fatal(err)
				}
				if err := frame.ParseInto(&f, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRaw is crypto/ed25519.Verify alone on the signing input
// (header.payload) and signature of the same datagrams as BenchmarkVerify:
// the floor that the JWS and frame layers add to.
func BenchmarkVerifyRaw(b *testing.B) {
	priv := testKey(1)
	s := mustSigner(b, priv)
	pub := s.Public()
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			d := mustSign(b, s, benchPayload(b, size))
			dot := bytes.LastIndexByte(d, '.')
			input := d[:dot]
			sig, err := base64.RawURLEncoding.DecodeString(string(d[dot+1:]))
			if err != nil || len(sig) != ed25519.SignatureSize {
				b.Fatalf("signature part: got %d bytes, %v; want %d", len(sig), err, ed25519.SignatureSize)
			}
			if !ed25519.Verify(pub, input, sig) {
				b.Fatal("ed25519.Verify(header.payload, signature): got false, want true")
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if !ed25519.Verify(pub, input, sig) {
					b.Fatal("bad signature")
				}
			}
		})
	}
}
