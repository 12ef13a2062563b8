package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseJWK checks that parseJWK never panics, that its errors wrap
// ErrKey, and that a key it accepts is written back by MarshalPublic as a
// JWK that parses to the same key.
func FuzzParseJWK(f *testing.F) {
	for _, s := range []string{
		`{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`,
		`{"kty":"OKP","crv":"X25519","d":"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`,
		`{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","kid":"giQqigT_IKcuzHl0FVJ3k5ts3_TWNAxvsC08UZsfcM8","use":"enc","nbf":1764000000,"exp":1795536000}`,
		`{"keys":[]}`, `{"kty":"OKP","crv":"X25519","x":5}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, k, err := parseJWK(in)
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("got error %v, want one wrapping ErrKey", err)
			}
			return
		}
		if k != nil && !bytes.Equal(k.pub.Public, m.Public) {
			t.Fatalf("private key's public half differs from the member")
		}
		b, err := MarshalPublic(m, m.Valid)
		if err != nil {
			t.Fatalf("MarshalPublic of an accepted key: %v", err)
		}
		m2, _, err := parseJWK(b)
		if err != nil || m2.ID != m.ID || m2.Valid != m.Valid {
			t.Fatalf("round trip: got %v %v, want %s %v", m2.ID, err, m.ID, m.Valid)
		}
	})
}
