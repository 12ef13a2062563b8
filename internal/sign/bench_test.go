package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

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
	p, err := f.Append(nil), f.Check()
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

// BenchmarkSignAppend is Signer.Append into a reused buffer: the sender's
// hot path without the allocation of Sign's result.
func BenchmarkSignAppend(b *testing.B) {
	s := mustSigner(b, testKey(1))
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := benchPayload(b, size)
			dst := make([]byte, 0, s.Len(len(p)))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = s.Append(dst[:0], p)
			}
		})
	}
}

// BenchmarkSignGoJose is the same signature made with go-jose, as Sign
// did before it wrote datagrams by hand.
func BenchmarkSignGoJose(b *testing.B) {
	priv := testKey(1)
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.EdDSA,
		Key:       jose.JSONWebKey{Key: priv, KeyID: sign.KeyID(priv.Public().(ed25519.PublicKey))},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := benchPayload(b, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				jws, err := s.Sign(p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify is the full check of one datagram: Keyring.VerifyInto,
// then frame.ParseInto, both into reused buffers, as a receiver runs them.
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
			buf := make([]byte, 0, len(d))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				p, _, err := ring.VerifyInto(buf, d)
				if err != nil {
					b.Fatal(err)
				}
				data, err := frame.ParseFields(&f, p) // as the receive path does
				if err == nil {
					err = frame.DecodeData(&f, data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyGoJose is Keyring.Verify as it was, with go-jose, on the
// datagrams of BenchmarkVerify, without the frame parsing.
func BenchmarkVerifyGoJose(b *testing.B) {
	priv := testKey(1)
	s := mustSigner(b, priv)
	ring := ringOf(priv, testKey(2))
	for _, size := range []int{512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			d := mustSign(b, s, benchPayload(b, size))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, _, err := verifyReference(ring, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyReject is what one forged datagram costs VerifyInto, for
// each way of refusing it (bad_signature costs the Ed25519 check).
func BenchmarkVerifyReject(b *testing.B) {
	ring, _, cases := rejectCases(b)
	byName := map[string][]byte{}
	for _, c := range cases {
		byName[c.name] = c.in
	}
	for _, name := range []string{"too_short", "non_canonical", "header_jwk", "bad_alg", "unknown_key", "bad_signature"} {
		in := byName[name]
		if in == nil {
			b.Fatalf("no reject case %q", name)
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, len(in))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ring.VerifyInto(dst, in); err == nil {
					b.Fatal("VerifyInto: got nil error, want a reject")
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
