package seal_test

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// RFC 8037 Appendix A.6: ECDH-ES with X25519 (the keys of RFC 7748 §6.1).
const (
	rfcBobPub   = `{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`
	rfcBobKid   = `{"kty":"OKP","crv":"X25519","kid":"Bob","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`
	rfcEphPriv  = `{"kty":"OKP","crv":"X25519","d":"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`
	rfcSharedZ  = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
	rfcBobThumb = "giQqigT_IKcuzHl0FVJ3k5ts3_TWNAxvsC08UZsfcM8" // computed by thumbprintOf below
)

// thumbprintOf computes an RFC 7638 thumbprint the long way: encoding/json
// writes a map's members sorted, with no white space.
func thumbprintOf(t *testing.T, x string) string {
	b, err := json.Marshal(map[string]string{"kty": "OKP", "crv": "X25519", "x": x})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func writeKey(t *testing.T, dir, name, content string, mode os.FileMode) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRFC8037A6(t *testing.T) {
	dir := t.TempDir()
	set, _, err := seal.LoadMembers(writeKey(t, dir, "bob.jwk", rfcBobPub, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	bob := set.All()[0]
	if want := thumbprintOf(t, "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"); bob.ID != want || bob.ID != rfcBobThumb {
		t.Errorf("Bob's kid: got %s, want %s (RFC 7638 by encoding/json) = %s", bob.ID, want, rfcBobThumb)
	}
	if hex.EncodeToString(bob.HostID[:]) != hex.EncodeToString(mustB64(t, rfcBobThumb)[:8]) {
		t.Errorf("host id %x: want the thumbprint's first 8 bytes", bob.HostID)
	}
	// The ephemeral key of A.6 as a host key: "x" is the public key of "d",
	// and its shared secret with Bob is the RFC's Z.
	eph, err := seal.LoadHostKey(writeKey(t, dir, "eph.jwk", rfcEphPriv, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(eph.Public().Public); got != "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo" {
		t.Errorf("ephemeral public key: got %s, want the RFC's x", got)
	}
	priv, _ := ecdh.X25519().NewPrivateKey(mustB64(t, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"))
	pub, _ := ecdh.X25519().NewPublicKey(bob.Public)
	z, err := priv.ECDH(pub)
	if err != nil || hex.EncodeToString(z) != rfcSharedZ {
		t.Errorf("Z: got %x (%v), want %s", z, err, rfcSharedZ)
	}
	// A.6 names Bob's key "Bob"; a kid that is not the thumbprint is refused.
	if _, _, err := seal.LoadMembers(writeKey(t, dir, "bobkid.json", rfcBobKid, 0o644)); !errors.Is(err, seal.ErrKey) {
		t.Errorf("kid \"Bob\": got %v, want ErrKey", err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteLoadHostKey(t *testing.T) {
	dir := t.TempDir()
	k, err := seal.GenerateHostKey()
	if err != nil {
		t.Fatal(err)
	}
	valid := sign.Validity{NotBefore: time.Unix(1764000000, 0).UTC(), NotAfter: time.Unix(1795536000, 0).UTC()}
	prefix := filepath.Join(dir, "host")
	privPath, pubPath, err := seal.WriteHostKeyPair(prefix, k, valid, false)
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{privPath: 0o600, pubPath: 0o644} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: got mode %v (%v), want %v", p, fi.Mode().Perm(), err, mode)
		}
	}
	got, err := seal.LoadHostKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != k.ID() || got.HostID() != k.HostID() || got.Valid() != valid {
		t.Errorf("loaded key: got %s %x %v, want %s %x %v", got.ID(), got.HostID(), got.Valid(), k.ID(), k.HostID(), valid)
	}
	pub, _ := os.ReadFile(pubPath)
	if strings.Contains(string(pub), `"d"`) || !strings.Contains(string(pub), `"kid":"`+k.ID()+`"`) || !strings.Contains(string(pub), `"use":"enc"`) {
		t.Errorf("public file %s: want kid and use, no d", pub)
	}
	// Never overwritten without force; the files stay as they were.
	if _, _, err := seal.WriteHostKeyPair(prefix, k, valid, false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second write: got %v, want an error saying it exists", err)
	}
	k2, _ := seal.GenerateHostKey()
	if _, _, err := seal.WriteHostKeyPair(prefix, k2, sign.Validity{}, true); err != nil {
		t.Errorf("write with force: %v", err)
	}
	if got, err := seal.LoadHostKey(privPath); err != nil || got.ID() != k2.ID() {
		t.Errorf("after force: got %v, want the new key", err)
	}
	// Refused if group or others may read it.
	if err := os.Chmod(privPath, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.LoadHostKey(privPath); !errors.Is(err, seal.ErrPermissions) {
		t.Errorf("mode 0640: got %v, want ErrPermissions", err)
	}
	// A public key cannot open anything.
	if _, err := seal.LoadHostKey(pubPath); err == nil {
		t.Errorf("public key file as host key: got nil, want an error")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestParseHostKeyRejects(t *testing.T) {
	x := "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
	for name, jwk := range map[string]string{
		"Ed25519":         `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`,
		"crv case":        `{"kty":"OKP","crv":"x25519","x":"` + x + `"}`,
		"X upper case":    `{"kty":"OKP","crv":"X25519","X":"` + x + `"}`,
		"x twice":         `{"kty":"OKP","crv":"X25519","x":"` + x + `","x":"` + x + `"}`,
		"x 31 bytes":      `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTg"}`,
		"x padded":        `{"kty":"OKP","crv":"X25519","x":"` + x + `="}`,
		"x not canonical": `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmp"}`,
		"x number":        `{"kty":"OKP","crv":"X25519","x":5}`,
		"alg":             `{"kty":"OKP","crv":"X25519","x":"` + x + `","alg":"ECDH-ES"}`,
		"use sig":         `{"kty":"OKP","crv":"X25519","x":"` + x + `","use":"sig"}`,
		"wrong d":         `{"kty":"OKP","crv":"X25519","x":"` + x + `","d":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}`,
		"small order":     `{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		"exp before nbf":  `{"kty":"OKP","crv":"X25519","x":"` + x + `","nbf":20,"exp":10}`,
		"nbf fraction":    `{"kty":"OKP","crv":"X25519","x":"` + x + `","nbf":1.5}`,
		"nbf exponent":    `{"kty":"OKP","crv":"X25519","x":"` + x + `","nbf":1e3}`,
		"nbf plus":        `{"kty":"OKP","crv":"X25519","x":"` + x + `","nbf":+5}`,
		"nbf negative":    `{"kty":"OKP","crv":"X25519","x":"` + x + `","nbf":-1}`,
		"exp year 10000":  `{"kty":"OKP","crv":"X25519","x":"` + x + `","exp":253402300800}`,
		"trailing data":   `{"kty":"OKP","crv":"X25519","x":"` + x + `"} {}`,
		"not an object":   `["kty"]`,
		"keys not array":  `{"keys":{}}`,
	} {
		_, _, err := seal.LoadMembers(writeKey(t, t.TempDir(), "k.jwk", jwk, 0o644))
		var fe *seal.FileError
		if err == nil || !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want a *FileError", name, err)
			continue
		}
		if strings.Contains(err.Error(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8") {
			t.Errorf("%s: the error %q shows the private key", name, err)
		}
	}
}

func TestLoadMembersFolder(t *testing.T) {
	dir := t.TempDir()
	var ids []string
	for i := range 3 {
		k := vecHost(t, i)
		b, err := seal.MarshalPublic(k.Public(), sign.Validity{})
		if err != nil {
			t.Fatal(err)
		}
		writeKey(t, dir, "h"+string(rune('0'+i))+".pub.jwk", string(b), 0o644)
		ids = append(ids, k.ID())
	}
	// A JWK Set of host 3 and host 0 again (counted once, its end date kept).
	h3, _ := seal.MarshalPublic(vecHost(t, 3).Public(), sign.Validity{})
	h0, _ := seal.MarshalPublic(vecHost(t, 0).Public(), sign.Validity{NotAfter: time.Unix(1800000000, 0)})
	writeKey(t, dir, "set.json", `{"keys":[`+strings.TrimSpace(string(h3))+`,`+strings.TrimSpace(string(h0))+`]}`, 0o644)
	// A private key: only its public half, with a warning.
	priv, _ := seal.MarshalPrivate(vecHost(t, 3), sign.Validity{})
	writeKey(t, dir, "private.jwk", string(priv), 0o600)
	// Passed over: other names, dot files, a folder.
	writeKey(t, dir, "notes.txt", "not a key", 0o644)
	writeKey(t, dir, ".hidden.jwk", "not a key", 0o644)
	os.Mkdir(filepath.Join(dir, "sub.jwk"), 0o755)

	set, warnings, err := seal.LoadMembers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 || len(warnings) != 1 || !strings.Contains(warnings[0], "private.jwk") {
		t.Fatalf("got %d members, warnings %q; want 4 and one warning for private.jwk", set.Len(), warnings)
	}
	all := set.All()
	for i := 1; i < len(all); i++ {
		if string(all[i-1].HostID[:]) >= string(all[i].HostID[:]) {
			t.Errorf("members not sorted by host id: %x then %x", all[i-1].HostID, all[i].HostID)
		}
	}
	for _, m := range all {
		if m.ID == ids[0] && m.Valid.NotAfter.Unix() != 1800000000 {
			t.Errorf("host 0: got validity %v, want the strictest of its copies", m.Valid)
		}
	}
	if got := len(set.ValidAt(time.Unix(1900000000, 0))); got != 3 {
		t.Errorf("ValidAt after host 0's end: got %d members, want 3", got)
	}

	// A bad file: LoadMembers fails, ReloadMembers passes over it with a
	// *FileError naming it.
	bad := writeKey(t, dir, "bad.jwk", `{"kty":"OKP","crv":"X25519","x":"short"}`, 0o644)
	if _, _, err := seal.LoadMembers(dir); err == nil {
		t.Errorf("LoadMembers with a bad file: got nil, want an error")
	}
	set, _, skipped, err := seal.ReloadMembers(dir)
	if err != nil || set.Len() != 4 || len(skipped) != 1 {
		t.Fatalf("ReloadMembers: got %v members, %v skipped, %v; want 4, 1, nil", set.Len(), len(skipped), err)
	}
	var fe *seal.FileError
	if !errors.As(skipped[0], &fe) || fe.File != bad || fe.Key != -1 || !errors.Is(fe, seal.ErrKey) {
		t.Errorf("skipped: got %#v, want a *FileError for %s wrapping ErrKey", skipped[0], bad)
	}
	// In a JWK Set, the key's index.
	writeKey(t, dir, "bad.jwk", `{"keys":[`+strings.TrimSpace(string(h3))+`,{"kty":"RSA"}]}`, 0o644)
	_, _, skipped, _ = seal.ReloadMembers(dir)
	if len(skipped) != 1 || !errors.As(skipped[0], &fe) || fe.Key != 1 {
		t.Errorf("bad key 1 of a set: got %v, want a *FileError with Key 1", skipped)
	}
	if _, _, _, err := seal.ReloadMembers(filepath.Join(dir, "absent")); err == nil {
		t.Errorf("absent path: got nil, want an error")
	}
	if _, _, err := seal.LoadMembers(t.TempDir()); err == nil {
		t.Errorf("empty folder: got nil, want an error")
	}
}

// TestErrorsHideKeys checks that no error about a broken private key file
// quotes the file.
func TestErrorsHideKeys(t *testing.T) {
	const d = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"
	for _, jwk := range []string{
		`{"kty":"OKP","crv":"X25519","d":"` + d + `"x`,
		`{"kty":"OKP","crv":"X25519","d":` + d + `}`,
		`{"kty":"OKP","crv":"X25519","d":"` + d + `","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"} ` + d,
		`{"kty":"OKP","crv":"X25519","d":"` + d + `A","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`,
		`{"kty":"OKP","crv":"X25519","d":"` + d[:42] + `","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`,
	} {
		_, err := seal.LoadHostKey(writeKey(t, t.TempDir(), "h.jwk", jwk, 0o600))
		if err == nil {
			t.Errorf("%s: got nil, want an error", jwk)
			continue
		}
		for _, part := range []string{d[:8], d[8:16], d[30:38], "dwdt"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("error %q quotes the private key", err)
			}
		}
	}
}
