package seal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nordunet/ssmrandom/internal/keyfile"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// ErrKey reports a JWK that is not a usable X25519 host key.
//
// Its text has no "seal:" prefix because it always stands after the name
// of the file that holds the key: "seal: keys/h.jwk: not an X25519 JWK: ...".
var ErrKey = errors.New("not an X25519 JWK")

// KeySize is the length of an X25519 public or private key.
const KeySize = 32

// kem is the KEM of [seedwire.SuiteX25519].
var kem = hpke.DHKEM(ecdh.X25519())

// KeyID returns the key id of an X25519 public key: its RFC 7638 JWK
// thumbprint with SHA-256, base64url without padding.
func KeyID(pub []byte) string {
	sum := thumbprint(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of pub: the hash of
// the required members in lexicographic order, no white space.
func thumbprint(pub []byte) [seedwire.ThumbprintSize]byte {
	return sha256.Sum256([]byte(`{"crv":"X25519","kty":"OKP","x":"` +
		base64.RawURLEncoding.EncodeToString(pub) + `"}`))
}

// hostID is the first [seedwire.HostIDSize] bytes of a thumbprint.
func hostID(t [seedwire.ThumbprintSize]byte) seedwire.HostID {
	return seedwire.HostID(t[:seedwire.HostIDSize])
}

// HostKey is a host's X25519 key pair, with which it opens its entries.
// Make one with [GenerateHostKey], [NewHostKey] or [LoadHostKey]. It is
// safe for concurrent use.
type HostKey struct {
	priv  *ecdh.PrivateKey
	hpke  hpke.PrivateKey
	pub   Member
	valid sign.Validity
}

// GenerateHostKey returns a new random host key.
func GenerateHostKey() (*HostKey, error) {
	priv, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("seal: generate host key: %w", err)
	}
	return NewHostKey(priv.Bytes())
}

// NewHostKey returns the host key whose X25519 private key is the 32
// bytes priv.
func NewHostKey(priv []byte) (*HostKey, error) {
	p, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: private key of %d bytes; want %d", ErrKey, len(priv), KeySize)
	}
	hp, err := hpke.NewDHKEMPrivateKey(p)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: %v", ErrKey, err)
	}
	m, err := NewMember(p.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return &HostKey{priv: p, hpke: hp, pub: m}, nil
}

// ID returns the key id: the RFC 7638 thumbprint of the public key.
func (k *HostKey) ID() string { return k.pub.ID }

// HostID returns the host id under which producers seal to this key.
func (k *HostKey) HostID() seedwire.HostID { return k.pub.HostID }

// Public returns the public half of k, as a producer holds it.
func (k *HostKey) Public() Member { return k.pub }

// Valid returns the key's validity period, as its JWK file gives it.
func (k *HostKey) Valid() sign.Validity { return k.valid }

// Member is one host's public key, as a producer holds it in its member
// set.
type Member struct {
	// ID is the key id, the RFC 7638 SHA-256 thumbprint, base64url.
	ID string
	// HostID is the host id: the first bytes of the thumbprint.
	HostID seedwire.HostID
	// Public is the X25519 public key.
	Public []byte
	// File is the file the key was loaded from, or "".
	File string
	// Valid is the period in which the producer seals to the key: the
	// JWK members "nbf" and "exp", as for producer keys
	// (docs/protocol.md §2.1).
	Valid sign.Validity

	thumb [seedwire.ThumbprintSize]byte
	hpke  hpke.PublicKey
}

// lowOrderCheck is a fixed X25519 scalar: a public key whose product with
// it is the all-zero value is of small order and is refused.
var lowOrderCheck, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5a}, KeySize))

// NewMember returns the member whose X25519 public key is pub. A public
// key of small order, with which every shared secret is zero, is refused.
func NewMember(pub []byte) (Member, error) {
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return Member{}, fmt.Errorf("seal: %w: public key of %d bytes; want %d", ErrKey, len(pub), KeySize)
	}
	if _, err := lowOrderCheck.ECDH(p); err != nil {
		return Member{}, fmt.Errorf("seal: %w: public key of small order", ErrKey)
	}
	hp, err := kem.NewPublicKey(pub)
	if err != nil {
		return Member{}, fmt.Errorf("seal: %w: %v", ErrKey, err)
	}
	t := thumbprint(pub)
	return Member{
		ID:     base64.RawURLEncoding.EncodeToString(t[:]),
		HostID: hostID(t),
		Public: bytes.Clone(pub),
		thumb:  t,
		hpke:   hp,
	}, nil
}

// MarshalPrivate returns k as a private JWK with its kid and the validity
// period v, one line of JSON followed by a newline.
func MarshalPrivate(k *HostKey, v sign.Validity) ([]byte, error) {
	return marshalJWK(k.pub.Public, k.priv.Bytes(), v)
}

// MarshalPublic returns m as a public JWK with its kid and the validity
// period v, one line of JSON followed by a newline.
func MarshalPublic(m Member, v sign.Validity) ([]byte, error) {
	return marshalJWK(m.Public, nil, v)
}

func marshalJWK(pub, priv []byte, v sign.Validity) ([]byte, error) {
	if err := checkValidity(v); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	b := []byte(`{"kty":"OKP","crv":"X25519","x":"` + enc(pub) + `"`)
	if priv != nil {
		b = append(b, `,"d":"`+enc(priv)+`"`...)
	}
	b = append(b, `,"kid":"`+KeyID(pub)+`","use":"enc"`...)
	if !v.NotBefore.IsZero() {
		b = append(b, `,"nbf":`+strconv.FormatInt(v.NotBefore.Unix(), 10)...)
	}
	if !v.NotAfter.IsZero() {
		b = append(b, `,"exp":`+strconv.FormatInt(v.NotAfter.Unix(), 10)...)
	}
	return append(b, "}\n"...), nil
}

// checkValidity reports a period a JWK cannot hold, as sign.Validity.Check
// does, with an error that wraps [ErrKey].
func checkValidity(v sign.Validity) error {
	if err := keyfile.CheckPeriod(v.NotBefore, v.NotAfter); err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	return nil
}

// parseJWK decodes one X25519 JWK (RFC 8037 §2): "kty" "OKP", "crv"
// "X25519", "x" and, in a private key, "d", each exactly 32 bytes of
// canonical base64url; "kid", if present, the thumbprint; "use", if
// present, "enc"; no "alg" (a host key is for docs/protocol.md §9 only);
// "nbf" and "exp" as for producer keys. Member names are case-sensitive and
// each may appear once. It returns the member and, for a private JWK, the
// host key. Errors wrap [ErrKey] and hold no key material.
func parseJWK(b []byte) (Member, *HostKey, error) {
	m, err := keyfile.Members(b)
	if err != nil {
		return Member{}, nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	str := func(name string) (string, bool, error) {
		raw, ok := m[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return "", false, fmt.Errorf("%w: %q is not a string", ErrKey, name)
		}
		return s, true, nil
	}
	get := func(name string) string {
		s, _, e := str(name)
		if e != nil && err == nil {
			err = e
		}
		return s
	}
	kty, crv, x, kid, use := get("kty"), get("crv"), get("x"), get("kid"), get("use")
	d, hasD, e := str("d")
	if err == nil {
		err = e
	}
	if err != nil {
		return Member{}, nil, err
	}
	if kty != "OKP" || crv != "X25519" {
		return Member{}, nil, fmt.Errorf("%w: kty %q, crv %q; want kty \"OKP\", crv \"X25519\"", ErrKey, kty, crv)
	}
	if _, ok := m["alg"]; ok {
		return Member{}, nil, fmt.Errorf("%w: has \"alg\"; a host key has none", ErrKey)
	}
	if err := keyfile.Only(m, jwkMembers); err != nil {
		return Member{}, nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if _, ok := m["use"]; ok && use != "enc" {
		return Member{}, nil, fmt.Errorf("%w: use %q; want \"enc\"", ErrKey, use)
	}
	pub, err := base64.RawURLEncoding.Strict().DecodeString(x)
	if err != nil || len(pub) != KeySize {
		return Member{}, nil, fmt.Errorf("%w: \"x\" is not %d bytes of base64url", ErrKey, KeySize)
	}
	v, err := jwkValidity(m)
	if err != nil {
		return Member{}, nil, err
	}
	var key *HostKey
	var mem Member
	if hasD {
		priv, err := base64.RawURLEncoding.Strict().DecodeString(d)
		if err != nil || len(priv) != KeySize {
			return Member{}, nil, fmt.Errorf("%w: \"d\" is not %d bytes of base64url", ErrKey, KeySize)
		}
		if key, err = NewHostKey(priv); err != nil {
			return Member{}, nil, fmt.Errorf("%w: \"d\" is not a usable key", ErrKey)
		}
		if !bytes.Equal(key.pub.Public, pub) {
			return Member{}, nil, fmt.Errorf("%w: \"x\" is not the public key of \"d\"", ErrKey)
		}
		key.valid = v
		key.pub.Valid = v
		mem = key.pub
	} else if mem, err = NewMember(pub); err != nil {
		return Member{}, nil, fmt.Errorf("%w: \"x\" is of small order", ErrKey)
	}
	if _, ok := m["kid"]; ok && kid != mem.ID {
		return Member{}, nil, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrKey, kid, mem.ID)
	}
	mem.Valid = v
	return mem, key, nil
}

// jwkMembers are the members a host JWK may have: those of a producer
// key but "alg". Names are case-sensitive.
var jwkMembers = []string{"kty", "crv", "x", "d", "kid", "use", "nbf", "exp"}

// jwkValidity reads "nbf" and "exp": JSON integers (no fraction, no
// exponent) from 0 to [keyfile.MaxNumericDate], "exp" after "nbf".
func jwkValidity(m map[string]json.RawMessage) (sign.Validity, error) {
	var v sign.Validity
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"nbf", &v.NotBefore}, {"exp", &v.NotAfter}} {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || !keyfile.Digits(raw) || n > keyfile.MaxNumericDate || (len(raw) > 1 && raw[0] == '0') {
			return sign.Validity{}, fmt.Errorf("%w: %q is not a NumericDate from 1970 to 9999", ErrKey, f.name)
		}
		*f.t = time.Unix(n, 0).UTC()
	}
	return v, checkValidity(v)
}
