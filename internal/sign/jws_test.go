package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sign"
)

const testPayload = `{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`

func mustSigner(t testing.TB, priv ed25519.PrivateKey) *sign.Signer {
	t.Helper()
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatalf("NewSigner: got error %v, want nil", err)
	}
	return s
}

func mustSign(t testing.TB, s *sign.Signer, payload []byte) []byte {
	t.Helper()
	d, err := s.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: got error %v, want nil", err)
	}
	return d
}

// ringOf returns a keyring of the public halves of privs.
func ringOf(privs ...ed25519.PrivateKey) *sign.Keyring {
	var keys []sign.Key
	for _, p := range privs {
		keys = append(keys, sign.Key{Public: p.Public().(ed25519.PublicKey)})
	}
	r, err := sign.NewKeyring(keys...)
	if err != nil {
		panic(err)
	}
	return r
}

// forge builds a compact JWS from a header's JSON text and a payload,
// signed with Ed25519 by priv over the signing input, or with sig as the
// raw signature if priv is nil.
func forge(header string, payload []byte, priv ed25519.PrivateKey, sig []byte) []byte {
	input := b64u([]byte(header)) + "." + b64u(payload)
	if priv != nil {
		sig = ed25519.Sign(priv, []byte(input))
	}
	return []byte(input + "." + b64u(sig))
}

func TestSignVerify(t *testing.T) {
	priv := testKey(1)
	s := mustSigner(t, priv)
	ring := ringOf(priv, testKey(2))
	for _, p := range [][]byte{[]byte(testPayload), {0}, bytes.Repeat([]byte{0xff}, 1400), make([]byte, sign.MaxPayload)} {
		d := mustSign(t, s, p)
		got, kid, err := ring.Verify(d)
		if err != nil {
			t.Fatalf("Verify(Sign(%d bytes)): got error %v, want nil", len(p), err)
		}
		if !bytes.Equal(got, p) {
			t.Errorf("Verify: got payload %.40q, want %.40q", got, p)
		}
		if kid != s.KeyID() {
			t.Errorf("Verify: got kid %s, want %s", kid, s.KeyID())
		}
	}
	// The header is exactly {"alg":"EdDSA","kid":KID}.
	d := mustSign(t, s, []byte(testPayload))
	if want := b64u([]byte(`{"alg":"EdDSA","kid":"`+s.KeyID()+`"}`)) + "."; !bytes.HasPrefix(d, []byte(want)) {
		t.Errorf("Sign: got %.60s..., want the header %s", d, want)
	}
}

// TestSignBadLength: Sign refuses the payloads that Verify would refuse,
// the empty one and those longer than MaxPayload.
func TestSignBadLength(t *testing.T) {
	s := mustSigner(t, testKey(1))
	for _, n := range []int{0, sign.MaxPayload + 1} {
		if d, err := s.Sign(make([]byte, n)); err == nil {
			t.Errorf("Sign(%d bytes): got %.40q, want an error", n, d)
		}
	}
}

func TestSignDeterministic(t *testing.T) {
	a := mustSign(t, mustSigner(t, testKey(1)), []byte(testPayload))
	b := mustSign(t, mustSigner(t, testKey(1)), []byte(testPayload))
	if !bytes.Equal(a, b) {
		t.Errorf("Sign twice: got %s and %s, want identical bytes", a, b)
	}
	c := mustSign(t, mustSigner(t, testKey(2)), []byte(testPayload))
	if bytes.Equal(a, c) {
		t.Errorf("Sign with two keys: got identical bytes %s", a)
	}
}

func TestSignerLen(t *testing.T) {
	s := mustSigner(t, testKey(1))
	for n := 1; n <= 1500; n++ {
		d := mustSign(t, s, bytes.Repeat([]byte{'x'}, n))
		if got, want := s.Len(n), len(d); got != want {
			t.Fatalf("Len(%d): got %d, want len(Sign(%d bytes)) = %d", n, got, n, want)
		}
	}
}

func TestNewSignerBadKey(t *testing.T) {
	for _, n := range []int{0, 32, 63, 65} {
		if _, err := sign.NewSigner(make(ed25519.PrivateKey, n)); err == nil {
			t.Errorf("NewSigner(%d-byte key): got nil error, want an error", n)
		}
	}
}

func TestKeyring(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	r, err := sign.NewKeyring(
		sign.Key{Public: k1.Public().(ed25519.PublicKey), File: "first"},
		sign.Key{Public: k1.Public().(ed25519.PublicKey), File: "second"},
		sign.Key{ID: kidOf(2), Public: k2.Public().(ed25519.PublicKey)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.NewKeyring(sign.Key{Public: make(ed25519.PublicKey, 31)}); err == nil {
		t.Errorf("NewKeyring(31-byte key): got nil error, want one")
	}
	if _, err := sign.NewKeyring(sign.Key{ID: kidOf(2), Public: k1.Public().(ed25519.PublicKey)}); err == nil {
		t.Errorf("NewKeyring(key with another key's id): got nil error, want one")
	}
	if r.Len() != 2 {
		t.Errorf("Len: got %d, want 2 (a key given twice counts once)", r.Len())
	}
	if k, ok := r.Lookup(kidOf(1)); !ok || k.File != "first" {
		t.Errorf("Lookup(%s): got %+v, %v; want the first key given", kidOf(1), k, ok)
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("Lookup(\"nope\"): got a key, want none")
	}
	var zero sign.Keyring
	if zero.Len() != 0 {
		t.Errorf("zero Keyring Len: got %d, want 0", zero.Len())
	}
	d := mustSign(t, mustSigner(t, k1), []byte(testPayload))
	if _, _, err := zero.Verify(d); !errors.Is(err, sign.ErrUnknownKey) {
		t.Errorf("zero Keyring Verify: got error %v, want ErrUnknownKey", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	priv := testKey(1)
	attacker := testKey(9)
	s := mustSigner(t, priv)
	kid := s.KeyID()
	ring := ringOf(priv)
	payload := []byte(testPayload)
	good := mustSign(t, s, payload)
	parts := strings.Split(string(good), ".")
	attackerJWK := strings.TrimSpace(string(mustMarshalPublic(t, attacker.Public().(ed25519.PublicKey))))

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		// Swap for another base64url character that changes the high
		// bits of its 6-bit value, so the decoded bytes change.
		if b[i] == 'A' {
			b[i] = 'g'
		} else {
			b[i] = 'A'
		}
		return b
	}
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte(b64u([]byte(`{"alg":"HS256","kid":"`+kid+`"}`)) + "." + b64u(payload)))

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"signed by an unknown key", mustSign(t, mustSigner(t, attacker), payload), sign.ErrUnknownKey},
		{"unknown key claiming a trusted kid", forge(`{"alg":"EdDSA","kid":"`+kid+`"}`, payload, attacker, nil), sign.ErrBadSignature},
		{"no kid", forge(`{"alg":"EdDSA"}`, payload, priv, nil), sign.ErrMalformed},
		{"kid in another case", forge(`{"alg":"EdDSA","kid":"`+strings.ToUpper(kid)+`"}`, payload, priv, nil), sign.ErrUnknownKey},
		{"payload byte changed", flip(len(parts[0]) + 1 + 10), sign.ErrBadSignature},
		{"header byte changed", flip(2), sign.ErrMalformed},
		{"signature byte changed", flip(len(good) - 20), sign.ErrBadSignature},
		{"signature first byte changed", flip(len(parts[0]) + 1 + len(parts[1]) + 1), sign.ErrBadSignature},
		{"signature of another payload", []byte(parts[0] + "." + b64u([]byte("other")) + "." + parts[2]), sign.ErrBadSignature},
		{"empty signature", []byte(parts[0] + "." + parts[1] + "."), sign.ErrMalformed},
		{"short signature", []byte(parts[0] + "." + parts[1] + "." + parts[2][:40]), sign.ErrBadSignature},
		{"long signature", []byte(string(good) + "AAAA"), sign.ErrBadSignature},
		{"empty payload", []byte(parts[0] + ".." + parts[2]), sign.ErrMalformed},
		{"empty payload, signed", forge(`{"alg":"EdDSA","kid":"`+kid+`"}`, nil, priv, nil), sign.ErrMalformed},
		// An empty part is malformed before the header is looked at.
		{"alg none, empty signature", forge(`{"alg":"none","kid":"`+kid+`"}`, payload, nil, nil), sign.ErrMalformed},
		{"alg none", forge(`{"alg":"none","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrBadAlg},
		{"alg none without kid, empty signature", forge(`{"alg":"none"}`, payload, nil, nil), sign.ErrMalformed},
		{"alg none without kid", forge(`{"alg":"none"}`, payload, nil, []byte{0}), sign.ErrBadAlg},
		{"alg RS256 with extra members", forge(`{"alg":"RS256","jwk":{},"kid":"`+kid+`"}`, payload, priv, nil), sign.ErrBadAlg},
		{"alg HS256", forge(`{"alg":"HS256","kid":"`+kid+`"}`, payload, nil, mac.Sum(nil)), sign.ErrBadAlg},
		{"alg HS256 keyed with the public key", forge(`{"alg":"HS256","kid":"`+kid+`"}`, payload, nil, hmacSum(priv.Public().(ed25519.PublicKey), `{"alg":"HS256","kid":"`+kid+`"}`, payload)), sign.ErrBadAlg},
		{"alg Ed25519", forge(`{"alg":"Ed25519","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrBadAlg},
		{"alg eddsa", forge(`{"alg":"eddsa","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrBadAlg},
		{"no alg", forge(`{"kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"alg not a string", forge(`{"alg":null,"kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"alg EdDSA with escapes", forge(`{"alg":"EdDS\u0041","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"embedded jwk of the attacker", forge(`{"alg":"EdDSA","jwk":`+attackerJWK+`,"kid":"`+kidOf(9)+`"}`, payload, attacker, nil), sign.ErrMalformed},
		{"embedded jwk of the attacker, trusted kid", forge(`{"alg":"EdDSA","jwk":`+attackerJWK+`,"kid":"`+kid+`"}`, payload, attacker, nil), sign.ErrMalformed},
		{"b64 false with crit", forge(`{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"members reordered", forge(`{"kid":"`+kid+`","alg":"EdDSA"}`, payload, priv, nil), sign.ErrMalformed},
		{"white space in the header", forge(`{"alg":"EdDSA", "kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"duplicate kid", forge(`{"alg":"EdDSA","kid":"`+kid+`","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"kid of 42 characters", forge(`{"alg":"EdDSA","kid":"`+kid[:42]+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"header of more than 512 bytes", forge(`{"alg":"none","typ":"`+strings.Repeat("x", 500)+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"header nested too deeply", forge(`{"alg":"none","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`, payload, priv, nil), sign.ErrMalformed},
		{"duplicate alg", forge(`{"alg":"EdDSA","alg":"none","kid":"`+kid+`"}`, payload, priv, nil), sign.ErrMalformed},
		{"header not JSON", forge(`alg=EdDSA`, payload, priv, nil), sign.ErrMalformed},
		{"header a JSON string", forge(`"EdDSA"`, payload, priv, nil), sign.ErrMalformed},
		{"empty header", forge(``, payload, priv, nil), sign.ErrMalformed},
		{"JSON serialization", []byte(`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`), sign.ErrMalformed},
		{"general JSON serialization", []byte(`{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`), sign.ErrMalformed},
		{"space inserted", []byte(parts[0] + ". " + parts[1] + "." + parts[2]), sign.ErrMalformed},
		{"newline inserted", []byte(parts[0] + "." + parts[1][:5] + "\n" + parts[1][5:] + "." + parts[2]), sign.ErrMalformed},
		{"tab inserted", []byte(parts[0] + "\t." + parts[1] + "." + parts[2]), sign.ErrMalformed},
		{"trailing newline", append(bytes.Clone(good), '\n'), sign.ErrMalformed},
		{"two dots missing", []byte(parts[0] + parts[1] + parts[2]), sign.ErrMalformed},
		{"one dot missing", []byte(parts[0] + "." + parts[1] + parts[2]), sign.ErrMalformed},
		{"extra dot", []byte(string(good) + "."), sign.ErrMalformed},
		{"five parts (JWE shape)", []byte(parts[0] + ".." + parts[1] + ".." + parts[2]), sign.ErrMalformed},
		{"padding =", []byte(string(good) + "=="), sign.ErrMalformed},
		{"padding = in the payload", []byte(parts[0] + "." + parts[1] + "=." + parts[2]), sign.ErrMalformed},
		{"standard base64 alphabet", []byte(strings.NewReplacer("-", "+", "_", "/").Replace(string(good)) + "+/"), sign.ErrMalformed},
		{"payload length 1 mod 4", []byte(parts[0] + "." + parts[1] + strings.Repeat("A", (5-len(parts[1])%4)%4) + "." + parts[2]), sign.ErrMalformed},
		{"NUL byte", append(bytes.Clone(good), 0), sign.ErrMalformed},
		{"non-ASCII", []byte(parts[0] + "." + parts[1] + "é." + parts[2]), sign.ErrMalformed},
		{"empty", nil, sign.ErrMalformed},
		{"dots only", []byte(".."), sign.ErrMalformed},
		{"payload over MaxPayload", forge(`{"alg":"EdDSA","kid":"`+kid+`"}`, make([]byte, sign.MaxPayload+1), priv, nil), sign.ErrMalformed},
	}
	sentinels := []error{sign.ErrMalformed, sign.ErrBadAlg, sign.ErrUnknownKey, sign.ErrBadSignature}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, kid, err := ring.Verify(tt.in)
			if err == nil {
				t.Fatalf("Verify(%.60q): got payload %.40q from %s, want an error", tt.in, p, kid)
			}
			if p != nil || kid != "" {
				t.Errorf("Verify: got (%.40q, %q, error), want (nil, \"\", error)", p, kid)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify(%.60q): got error %v, want errors.Is %v", tt.in, err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("Verify: got error %v that is also %v", err, s)
				}
			}
		})
	}
}

func hmacSum(key []byte, header string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(b64u([]byte(header)) + "." + b64u(payload)))
	return m.Sum(nil)
}

// TestVerifyNonCanonicalBase64 changes only the unused low bits of the last
// character of a part: the decoded bytes are the same, the datagram is not.
// A datagram has one encoding (docs/protocol.md), so Verify must refuse
// the others; otherwise anyone can turn one signed datagram into several
// that all verify (the signature's last character alone carries 4 unused
// bits, so 16 variants; the header and payload parts may add more).
func TestVerifyNonCanonicalBase64(t *testing.T) {
	priv := testKey(1)
	ring := ringOf(priv)
	s := mustSigner(t, priv)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// Payloads of length 0, 1 and 2 mod 3: the last two leave unused bits
	// in the payload part.
	for _, p := range []string{testPayload, testPayload + "x", testPayload + "xy"} {
		good := mustSign(t, s, []byte(p))
		parts := bytes.Split(good, []byte("."))
		end := 0
		for part := range parts {
			end += len(parts[part])
			if part > 0 {
				end++ // the dot
			}
			// Unused low bits of the last character: 4 when the part's
			// length is 2 mod 4, 2 when 3 mod 4.
			if len(parts[part])%4 < 2 {
				continue
			}
			b := bytes.Clone(good)
			i := end - 1
			v := strings.IndexByte(alphabet, b[i])
			b[i] = alphabet[v^1] // the lowest bit is unused
			if _, _, err := ring.Verify(b); !errors.Is(err, sign.ErrMalformed) {
				t.Errorf("Verify(datagram with part %d's last character %q changed to %q, %d-byte payload): got error %v, want ErrMalformed",
					part, good[i], b[i], len(p), err)
			}
		}
	}
}

// TestVerifyTruncated verifies every proper prefix of a datagram: each is
// refused, none panics.
func TestVerifyTruncated(t *testing.T) {
	priv := testKey(1)
	ring := ringOf(priv)
	good := mustSign(t, mustSigner(t, priv), []byte(testPayload))
	for i := 0; i < len(good); i++ {
		in := bytes.Clone(good[:i])
		if p, _, err := ring.Verify(in); err == nil {
			t.Fatalf("Verify(first %d bytes): got payload %q, want an error", i, p)
		}
		// The same with a suffix in place of the missing bytes.
		in = append(in, good[len(good)-1-(i%7):]...)
		if p, _, err := ring.Verify(in); err == nil && !bytes.Equal(in, good) {
			t.Fatalf("Verify(%q): got payload %q, want an error", in, p)
		}
	}
}

func TestVerifyConcurrent(t *testing.T) {
	priv := testKey(1)
	ring := ringOf(priv, testKey(2))
	s := mustSigner(t, priv)
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				d, e := s.Sign([]byte(testPayload))
				if e != nil {
					err = e
					break
				}
				_, _, err = ring.Verify(d)
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Errorf("concurrent Sign/Verify: got error %v, want nil", err)
		}
	}
}
