package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/sign"
)

func memberKey(round uint64) *membertag.Key {
	var s [membertag.KeySize]byte
	copy(s[:], "a member key of thirty-two bytes")
	return membertag.NewKey(&s, 1764000000000, round)
}

func tagFrame(t testing.TB) []byte {
	t.Helper()
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: bytes.Repeat([]byte{0xa5}, 512)}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	return f.Append(nil)
}

// TestAppendTaggedMatchesGoJose holds a tagged datagram to the one go-jose
// makes with "mt" as an extra protected header member, byte for byte, and
// has go-jose verify it: a JOSE library reads a tagged datagram as it
// reads any other.
func TestAppendTaggedMatchesGoJose(t *testing.T) {
	priv := testKey(3)
	s := mustSigner(t, priv)
	k := memberKey(5)
	payload := tagFrame(t)
	got := s.AppendTagged([]byte("prefix"), payload, k)
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("got %.20q, want the prefix kept", got)
	}
	got = got[len("prefix"):]
	if len(got) != s.TaggedLen(len(payload)) || len(got) != sign.TaggedDatagramLen(len(payload)) {
		t.Fatalf("got %d bytes, want TaggedLen %d", len(got), s.TaggedLen(len(payload)))
	}
	part := bytes.Split(got, []byte{'.'})[1]
	mt := base64.RawURLEncoding.EncodeToString(k.Append(nil, s.KeyID(), part))
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: s.KeyID()}},
		(&jose.SignerOptions{}).WithHeader("mt", mt))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	want, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got\n%.200s\nwant (go-jose)\n%.200s", got, want)
	}
	parsed, err := jose.ParseSigned(string(got))
	if err != nil {
		t.Fatal(err)
	}
	out, err := parsed.Verify(priv.Public().(ed25519.PublicKey))
	if err != nil || !bytes.Equal(out, payload) {
		t.Fatalf("go-jose Verify: got %v, want the payload", err)
	}
	if s.AppendTagged(nil, payload, nil) == nil || !bytes.Equal(s.AppendTagged(nil, payload, nil), s.Append(nil, payload)) {
		t.Fatal("AppendTagged with no key: want Append's datagram")
	}
}

func TestCheckTag(t *testing.T) {
	priv := testKey(3)
	s := mustSigner(t, priv)
	ring, err := sign.NewKeyring(sign.Key{Public: priv.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	k := memberKey(5)
	payload := tagFrame(t)
	d := s.AppendTagged(nil, payload, k)
	m, v := ring.Check(d)
	if v.Err() != nil {
		t.Fatal(v.Explain())
	}
	mt, ok := m.MemberTag()
	if !ok || membertag.RoundOf(mt) != 5 {
		t.Fatalf("MemberTag: got %x %v, want round 5", mt, ok)
	}
	if !m.CheckTag(k) {
		t.Fatal("CheckTag refused the producer's tag")
	}
	if m.CheckTag(memberKey(6)) {
		t.Fatal("CheckTag accepted a tag of another round")
	}
	if err := m.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// An untagged datagram has no tag, and no key accepts it.
	m, _ = ring.Check(s.Append(nil, payload))
	if _, ok := m.MemberTag(); ok || m.CheckTag(k) {
		t.Fatal("untagged datagram: got a tag")
	}
	// A tag made for another payload fails the tag check; the header is
	// signed, so swapping in a good tag breaks the signature.
	other := s.AppendTagged(nil, bytes.Replace(payload, []byte(`"n":7`), []byte(`"n":8`), 1), k)
	hdr := func(d []byte) []byte { return d[:bytes.IndexByte(d, '.')] }
	forged := append(append([]byte{}, hdr(other)...), d[len(hdr(d)):]...)
	m, v = ring.Check(forged)
	if v.Err() != nil {
		t.Fatal(v.Explain())
	}
	if m.CheckTag(k) {
		t.Fatal("CheckTag accepted a tag made over another payload")
	}
	if !errors.Is(m.Verify(), sign.ErrBadSignature) {
		t.Fatal("Verify accepted a swapped header")
	}
}

// TestTaggedHeaderRefusals: one way to get the tagged header wrong per
// case, each refused as malformed before any signature work, with words
// that say what is wrong.
func TestTaggedHeaderRefusals(t *testing.T) {
	priv := testKey(3)
	s := mustSigner(t, priv)
	ring, err := sign.NewKeyring(sign.Key{Public: priv.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	kid := s.KeyID()
	mt := strings.Repeat("A", 32)
	body := ".eyJ2IjoiMi4wIn0." + strings.Repeat("A", 86)
	for _, c := range []struct{ header, why string }{
		{`{"alg":"EdDSA","kid":"` + kid + `","mt":"` + mt[:31] + `"}`, `"mt" is not 32 base64url characters`},
		{`{"alg":"EdDSA","kid":"` + kid + `","mt":"` + mt + `A"}`, `"mt" is not 32 base64url characters`},
		{`{"alg":"EdDSA","kid":"` + kid + `","mt":"` + mt[:31] + `="}`, `"mt" is not 32 base64url characters`},
		{`{"alg":"EdDSA","kid":"` + kid + `","mt":12}`, `"mt" is not 32 base64url characters`},
		{`{"alg":"EdDSA","mt":"` + mt + `","kid":"` + kid + `"}`, `"mt":MT} byte for byte`},
		{`{"alg":"EdDSA","kid":"` + kid + `", "mt":"` + mt + `"}`, `"mt":MT} byte for byte`},
		{`{"alg":"EdDSA","kid":"` + kid + `","mt":"` + mt + `","mt":"` + mt + `"}`, `"mt" given twice`},
		{`{"alg":"EdDSA","kid":"` + kid + `","mac":"` + mt + `"}`, `"mac" not allowed`},
	} {
		d := base64.RawURLEncoding.EncodeToString([]byte(c.header)) + body
		_, v := ring.Check([]byte(d))
		if !errors.Is(v.Err(), sign.ErrMalformed) || !strings.Contains(v.Explain().Error(), c.why) {
			t.Errorf("%s: got %v, want malformed: %s", c.header, v.Explain(), c.why)
		}
	}
}

func TestAppendTaggedAllocs(t *testing.T) {
	s := mustSigner(t, testKey(1))
	k := memberKey(1)
	p := tagFrame(t)
	dst := make([]byte, 0, s.TaggedLen(len(p)))
	if got := testing.AllocsPerRun(100, func() { dst = s.AppendTagged(dst[:0], p, k) }); got != 0 {
		t.Errorf("got %v allocations, want 0", got)
	}
}

func TestInspectTagged(t *testing.T) {
	s := mustSigner(t, testKey(1))
	d := s.AppendTagged(nil, tagFrame(t), memberKey(1))
	u, err := sign.Inspect(d)
	if err != nil {
		t.Fatal(err)
	}
	if !u.CanonicalHeader() || len(u.MemberTag()) != 32 {
		t.Fatalf("got canonical %v, tag %q; want a canonical header with a 32-character tag", u.CanonicalHeader(), u.MemberTag())
	}
}
