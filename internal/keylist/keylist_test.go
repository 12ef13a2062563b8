package keylist_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/keylist"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
)

func TestState(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, c := range []struct {
		v    sign.Validity
		want string
	}{
		{sign.Validity{}, keylist.Valid},
		{sign.Validity{NotAfter: now}, keylist.Expired},
		{sign.Validity{NotBefore: now.Add(time.Second)}, keylist.NotYet},
		{sign.Validity{NotBefore: now, NotAfter: now.Add(time.Second)}, keylist.Valid},
	} {
		if got := keylist.State(c.v, now); got != c.want {
			t.Errorf("State(%v): got %q, want %q", c.v, got, c.want)
		}
	}
}

// TestTrustText lists a trusted key, one only the receiver knows, with
// their last frames, and a skipped file.
func TestTrustText(t *testing.T) {
	now := time.Unix(1700000000, 0)
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	ring, err := sign.NewKeyring(sign.Key{Public: pub, File: "k.pub.jwk", Valid: sign.Validity{NotAfter: now.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	kid := sign.KeyID(pub)
	last := map[string]time.Time{kid: now.Add(-3 * time.Second), "gone": now.Add(-49 * time.Hour)}
	l := keylist.NewTrust("trust", ring, []error{errors.New("trust/bad.jwk: not JSON")}, nil, "http://127.0.0.1:9641/metrics", last, now)
	var b bytes.Buffer
	if err := l.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"KID|STATE|NOT BEFORE|NOT AFTER|FILE|LAST FRAME|AGE",
		kid + "|valid|-|2023-11-14T23:13:20Z|k.pub.jwk|2023-11-14T22:13:17Z|3s ago",
		"gone|not trusted|-|-|-|2023-11-12T21:13:20Z|2d1h ago",
		"skipped: trust/bad.jwk: not JSON",
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i := range got {
		got[i] = regexp.MustCompile(` {2,}`).ReplaceAllString(strings.TrimRight(got[i], " "), "|")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMembersJSON lists a host key: its id and host id, never the key.
func TestMembersJSON(t *testing.T) {
	k, err := seal.NewHostKey(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	set, err := seal.NewMembers(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	l := keylist.NewMembers("hosts", set, nil, nil, time.Now())
	var b bytes.Buffer
	if err := l.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"members": "hosts"`, `"kid": "` + k.ID() + `"`, `"state": "valid"`, `"skipped": []`, `"warnings": []`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the JSON lacks %s:\n%s", want, b.String())
		}
	}
}
