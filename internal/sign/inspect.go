package sign

import (
	"bytes"
	"encoding/base64"
	"fmt"

	josejson "github.com/go-jose/go-jose/v3/json"
)

// Unverified is a datagram taken apart without any check of trust or of
// its signature: what a tool shows of a datagram (ssmrandom inspect).
// Nothing in it may be trusted; whether a datagram is accepted is for
// [Keyring.Verify] alone to say.
type Unverified struct {
	// Header is the decoded protected header.
	Header []byte
	// Alg and KeyID are the header's "alg" and "kid", if the header is a
	// JSON object and they are strings; "" otherwise. Member names are
	// matched case-sensitively, as a JWS requires.
	Alg, KeyID string
	// Payload is the decoded payload.
	Payload []byte
	// Signature is the decoded signature, of any length.
	Signature []byte
}

// Inspect splits datagram into the three parts of a JWS in the Compact
// Serialization and decodes each from base64url. It is lenient where
// [Keyring.Verify] is strict (a non-canonical last character, for one), so
// that it shows what a rejected datagram holds; it refuses only a
// datagram that is not three parts, or a part that does not decode at
// all, with an error wrapping [ErrMalformed]. Its work and allocations are
// proportional to the datagram's length, which the caller bounds.
func Inspect(datagram []byte) (Unverified, error) {
	parts := bytes.Split(datagram, []byte{'.'})
	if len(parts) != 3 {
		return Unverified{}, fmt.Errorf("%w: %d dots; want 2, between three parts", ErrMalformed, len(parts)-1)
	}
	var u Unverified
	for i, p := range []struct {
		name string
		dst  *[]byte
	}{{"header", &u.Header}, {"payload", &u.Payload}, {"signature", &u.Signature}} {
		b, err := base64.RawURLEncoding.AppendDecode(nil, parts[i])
		if err != nil {
			return Unverified{}, fmt.Errorf("%w: %s part is not base64url: %v", ErrMalformed, p.name, err)
		}
		*p.dst = b
	}
	var h struct {
		Alg any `json:"alg"`
		Kid any `json:"kid"`
	}
	if josejson.Unmarshal(u.Header, &h) == nil {
		u.Alg, _ = h.Alg.(string)
		u.KeyID, _ = h.Kid.(string)
	}
	return u, nil
}

// CanonicalHeader reports whether the header is {"alg":"EdDSA","kid":KID}
// or {"alg":"EdDSA","kid":KID,"mt":MT} byte for byte, KID being u's
// KeyID, as [Signer] writes it.
func (u Unverified) CanonicalHeader() bool {
	if u.Alg != Alg {
		return false
	}
	if string(u.Header) == headerPrefix+u.KeyID+headerSuffix {
		return true
	}
	kid, _, ok := taggedKeyID(u.Header)
	return ok && string(kid) == u.KeyID
}

// MemberTag returns the header's "mt" (docs/protocol.md §10) as it is
// written, if the header is a canonical one with a member tag; "" if not.
func (u Unverified) MemberTag() string {
	if _, mt, ok := taggedKeyID(u.Header); ok && u.CanonicalHeader() {
		return string(mt)
	}
	return ""
}
