package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestDiff names the keys a reload added, removed and changed.
func TestDiff(t *testing.T) {
	var keys []sign.Key
	for i := range 3 {
		pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		keys = append(keys, sign.Key{Public: pub, File: "k.jwk"})
	}
	ring := func(ks ...sign.Key) *sign.Keyring {
		r, err := sign.NewKeyring(ks...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	limited := keys[1]
	limited.Valid = sign.Validity{NotAfter: time.Unix(2000000000, 0)}
	prev, next := ring(keys[0], keys[1]), ring(limited, keys[2])
	id := func(k sign.Key) string { return sign.KeyID(k.Public) }
	added, removed, changed := sign.Diff(prev, next)
	if !slices.Equal(added, []string{id(keys[2])}) || !slices.Equal(removed, []string{id(keys[0])}) || !slices.Equal(changed, []string{id(keys[1])}) {
		t.Errorf("got added %q, removed %q, changed %q; want %q, %q, %q", added, removed, changed, id(keys[2]), id(keys[0]), id(keys[1]))
	}
	if a, r, c := sign.Diff(prev, prev); len(a)+len(r)+len(c) != 0 || a == nil || r == nil || c == nil {
		t.Errorf("same ring: got %q, %q, %q; want three empty lists", a, r, c)
	}
}
