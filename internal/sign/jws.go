package sign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"

	jose "github.com/go-jose/go-jose/v3"
)

// Alg is the only JWS algorithm ssmrandom signs or accepts (RFC 8037).
const Alg = "EdDSA"

// SignatureLen is the length of the encoded signature part of a datagram:
// a 64-byte Ed25519 signature in base64url without padding.
const SignatureLen = 86

// Errors returned by [Keyring.Verify], one per reason a datagram is
// dropped. They are wrapped; test them with errors.Is.
var (
	ErrMalformed    = errors.New("sign: malformed JWS")
	ErrBadAlg       = errors.New("sign: alg is not EdDSA")
	ErrUnknownKey   = errors.New("sign: kid not in the keyring")
	ErrBadSignature = errors.New("sign: bad signature")
)

// Signer signs payloads with one Ed25519 key. Make one with [NewSigner]
// or [LoadSigner]; the zero value is not usable. A Signer is safe for
// concurrent use.
type Signer struct {
	kid    string
	priv   ed25519.PrivateKey
	signer jose.Signer
	header int // length of the encoded protected header
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: Ed25519 private key of %d bytes; want %d", len(priv), ed25519.PrivateKeySize)
	}
	kid := KeyID(priv.Public().(ed25519.PublicKey))
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.EdDSA,
		Key:       jose.JSONWebKey{Key: priv, KeyID: kid},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	header := base64.RawURLEncoding.EncodedLen(len(`{"alg":"EdDSA","kid":""}`) + len(kid))
	return &Signer{kid: kid, priv: priv, signer: s, header: header}, nil
}

// KeyID returns the key id of the signing key.
func (s *Signer) KeyID() string { return s.kid }

// Public returns the public key of the signing key.
func (s *Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// Len returns the length of the datagram that [Signer.Sign] makes of a
// payload of n bytes.
func (s *Signer) Len(n int) int {
	return s.header + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + SignatureLen
}

// Sign returns payload signed as a JWS in the Compact Serialization, with
// the protected header {"alg":"EdDSA","kid":KID}. Ed25519 is
// deterministic: the same key and payload always give the same bytes.
func (s *Signer) Sign(payload []byte) ([]byte, error) {
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return []byte(out), nil
}

// Keyring is a set of trusted public keys indexed by key id. It is not
// changed after [NewKeyring] returns it, so it is safe for concurrent use.
// The zero value is an empty keyring that trusts nothing.
type Keyring struct {
	keys map[string]Key
}

// NewKeyring returns a keyring of keys. A key given twice counts once; a
// key's ID, if empty, is computed. A public key of the wrong length or an
// ID that is not the key's thumbprint is an error.
func NewKeyring(keys ...Key) (*Keyring, error) {
	r := &Keyring{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if len(k.Public) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("sign: Ed25519 public key of %d bytes; want %d", len(k.Public), ed25519.PublicKeySize)
		}
		kid := KeyID(k.Public)
		if k.ID != "" && k.ID != kid {
			return nil, fmt.Errorf("sign: key id %q is not the key's thumbprint %q", k.ID, kid)
		}
		k.ID = kid
		if _, dup := r.keys[k.ID]; !dup {
			r.keys[k.ID] = k
		}
	}
	return r, nil
}

// Len returns the number of keys.
func (r *Keyring) Len() int { return len(r.keys) }

// Keys returns the keys sorted by id.
func (r *Keyring) Keys() []Key {
	keys := make([]Key, 0, len(r.keys))
	for _, k := range r.keys {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
	return keys
}

// Lookup returns the key with id kid.
func (r *Keyring) Lookup(kid string) (Key, bool) {
	k, ok := r.keys[kid]
	return k, ok
}

// Verify checks that datagram is a JWS in the Compact Serialization, with
// alg EdDSA, signed by a key in the keyring, and returns its payload and
// the key id. The error wraps [ErrMalformed], [ErrBadAlg], [ErrUnknownKey]
// or [ErrBadSignature].
func (r *Keyring) Verify(datagram []byte) (payload []byte, kid string, err error) {
	// go-jose also reads the JSON Serialization and forgives white space;
	// a datagram must be exactly three base64url parts.
	// It also decodes base64url loosely (unused low bits of the last
	// character are ignored), so one signed frame would have many
	// encodings: every part must be canonical base64url.
	if bytes.Count(datagram, []byte{'.'}) != 2 || !isBase64URL(datagram) {
		return nil, "", fmt.Errorf("%w: not three base64url parts", ErrMalformed)
	}
	for part := range bytes.SplitSeq(datagram, []byte{'.'}) {
		if !canonicalBase64URL(part) {
			return nil, "", fmt.Errorf("%w: a part is not canonical base64url", ErrMalformed)
		}
	}
	jws, err := jose.ParseSigned(string(datagram))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, "", fmt.Errorf("%w: %d signatures", ErrMalformed, len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != Alg {
		return nil, "", fmt.Errorf("%w: %.16q", ErrBadAlg, h.Algorithm)
	}
	key, ok := r.keys[h.KeyID]
	if !ok {
		return nil, "", fmt.Errorf("%w: %.64q", ErrUnknownKey, h.KeyID)
	}
	payload, err = jws.Verify(key.Public)
	if err != nil {
		return nil, "", fmt.Errorf("%w: kid %s", ErrBadSignature, key.ID)
	}
	return payload, key.ID, nil
}

// canonicalBase64URL reports whether b, known to hold only base64url
// characters, is the one unpadded encoding of some bytes: its length is
// not 1 more than a multiple of 4 and its last character's unused low
// bits are zero (RFC 4648, section 3.5).
func canonicalBase64URL(b []byte) bool {
	var unused byte
	switch len(b) % 4 {
	case 0:
		return true
	case 1:
		return false
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	}
	return base64URLValue(b[len(b)-1])&unused == 0
}

// base64URLValue returns the 6-bit value of a base64url character.
func base64URLValue(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63 // '_'
}

// isBase64URL reports whether b holds only base64url characters and dots.
func isBase64URL(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
