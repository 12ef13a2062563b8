package sign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v3"
	// go-jose's JSON matches member names exactly, as its JWK parser does;
	// encoding/json would check "x" but let go-jose load "X".
	josejson "github.com/go-jose/go-jose/v3/json"
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

// MarshalPrivate returns priv as a private JWK with its kid, one line of
// JSON followed by a newline.
func MarshalPrivate(priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: Ed25519 private key of %d bytes; want %d", len(priv), ed25519.PrivateKeySize)
	}
	return marshalJWK(priv, priv.Public().(ed25519.PublicKey))
}

// MarshalPublic returns pub as a public JWK with its kid, one line of JSON
// followed by a newline.
func MarshalPublic(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("sign: Ed25519 public key of %d bytes; want %d", len(pub), ed25519.PublicKeySize)
	}
	return marshalJWK(pub, pub)
}

func marshalJWK(key any, pub ed25519.PublicKey) ([]byte, error) {
	b, err := jose.JSONWebKey{Key: key, KeyID: KeyID(pub), Algorithm: Alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sign: encode JWK: %w", err)
	}
	return append(b, '\n'), nil
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
}

// parseJWK decodes one JWK. It returns the public key and, for a private
// JWK, the private key; any other kind of key is an error wrapping [ErrKey].
func parseJWK(b []byte) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	var raw rawJWK
	if err := josejson.Unmarshal(b, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if raw.Kty != "OKP" || raw.Crv != "Ed25519" {
		return nil, nil, fmt.Errorf("%w: kty %q, crv %q; want kty \"OKP\", crv \"Ed25519\"", ErrKey, raw.Kty, raw.Crv)
	}
	if raw.Alg != "" && raw.Alg != Alg {
		return nil, nil, fmt.Errorf("%w: alg %q; want %q", ErrKey, raw.Alg, Alg)
	}
	if n, err := base64.RawURLEncoding.Strict().DecodeString(raw.X); err != nil || len(n) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("%w: \"x\" is not %d bytes of base64url", ErrKey, ed25519.PublicKeySize)
	}
	if raw.D != nil {
		if n, err := base64.RawURLEncoding.Strict().DecodeString(*raw.D); err != nil || len(n) != ed25519.SeedSize {
			return nil, nil, fmt.Errorf("%w: \"d\" is not %d bytes of base64url", ErrKey, ed25519.SeedSize)
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(b); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKey, err)
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
			return nil, nil, fmt.Errorf("%w: \"x\" is not the public key of \"d\"", ErrKey)
		}
	default:
		return nil, nil, fmt.Errorf("%w: key type %T", ErrKey, jwk.Key)
	}
	if raw.Kid != "" && raw.Kid != KeyID(pub) {
		return nil, nil, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrKey, raw.Kid, KeyID(pub))
	}
	return pub, priv, nil
}
