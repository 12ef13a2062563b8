package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestInspectVector takes the protocol.md §6 vector apart.
func TestInspectVector(t *testing.T) {
	v := readVector(t, vectorFile)
	u, err := sign.Inspect([]byte(v["datagram"]))
	if err != nil {
		t.Fatal(err)
	}
	if string(u.Header) != `{"alg":"EdDSA","kid":"`+v["kid"]+`"}` || u.Alg != "EdDSA" || u.KeyID != v["kid"] {
		t.Errorf("got header %q, alg %q, kid %q; want the canonical header of kid %s", u.Header, u.Alg, u.KeyID, v["kid"])
	}
	if string(u.Payload) != v["payload"] {
		t.Errorf("got payload %q, want %q", u.Payload, v["payload"])
	}
	if len(u.Signature) != ed25519.SignatureSize {
		t.Errorf("got a signature of %d bytes, want %d", len(u.Signature), ed25519.SignatureSize)
	}
}

// TestInspect shows what datagrams that Verify refuses hold, and refuses
// only what cannot be taken apart.
func TestInspect(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	sig := b64(bytes.Repeat([]byte{1}, 64))
	for _, c := range []struct {
		name, datagram string
		alg, kid       string
		payload        string
		err            string // "" for none
	}{
		{"alg none", b64([]byte(`{"alg":"none","kid":"abc"}`)) + "." + b64([]byte("hi")) + ".", "none", "abc", "hi", ""},
		{"member names are case-sensitive", b64([]byte(`{"ALG":"EdDSA","Kid":"abc"}`)) + "." + b64([]byte("hi")) + "." + sig, "", "", "hi", ""},
		{"alg not a string", b64([]byte(`{"alg":1,"kid":["x"]}`)) + "." + b64([]byte("hi")) + "." + sig, "", "", "hi", ""},
		{"header not JSON", b64([]byte("\x00\xff")) + "." + b64([]byte("hi")) + "." + sig, "", "", "hi", ""},
		{"non-canonical last character", b64([]byte(`{"alg":"EdDSA","kid":"k"}`)) + "." + b64([]byte("hi"))[:2] + "d." + sig, "EdDSA", "k", "hg", ""},
		{"empty", "", "", "", "", "0 dots; want 2, between three parts"},
		{"two parts", "a.b", "", "", "", "1 dots; want 2, between three parts"},
		{"four parts", "a.b.c.d", "", "", "", "3 dots; want 2, between three parts"},
		{"padding", b64([]byte("{}")) + "=." + b64([]byte("hi")) + "." + sig, "", "", "", "header part is not base64url"},
		{"standard alphabet", b64([]byte("{}")) + "." + "+/+/" + "." + sig, "", "", "", "payload part is not base64url"},
		{"binary", "\x00.\xff.\x80", "", "", "", "header part is not base64url"},
		{"bad signature part", b64([]byte("{}")) + "." + b64([]byte("hi")) + ".!", "", "", "", "signature part is not base64url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := sign.Inspect([]byte(c.datagram))
			if c.err != "" {
				if !errors.Is(err, sign.ErrMalformed) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got error %v, want sign.ErrMalformed saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if u.Alg != c.alg || u.KeyID != c.kid || string(u.Payload) != c.payload {
				t.Errorf("got alg %q, kid %q, payload %q; want %q, %q, %q", u.Alg, u.KeyID, u.Payload, c.alg, c.kid, c.payload)
			}
		})
	}
}

// FuzzInspect holds Inspect to Verify: whatever Verify accepts, Inspect
// takes apart into the same payload and kid; nothing panics.
func FuzzInspect(f *testing.F) {
	v := readVector(f, vectorFile)
	f.Add([]byte(v["datagram"]))
	f.Add([]byte("a.b.c"))
	f.Add([]byte(""))
	f.Add([]byte{0xff, '.', '.', 0})
	seed, err := hex.DecodeString(v["seed"])
	if err != nil {
		f.Fatal(err)
	}
	ring, err := sign.NewKeyring(sign.Key{Public: ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		u, err := sign.Inspect(datagram)
		payload, kid, verr := ring.Verify(datagram)
		if verr != nil {
			return
		}
		if err != nil || u.KeyID != kid || u.Alg != sign.Alg || !bytes.Equal(u.Payload, payload) {
			t.Fatalf("Verify accepts %q (kid %s), Inspect gives %+v, %v", datagram, kid, u, err)
		}
	})
}

func TestCanonicalHeader(t *testing.T) {
	kid := kidOf(1)
	for _, c := range []struct {
		header string
		want   bool
	}{
		{`{"alg":"EdDSA","kid":"` + kid + `"}`, true},
		{`{"kid":"` + kid + `","alg":"EdDSA"}`, false},
		{`{"alg":"EdDSA", "kid":"` + kid + `"}`, false},
		{`{"alg":"none","kid":"` + kid + `"}`, false},
	} {
		d := b64u([]byte(c.header)) + ".e30." + b64u(make([]byte, 64))
		u, err := sign.Inspect([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		if got := u.CanonicalHeader(); got != c.want {
			t.Errorf("%s: got %v, want %v", c.header, got, c.want)
		}
	}
}

// TestCheckRefusal checks that Keyring.Check's refusal carries the
// sentinel and Verify's words, and outlives the datagram.
func TestCheckRefusal(t *testing.T) {
	ring, err := sign.NewKeyring(sign.Key{Public: testKey(1).Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.Sign([]byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	d := []byte(b64u([]byte(`{"alg":"EdDSA","kid":"`+kidOf(2)+`"}`)) + ".e30." + b64u(make([]byte, 64)))
	_, _, want := ring.Verify(append([]byte(nil), d...))
	_, r := ring.Check(d)
	clear(d)
	if !errors.Is(r.Err(), sign.ErrUnknownKey) || r.Explain() == nil || r.Explain().Error() != want.Error() {
		t.Errorf("got %v, %v; want ErrUnknownKey and %v", r.Err(), r.Explain(), want)
	}
	if _, r := ring.Check(good); r.Err() != nil || r.Explain() != nil {
		t.Errorf("a good datagram: got refusal %v, want none", r.Explain())
	}
}
