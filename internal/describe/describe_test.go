package describe_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/describe"
	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestDatagram checks what a Report says of a good frame, with and
// without the key, and of a frame whose signature does not verify: the
// verdict and the words are the receive pipeline's.
func TestDatagram(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public(), File: "k.jwk"})
	if err != nil {
		t.Fatal(err)
	}
	made := time.UnixMilli(1764000012345)
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: made.UnixMilli(), Data: []byte("0123456789abcdef")}
	good, err := s.Sign(f.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	now := made.Add(time.Hour) // stale by now: inspect judges as of the frame's time
	rep := describe.Datagram(good, ring, now, 65507)
	if rep.Kind != describe.KindJWS || rep.Verified == nil || !*rep.Verified || rep.KeyID != s.KeyID() || rep.KeyFile != "k.jwk" ||
		rep.Frame == nil || *rep.Frame.Seq != 7 || !rep.Made.Equal(made) || rep.Header != "" {
		t.Errorf("good frame: got %+v, want a verified jws of seq 7 by %s", rep, s.KeyID())
	}
	if rep := describe.Datagram(good, nil, now, 65507); rep.Verified != nil || rep.Trusted != nil || rep.Error != "" {
		t.Errorf("good frame, no keyring: got verified %v, trusted %v, error %q; want none checked, no error", rep.Verified, rep.Trusted, rep.Error)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-2] ^= 'A' ^ 'B'
	rep = describe.Datagram(bad, ring, now, 65507)
	if rep.Verified == nil || *rep.Verified || rep.Reason != "bad_signature" || !strings.Contains(rep.Error, "kid "+s.KeyID()) {
		t.Errorf("bad signature: got verified %v, reason %q, error %q; want bad_signature naming the kid", rep.Verified, rep.Reason, rep.Error)
	}
}

// TestTagged checks that a Report names the seed round of a member tag
// (docs/protocol.md §10), and that the tag changes nothing else: the
// header is canonical and the frame verifies with the key alone.
func TestTagged(t *testing.T) {
	s, err := sign.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public(), File: "k.jwk"})
	if err != nil {
		t.Fatal(err)
	}
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: []byte("0123456789abcdef")}
	var secret [membertag.KeySize]byte
	tagged := s.AppendTagged(nil, f.Append(nil), membertag.NewKey(&secret, f.Epoch, 5))
	rep := describe.Datagram(tagged, ring, time.UnixMilli(f.Time), 65507)
	if rep.TagRound == nil || *rep.TagRound != 5 || rep.Header != "" || rep.Verified == nil || !*rep.Verified {
		t.Errorf("tagged frame: got tag round %v, header %q, verified %v; want round 5, the canonical header, verified", rep.TagRound, rep.Header, rep.Verified)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := "\nmt:        member tag of seed round 5 (only a member can check it)\n"; !strings.Contains(text.String(), want) {
		t.Errorf("text: got\n%s\nwant a line %q", text.String(), want[1:])
	}
	untagged := describe.Datagram(s.Append(nil, f.Append(nil)), ring, time.UnixMilli(f.Time), 65507)
	text.Reset()
	if err := untagged.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if untagged.TagRound != nil || strings.Contains(text.String(), "mt:") {
		t.Errorf("untagged frame: got tag round %v, text\n%s\nwant no tag", untagged.TagRound, text.String())
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"EdDSA":                  "EdDSA",
		"":                       `""`,
		"a\x1b[2J":               `"a\x1b[2J"`,
		strings.Repeat("x", 201): `"` + strings.Repeat("x", 200) + `"...`,
	} {
		if got := describe.Quote(in); got != want {
			t.Errorf("Quote(%q): got %s, want %s", in, got, want)
		}
	}
}
