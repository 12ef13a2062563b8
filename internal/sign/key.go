package sign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	// go-jose's JSON matches member names exactly, as its JWK parser does;
	// encoding/json would check "x" but let go-jose load "X".
	josejson "github.com/go-jose/go-jose/v3/json"

	"github.com/nordunet/ssmrandom/internal/keyfile"
)

// ErrKey reports a JWK that is not a usable Ed25519 key.
//
// Its text has no "sign:" prefix because it always stands after the name
// of the file that holds the key: "sign: keys/a.jwk: not an Ed25519 JWK: ...".
var ErrKey = errors.New("not an Ed25519 JWK")

// Key is one trusted public key.
type Key struct {
	// ID is the key id: the RFC 7638 SHA-256 thumbprint of the public
	// key, base64url without padding.
	ID string
	// Public is the Ed25519 public key.
	Public ed25519.PublicKey
	// File is the file the key was loaded from, or "" if it was not.
	File string
	// Valid is the period in which the key's frames are accepted: the
	// JWK members "nbf" and "exp" (docs/protocol.md §2.1).
	Valid Validity
}

// Validity is the period in which a trusted key may sign frames. It is
// stored in the key's JWK as the members "nbf" (not before) and "exp"
// (expires: not at or after), each a NumericDate as in JWT (RFC 7519
// §2, §4.1.4, §4.1.5): whole seconds since 1970-01-01T00:00:00Z. Either
// may be absent; a key with neither is valid at all times. The zero
// Validity has no bounds.
type Validity struct {
	NotBefore time.Time // the first instant of the period; zero for none
	NotAfter  time.Time // the first instant after the period; zero for none
}

// Contains reports whether t is in the period: not before NotBefore and
// before NotAfter.
func (v Validity) Contains(t time.Time) bool {
	return (v.NotBefore.IsZero() || !t.Before(v.NotBefore)) && (v.NotAfter.IsZero() || t.Before(v.NotAfter))
}

// intersect returns the period in both v and w: the later start and the
// earlier end. It may be empty (no instant in it).
func (v Validity) intersect(w Validity) Validity {
	if v.NotBefore.IsZero() || w.NotBefore.After(v.NotBefore) {
		v.NotBefore = w.NotBefore
	}
	if v.NotAfter.IsZero() || !w.NotAfter.IsZero() && w.NotAfter.Before(v.NotAfter) {
		v.NotAfter = w.NotAfter
	}
	return v
}

// String returns the period as "FROM..TO" in RFC 3339, with "-" for an
// open end, or "always".
func (v Validity) String() string {
	if v.NotBefore.IsZero() && v.NotAfter.IsZero() {
		return "always"
	}
	end := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return end(v.NotBefore) + ".." + end(v.NotAfter)
}

// members returns the JWK members of v, each preceded by a comma.
func (v Validity) members() string {
	var s string
	if !v.NotBefore.IsZero() {
		s += fmt.Sprintf(`,"nbf":%d`, v.NotBefore.Unix())
	}
	if !v.NotAfter.IsZero() {
		s += fmt.Sprintf(`,"exp":%d`, v.NotAfter.Unix())
	}
	return s
}

// Check reports a period that a JWK cannot hold: a bound that is not a
// whole second from 1970 to 9999, or an end not after the start. Its error
// wraps [ErrKey].
func (v Validity) Check() error {
	if err := keyfile.CheckPeriod(v.NotBefore, v.NotAfter); err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	return nil
}

// KeyID returns the key id of pub: its RFC 7638 JWK thumbprint with
// SHA-256, base64url-encoded without padding (RFC 8037, Appendix A.3).
func KeyID(pub ed25519.PublicKey) string {
	// The required members in lexicographic order, no white space
	// (RFC 7638, section 3.2); a test holds this to go-jose's Thumbprint.
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` +
		base64.RawURLEncoding.EncodeToString(pub) + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// MarshalPrivateValid returns priv as a private JWK with its kid and, if
// v is not zero, its validity period as the members "nbf" and "exp": one
// line of JSON followed by a newline.
func MarshalPrivateValid(priv ed25519.PrivateKey, v Validity) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: Ed25519 private key of %d bytes; want %d", len(priv), ed25519.PrivateKeySize)
	}
	return marshalJWK(priv, priv.Public().(ed25519.PublicKey), v)
}

// MarshalPublicValid returns pub as a public JWK with its kid and, if v
// is not zero, its validity period as the members "nbf" and "exp": one
// line of JSON followed by a newline.
func MarshalPublicValid(pub ed25519.PublicKey, v Validity) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("sign: Ed25519 public key of %d bytes; want %d", len(pub), ed25519.PublicKeySize)
	}
	return marshalJWK(pub, pub, v)
}

func marshalJWK(key any, pub ed25519.PublicKey, v Validity) ([]byte, error) {
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b, err := jose.JSONWebKey{Key: key, KeyID: KeyID(pub), Algorithm: Alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sign: encode JWK: %w", err)
	}
	// go-jose writes one JSON object; the validity goes before its end.
	b = append(b[:len(b)-1], v.members()+"}\n"...)
	return b, nil
}

// rawJWK holds the members that are checked before go-jose sees a key:
// go-jose pads or cuts key material of the wrong length without a word.
type rawJWK struct {
	Kty string  `json:"kty"`
	Crv string  `json:"crv"`
	X   string  `json:"x"`
	D   *string `json:"d"`
	Kid string  `json:"kid"`
	Alg string  `json:"alg"`
	Nbf *int64  `json:"nbf"`
	Exp *int64  `json:"exp"`
}

// validity returns the period of "nbf" and "exp".
func (raw *rawJWK) validity() (Validity, error) {
	var v Validity
	for _, m := range []struct {
		name string
		n    *int64
		t    *time.Time
	}{{"nbf", raw.Nbf, &v.NotBefore}, {"exp", raw.Exp, &v.NotAfter}} {
		if m.n == nil {
			continue
		}
		if *m.n < 0 || *m.n > keyfile.MaxNumericDate {
			return Validity{}, fmt.Errorf("%w: %q %d is not a NumericDate from 1970 to 9999", ErrKey, m.name, *m.n)
		}
		*m.t = time.Unix(*m.n, 0).UTC()
	}
	return v, v.Check()
}

// parseJWK decodes one JWK. It returns the public key, for a private
// JWK the private key, and the validity period; any other kind of key, or
// a bad period, is an error wrapping [ErrKey].
func parseJWK(b []byte) (ed25519.PublicKey, ed25519.PrivateKey, Validity, error) {
	// Member names are case-sensitive, and a JWK has only the members
	// of jwkMembers, each once (docs/protocol.md §7). "nbf" and "exp",
	// if present, are integers: null is not "no limit".
	m, err := keyfile.Members(b)
	if err != nil {
		return nil, nil, Validity{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	for _, name := range []string{"nbf", "exp"} {
		if raw, ok := m[name]; ok && !keyfile.Digits(raw) {
			return nil, nil, Validity{}, fmt.Errorf("%w: %q is not a NumericDate from 1970 to 9999", ErrKey, name)
		}
	}
	var raw rawJWK
	if err := josejson.Unmarshal(b, &raw); err != nil {
		return nil, nil, Validity{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if raw.Kty != "OKP" || raw.Crv != "Ed25519" {
		return nil, nil, Validity{}, fmt.Errorf("%w: kty %q, crv %q; want kty \"OKP\", crv \"Ed25519\"", ErrKey, raw.Kty, raw.Crv)
	}
	if raw.Alg != "" && raw.Alg != Alg {
		return nil, nil, Validity{}, fmt.Errorf("%w: alg %q; want %q", ErrKey, raw.Alg, Alg)
	}
	if err := keyfile.Only(m, jwkMembers); err != nil {
		return nil, nil, Validity{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if n, err := base64.RawURLEncoding.Strict().DecodeString(raw.X); err != nil || len(n) != ed25519.PublicKeySize {
		return nil, nil, Validity{}, fmt.Errorf("%w: \"x\" is not %d bytes of base64url", ErrKey, ed25519.PublicKeySize)
	}
	if raw.D != nil {
		if n, err := base64.RawURLEncoding.Strict().DecodeString(*raw.D); err != nil || len(n) != ed25519.SeedSize {
			return nil, nil, Validity{}, fmt.Errorf("%w: \"d\" is not %d bytes of base64url", ErrKey, ed25519.SeedSize)
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(b); err != nil {
		return nil, nil, Validity{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	var pub ed25519.PublicKey
	var priv ed25519.PrivateKey
	switch k := jwk.Key.(type) {
	case ed25519.PublicKey:
		pub = k
	case ed25519.PrivateKey:
		// Derive the key pair from the seed alone: a JWK whose "x" is
		// not the seed's public key would otherwise sign garbage.
		priv = ed25519.NewKeyFromSeed(k.Seed())
		pub = priv.Public().(ed25519.PublicKey)
		if !pub.Equal(k.Public()) {
			return nil, nil, Validity{}, fmt.Errorf("%w: \"x\" is not the public key of \"d\"", ErrKey)
		}
	default:
		return nil, nil, Validity{}, fmt.Errorf("%w: key type %T", ErrKey, jwk.Key)
	}
	if raw.Kid != "" && raw.Kid != KeyID(pub) {
		return nil, nil, Validity{}, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrKey, raw.Kid, KeyID(pub))
	}
	v, err := raw.validity()
	if err != nil {
		return nil, nil, Validity{}, err
	}
	return pub, priv, v, nil
}
