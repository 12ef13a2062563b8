package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// referenceSign signs payload with go-jose the way Signer.Sign did before
// it wrote datagrams by hand: the reference that Signer.Append must match.
func referenceSign(t testing.TB, priv ed25519.PrivateKey, payload []byte) []byte {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.EdDSA,
		Key:       jose.JSONWebKey{Key: priv, KeyID: sign.KeyID(priv.Public().(ed25519.PublicKey))},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

// TestAppendMatchesGoJose holds the hand-written datagram to go-jose's,
// byte for byte, for payloads of every length up to 1500 bytes and some
// longer ones, under several keys.
func TestAppendMatchesGoJose(t *testing.T) {
	r := rand.NewChaCha8([32]byte{'a', 'p', 'p'})
	var payloads [][]byte
	for n := 1; n <= 1500; n++ {
		p := make([]byte, n)
		r.Read(p)
		payloads = append(payloads, p)
	}
	for _, size := range []int{1, 32, 512, 1000} {
		f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: make([]byte, size)}
		p, err := f.Append(nil), f.Check()
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	payloads = append(payloads, make([]byte, sign.MaxPayload))
	for _, k := range []byte{1, 2, 9} {
		priv := testKey(k)
		s := mustSigner(t, priv)
		prefix := []byte("prefix")
		for _, p := range payloads {
			want := referenceSign(t, priv, p)
			if got := s.Append(nil, p); !bytes.Equal(got, want) {
				t.Fatalf("key %d, %d-byte payload: Append:\ngot  %.100s\nwant %.100s (go-jose)", k, len(p), got, want)
			}
			if got := s.Append(prefix, p); !bytes.Equal(got, append(prefix, want...)) {
				t.Fatalf("key %d, %d-byte payload: Append(%q, ...): got %.100s, want the prefix then go-jose's datagram", k, len(p), prefix, got)
			}
			if got := mustSign(t, s, p); !bytes.Equal(got, want) {
				t.Fatalf("key %d, %d-byte payload: Sign: got %.100s, want %.100s (go-jose)", k, len(p), got, want)
			}
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	s := mustSigner(t, testKey(1))
	for _, n := range []int{1, 32, 1400} {
		p := bytes.Repeat([]byte{'x'}, n)
		dst := make([]byte, 0, s.Len(n))
		if got := testing.AllocsPerRun(100, func() { dst = s.Append(dst[:0], p) }); got != 0 {
			t.Errorf("Append(%d bytes) with room in dst: got %v allocations, want 0", n, got)
		}
	}
}

// rejectCases returns one datagram per kind of reject that VerifyInto must
// refuse without allocating, with the sentinel it must return.
func rejectCases(t testing.TB) (*sign.Keyring, []byte, []struct {
	name string
	in   []byte
	want error
}) {
	priv := testKey(1)
	kid := sign.KeyID(priv.Public().(ed25519.PublicKey))
	payload := []byte(testPayload)
	good := mustSign(t, mustSigner(t, priv), payload)
	parts := strings.Split(string(good), ".")
	badSig := bytes.Clone(good)
	badSig[len(badSig)-10] ^= 'A' ^ 'B'
	return ringOf(priv, testKey(2)), good, []struct {
		name string
		in   []byte
		want error
	}{
		{"too_short", []byte("x"), sign.ErrMalformed},
		{"white_space", append(bytes.Clone(good), '\n'), sign.ErrMalformed},
		{"empty_part", []byte(parts[0] + ".." + parts[2]), sign.ErrMalformed},
		{"non_canonical", []byte(parts[0] + "." + parts[1] + "." + parts[2][:85] + "B"), sign.ErrMalformed},
		{"payload_too_long", forge(`{"alg":"EdDSA","kid":"`+kid+`"}`, make([]byte, sign.MaxPayload+1), priv, nil), sign.ErrMalformed},
		{"header_too_long", forge(`{"alg":"EdDSA","kid":"`+kid+`","typ":"`+strings.Repeat("x", 500)+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"header_not_json", forge(`{"alg":"EdDSA",`, payload, priv, nil), sign.ErrMalformed},
		{"header_jwk", forge(`{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+b64u(priv.Public().(ed25519.PublicKey))+`"},"kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"header_reordered", forge(`{"kid":"`+kid+`","alg":"EdDSA"}`, payload, priv, nil), sign.ErrMalformed},
		{"header_deep", forge(`{"alg":"EdDSA","x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, payload, priv, nil), sign.ErrMalformed},
		{"bad_alg", forge(`{"alg":"none","kid":"`+kid+`"}`, payload, nil, []byte{0}), sign.ErrBadAlg},
		{"bad_alg_hs256", forge(`{"alg":"HS256","kid":"`+kid+`"}`, payload, nil, make([]byte, 32)), sign.ErrBadAlg},
		{"unknown_key", mustSign(t, mustSigner(t, testKey(9)), payload), sign.ErrUnknownKey},
		{"short_signature", []byte(parts[0] + "." + parts[1] + "." + parts[2][:40]), sign.ErrBadSignature},
		{"bad_signature", badSig, sign.ErrBadSignature},
	}
}

func TestVerifyInto(t *testing.T) {
	ring, good, cases := rejectCases(t)
	dst := make([]byte, 3, 1024)
	p, kid, err := ring.VerifyInto(dst, good)
	if err != nil || string(p) != testPayload || kid != kidOf(1) {
		t.Fatalf("VerifyInto(good): got %q, %s, %v; want the payload, %s, nil", p, kid, err, kidOf(1))
	}
	if &p[0] != &dst[:1][0] {
		t.Errorf("VerifyInto: got a payload outside dst, want it decoded into dst's capacity")
	}
	for _, c := range cases {
		p, kid, err := ring.VerifyInto(dst, c.in)
		if err != c.want || p != nil || kid != "" {
			t.Errorf("VerifyInto(%s): got %.20q, %q, %v; want nil, \"\", the bare sentinel %v", c.name, p, kid, err, c.want)
		}
		_, _, verr := ring.Verify(c.in)
		if !errors.Is(verr, c.want) || verr == c.want {
			t.Errorf("Verify(%s): got error %v, want %v wrapped with context", c.name, verr, c.want)
		}
		t.Logf("%s: %v", c.name, verr)
	}
}

// TestVerifyIntoAllocs pins the receive path: with a warm dst, VerifyInto
// allocates nothing for a good datagram or for any kind of reject, a
// signature that does not verify included.
func TestVerifyIntoAllocs(t *testing.T) {
	ring, good, cases := rejectCases(t)
	dst := make([]byte, 0, 1024)
	if got := testing.AllocsPerRun(50, func() {
		if _, _, err := ring.VerifyInto(dst, good); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("VerifyInto(good datagram): got %v allocations, want 0", got)
	}
	for _, c := range cases {
		const want = 0.0
		if got := testing.AllocsPerRun(50, func() {
			if _, _, err := ring.VerifyInto(dst, c.in); err != c.want {
				t.Fatalf("VerifyInto(%s): got error %v, want %v", c.name, err, c.want)
			}
		}); got != want {
			t.Errorf("VerifyInto(%s): got %v allocations, want %v", c.name, got, want)
		}
	}
}
