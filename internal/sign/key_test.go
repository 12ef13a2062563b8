package sign_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// testKey returns the deterministic key whose seed is 32 bytes of i.
func testKey(i byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{i}, ed25519.SeedSize))
}

// writeFile writes b to name in dir with mode perm (whatever the umask)
// and returns its path.
func writeFile(t *testing.T, dir, name string, b []byte, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustMarshalPrivate(t testing.TB, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := sign.MarshalPrivate(priv)
	if err != nil {
		t.Fatalf("MarshalPrivate: got error %v, want nil", err)
	}
	return b
}

func mustMarshalPublic(t testing.TB, pub ed25519.PublicKey) []byte {
	t.Helper()
	b, err := sign.MarshalPublic(pub)
	if err != nil {
		t.Fatalf("MarshalPublic: got error %v, want nil", err)
	}
	return b
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// RFC 8037, Appendix A.1 to A.3: the Ed25519 key (the key of RFC 8032's
// first test vector) and its RFC 7638 thumbprint.
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	// The thumbprint in hex, as RFC 8037 A.3 also prints it.
	rfc8037Digest = "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89"
)

func TestKeyIDRFC8037(t *testing.T) {
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if got := b64u(pub); got != rfc8037X {
		t.Fatalf("public key of RFC 8037 d: got x %s, want %s", got, rfc8037X)
	}
	if got := sign.KeyID(pub); got != rfc8037Thumbprint {
		t.Errorf("KeyID(RFC 8037 key): got %s, want %s", got, rfc8037Thumbprint)
	}
	digest, _ := hex.DecodeString(rfc8037Digest)
	if got := b64u(digest); got != rfc8037Thumbprint {
		t.Errorf("RFC 8037 A.3 digest in base64url: got %s, want %s", got, rfc8037Thumbprint)
	}
	// The RFC 7638 input, spelled out.
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + rfc8037X + `"}`))
	if got := hex.EncodeToString(sum[:]); got != rfc8037Digest {
		t.Errorf("SHA-256 of the RFC 7638 members: got %s, want %s", got, rfc8037Digest)
	}
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.KeyID(); got != rfc8037Thumbprint {
		t.Errorf("Signer.KeyID: got %s, want %s", got, rfc8037Thumbprint)
	}
}

func TestKeyIDMatchesGoJose(t *testing.T) {
	r := rand.NewChaCha8([32]byte{'s', 's', 'm'})
	seed := make([]byte, ed25519.SeedSize)
	for i := 0; i < 200; i++ {
		r.Read(seed)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		jwk := jose.JSONWebKey{Key: pub}
		tp, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sign.KeyID(pub), b64u(tp); got != want {
			t.Fatalf("KeyID(%x): got %s, want go-jose's thumbprint %s", pub, got, want)
		}
	}
}

// jwkMembers decodes a one-line JWK into its members.
func jwkMembers(t *testing.T, b []byte) map[string]string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\n")) || bytes.Count(b, []byte("\n")) != 1 {
		t.Errorf("JWK %q: got %d newlines, want one line ending in a newline", b, bytes.Count(b, []byte("\n")))
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWK %q: %v", b, err)
	}
	return m
}

func TestMarshalJWK(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	kid := sign.KeyID(pub)
	dir := t.TempDir()

	privJWK := mustMarshalPrivate(t, priv)
	m := jwkMembers(t, privJWK)
	want := map[string]string{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
		"kid": kid, "x": b64u(pub), "d": b64u(priv.Seed()),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("private JWK member %q: got %q, want %q", k, m[k], v)
		}
	}
	s, err := sign.LoadSigner(writeFile(t, dir, "k.jwk", privJWK, 0o600))
	if err != nil {
		t.Fatalf("LoadSigner(MarshalPrivate): got error %v, want nil", err)
	}
	if s.KeyID() != kid || !s.Public().Equal(pub) {
		t.Errorf("LoadSigner(MarshalPrivate): got kid %s, public %x; want %s, %x", s.KeyID(), s.Public(), kid, pub)
	}

	pubJWK := mustMarshalPublic(t, pub)
	m = jwkMembers(t, pubJWK)
	if _, ok := m["d"]; ok {
		t.Errorf("public JWK %s: got a \"d\" member, want none", pubJWK)
	}
	delete(want, "d")
	for k, v := range want {
		if m[k] != v {
			t.Errorf("public JWK member %q: got %q, want %q", k, m[k], v)
		}
	}
	ring, warnings, err := sign.LoadTrust(writeFile(t, dir, "k.pub.jwk", pubJWK, 0o644))
	if err != nil {
		t.Fatalf("LoadTrust(MarshalPublic): got error %v, want nil", err)
	}
	if len(warnings) != 0 {
		t.Errorf("LoadTrust(MarshalPublic): got warnings %+v, want none", warnings)
	}
	keys := ring.Keys()
	if len(keys) != 1 || keys[0].ID != kid || !keys[0].Public.Equal(pub) {
		t.Fatalf("LoadTrust(MarshalPublic): got %+v, want one key %s", keys, kid)
	}
	if want := filepath.Join(dir, "k.pub.jwk"); keys[0].File != want {
		t.Errorf("Key.File: got %q, want %q", keys[0].File, want)
	}
}

// TestLoadCaseVariantMembers holds the JWK checks done with encoding/json
// (case-insensitive, last duplicate wins) to the key go-jose then builds
// (case-sensitive): a JWK whose "x" or "d" is the wrong length must be
// refused even if a member "X" or "D" of the right length follows it.
func TestLoadCaseVariantMembers(t *testing.T) {
	priv := testKey(2)
	pub := priv.Public().(ed25519.PublicKey)
	good := b64u(pub)
	short := b64u(pub[:16])
	dir := t.TempDir()

	pubJWK := `{"kty":"OKP","crv":"Ed25519","x":"` + short + `","X":"` + good + `"}`
	ring, _, err := sign.LoadTrust(writeFile(t, dir, "x.jwk", []byte(pubJWK), 0o644))
	if err == nil {
		t.Errorf("LoadTrust(%s): got %d key(s) %v, want an error (\"x\" is 16 bytes)", pubJWK, ring.Len(), ring.Keys())
	}

	seedShort := b64u(priv.Seed()[:16])
	padded := ed25519.NewKeyFromSeed(append(bytes.Clone(priv.Seed()[:16]), make([]byte, 16)...))
	privJWK := `{"kty":"OKP","crv":"Ed25519","x":"` + b64u(padded.Public().(ed25519.PublicKey)) +
		`","d":"` + seedShort + `","D":"` + b64u(priv.Seed()) + `"}`
	s, err := sign.LoadSigner(writeFile(t, dir, "d.jwk", []byte(privJWK), 0o600))
	if err == nil {
		t.Errorf("LoadSigner(%s): got a signer for %s, want an error (\"d\" is 16 bytes)", privJWK, s.KeyID())
	}
}

// TestMarshalWrongLength: a key of the wrong length is an error, not a
// JWK that no loader accepts, and not a panic.
func TestMarshalWrongLength(t *testing.T) {
	priv := testKey(1)
	for _, n := range []int{0, 10, 32, 63, 65} {
		k := make(ed25519.PrivateKey, n)
		copy(k, priv)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("MarshalPrivate(%d-byte key): got panic %v, want an error", n, r)
				}
			}()
			if b, err := sign.MarshalPrivate(k); err == nil {
				t.Errorf("MarshalPrivate(%d-byte key): got %s, want an error", n, b)
			}
		}()
	}
	for _, n := range []int{0, 31, 33} {
		k := make(ed25519.PublicKey, n)
		if b, err := sign.MarshalPublic(k); err == nil {
			t.Errorf("MarshalPublic(%d-byte key): got %s, want an error", n, b)
		}
	}
}
