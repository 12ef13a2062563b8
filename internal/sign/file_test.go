package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// checkNoTemp fails if dir holds anything but the names in want.
func checkNoTemp(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := listDir(t, dir)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files in the folder: got %q, want %q (no temporary files)", got, want)
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// TestWriteKeyPairModes is not parallel: it changes the process umask.
func TestWriteKeyPairModes(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077} {
		old := syscall.Umask(umask)
		dir := t.TempDir()
		privPath, pubPath, err := sign.WriteKeyPair(filepath.Join(dir, "producer"), testKey(1), sign.Validity{}, false)
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %04o: WriteKeyPair: got error %v, want nil", umask, err)
		}
		if want := filepath.Join(dir, "producer.jwk"); privPath != want {
			t.Errorf("private key path: got %s, want %s", privPath, want)
		}
		if want := filepath.Join(dir, "producer.pub.jwk"); pubPath != want {
			t.Errorf("public key path: got %s, want %s", pubPath, want)
		}
		if got := fileMode(t, privPath); got != 0o600 {
			t.Errorf("umask %04o: private key mode: got %v, want -rw-------", umask, got)
		}
		if got := fileMode(t, pubPath); got != 0o644 {
			t.Errorf("umask %04o: public key mode: got %v, want -rw-r--r--", umask, got)
		}
		checkNoTemp(t, dir, "producer.jwk", "producer.pub.jwk")

		if b, _ := os.ReadFile(privPath); !bytes.Equal(b, mustMarshalPrivate(t, testKey(1))) {
			t.Errorf("private key file: got %s, want MarshalPrivate's output", b)
		}
		if b, _ := os.ReadFile(pubPath); !bytes.Equal(b, mustMarshalPublic(t, testKey(1).Public().(ed25519.PublicKey))) {
			t.Errorf("public key file: got %s, want MarshalPublic's output", b)
		}
		s, err := sign.LoadSigner(privPath)
		if err != nil {
			t.Fatalf("LoadSigner(written key): got error %v, want nil", err)
		}
		ring, _, err := sign.LoadTrust(pubPath)
		if err != nil {
			t.Fatalf("LoadTrust(written key): got error %v, want nil", err)
		}
		if _, ok := ring.Lookup(s.KeyID()); !ok || ring.Len() != 1 {
			t.Errorf("LoadTrust(written public key): got %v, want the one key %s", ring.Keys(), s.KeyID())
		}
	}
}

func TestWriteKeyPairNoOverwrite(t *testing.T) {
	for _, existing := range []string{"producer.jwk", "producer.pub.jwk"} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, existing, []byte("old\n"), 0o600)
			prefix := filepath.Join(dir, "producer")
			if _, _, err := sign.WriteKeyPair(prefix, testKey(1), sign.Validity{}, false); err == nil {
				t.Fatalf("WriteKeyPair over an existing %s: got nil error, want a refusal", existing)
			}
			// Neither file written, the old one unchanged, nothing left over.
			checkNoTemp(t, dir, existing)
			if b, _ := os.ReadFile(filepath.Join(dir, existing)); string(b) != "old\n" {
				t.Errorf("%s after the refusal: got %q, want %q", existing, b, "old\n")
			}

			// With force both are replaced.
			privPath, pubPath, err := sign.WriteKeyPair(prefix, testKey(1), sign.Validity{}, true)
			if err != nil {
				t.Fatalf("WriteKeyPair with force: got error %v, want nil", err)
			}
			checkNoTemp(t, dir, "producer.jwk", "producer.pub.jwk")
			if b, _ := os.ReadFile(privPath); !bytes.Equal(b, mustMarshalPrivate(t, testKey(1))) {
				t.Errorf("private key after force: got %q, want the new key", b)
			}
			if b, _ := os.ReadFile(pubPath); !bytes.Equal(b, mustMarshalPublic(t, testKey(1).Public().(ed25519.PublicKey))) {
				t.Errorf("public key after force: got %q, want the new key", b)
			}
			if got := fileMode(t, privPath); got != 0o600 {
				t.Errorf("private key mode after force: got %v, want -rw-------", got)
			}
			if got := fileMode(t, pubPath); got != 0o644 {
				t.Errorf("public key mode after force: got %v, want -rw-r--r--", got)
			}
		})
	}
}

// TestWriteKeyPairWrongLength: a private key of the wrong size is refused
// before anything is written (see TestMarshalWrongLength).
func TestWriteKeyPairWrongLength(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := sign.WriteKeyPair(filepath.Join(dir, "short"), testKey(1)[:32], sign.Validity{}, false); err == nil {
		t.Error("WriteKeyPair of a 32-byte private key (a bare seed): got nil error, want an error")
	}
	checkNoTemp(t, dir)
}

func TestWriteKeyPairDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "producer.jwk")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, _, err := sign.WriteKeyPair(filepath.Join(dir, "producer"), testKey(1), sign.Validity{}, false); err == nil {
		t.Fatal("WriteKeyPair over a dangling symlink: got nil error, want a refusal")
	}
	checkNoTemp(t, dir, "producer.jwk")
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("WriteKeyPair wrote through a dangling symlink")
	}
}

func TestWriteKeyPairFailure(t *testing.T) {
	// With force, a public key path that is a folder makes the second
	// write fail: the private key just written is removed again and no
	// temporary file stays.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "producer.pub.jwk"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "producer.pub.jwk"), "x", []byte("x"), 0o644)
	if _, _, err := sign.WriteKeyPair(filepath.Join(dir, "producer"), testKey(1), sign.Validity{}, true); err == nil {
		t.Fatal("WriteKeyPair onto a folder: got nil error, want an error")
	}
	checkNoTemp(t, dir, "producer.pub.jwk")

	// A missing folder.
	if _, _, err := sign.WriteKeyPair(filepath.Join(dir, "missing", "producer"), testKey(1), sign.Validity{}, false); err == nil {
		t.Error("WriteKeyPair into a missing folder: got nil error, want an error")
	}
	checkNoTemp(t, dir, "producer.pub.jwk")
}

// jwk builds a JWK from members given as "name", value pairs; a value of
// nil leaves the member out.
func jwkText(members map[string]any) []byte {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"kty", "crv", "x", "d", "kid", "alg", "use", "keys"} {
		v, ok := members[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + k + `":`)
		switch v := v.(type) {
		case string:
			b.WriteString(`"` + v + `"`)
		case []byte:
			b.Write(v)
		}
	}
	b.WriteString("}")
	return []byte(b.String())
}

func privMembers(priv ed25519.PrivateKey) map[string]any {
	pub := priv.Public().(ed25519.PublicKey)
	return map[string]any{
		"kty": "OKP", "crv": "Ed25519", "x": b64u(pub), "d": b64u(priv.Seed()),
		"kid": sign.KeyID(pub), "alg": "EdDSA", "use": "sig",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestLoadSigner(t *testing.T) {
	priv := testKey(3)
	base := privMembers(priv)
	dir := t.TempDir()

	ok := writeFile(t, dir, "ok.jwk", jwkText(base), 0o600)
	s, err := sign.LoadSigner(ok)
	if err != nil {
		t.Fatalf("LoadSigner: got error %v, want nil", err)
	}
	if want := sign.KeyID(priv.Public().(ed25519.PublicKey)); s.KeyID() != want {
		t.Errorf("LoadSigner: got kid %s, want %s", s.KeyID(), want)
	}
	// The optional members may be left out.
	minimal := writeFile(t, dir, "minimal.jwk", jwkText(with(base, "kid", nil, "alg", nil, "use", nil)), 0o400)
	if _, err := sign.LoadSigner(minimal); err != nil {
		t.Errorf("LoadSigner(kty, crv, x, d only, mode 0400): got error %v, want nil", err)
	}

	other := testKey(4)
	tests := []struct {
		name string
		b    []byte
		perm os.FileMode
		want error // nil: any error
	}{
		{"group-readable 0640", jwkText(base), 0o640, sign.ErrPermissions},
		{"other-readable 0604", jwkText(base), 0o604, sign.ErrPermissions},
		{"group-writable 0620", jwkText(base), 0o620, sign.ErrPermissions},
		{"0644", jwkText(base), 0o644, sign.ErrPermissions},
		{"public key", mustMarshalPublic(t, priv.Public().(ed25519.PublicKey)), 0o600, sign.ErrKey},
		{"malformed JSON", []byte(`{"kty":"OKP",`), 0o600, sign.ErrKey},
		{"empty file", nil, 0o600, sign.ErrKey},
		{"JSON array", []byte(`[]`), 0o600, sign.ErrKey},
		{"kty RSA", jwkText(with(base, "kty", "RSA")), 0o600, sign.ErrKey},
		{"kty EC", jwkText(with(base, "kty", "EC", "crv", "P-256")), 0o600, sign.ErrKey},
		{"crv X25519", jwkText(with(base, "crv", "X25519")), 0o600, sign.ErrKey},
		{"crv Ed448", jwkText(with(base, "crv", "Ed448")), 0o600, sign.ErrKey},
		{"no x", jwkText(with(base, "x", nil)), 0o600, sign.ErrKey},
		{"x too short", jwkText(with(base, "x", b64u(priv.Public().(ed25519.PublicKey)[:31]))), 0o600, sign.ErrKey},
		{"x too long", jwkText(with(base, "x", b64u(append(bytes.Clone(priv.Public().(ed25519.PublicKey)), 0)))), 0o600, sign.ErrKey},
		{"x padded", jwkText(with(base, "x", b64u(priv.Public().(ed25519.PublicKey))+"=")), 0o600, sign.ErrKey},
		{"x in standard base64", jwkText(with(base, "x", "+/"+b64u(priv.Public().(ed25519.PublicKey))[2:])), 0o600, sign.ErrKey},
		{"d too short", jwkText(with(base, "d", b64u(priv.Seed()[:31]))), 0o600, sign.ErrKey},
		{"d too long", jwkText(with(base, "d", b64u(priv))), 0o600, sign.ErrKey},
		{"d empty", jwkText(with(base, "d", "")), 0o600, sign.ErrKey},
		{"d of another key", jwkText(with(base, "d", b64u(other.Seed()))), 0o600, sign.ErrKey},
		{"kid of another key", jwkText(with(base, "kid", sign.KeyID(other.Public().(ed25519.PublicKey)))), 0o600, sign.ErrKey},
		{"kid not a thumbprint", jwkText(with(base, "kid", "producer-2025")), 0o600, sign.ErrKey},
		{"alg ES256", jwkText(with(base, "alg", "ES256")), 0o600, sign.ErrKey},
		{"alg none", jwkText(with(base, "alg", "none")), 0o600, sign.ErrKey},
		{"JWK Set", []byte(`{"keys":[` + string(jwkText(base)) + `]}`), 0o600, sign.ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "key.jwk", tt.b, tt.perm)
			s, err := sign.LoadSigner(p)
			if err == nil {
				t.Fatalf("LoadSigner(%s): got a signer for %s, want an error", tt.b, s.KeyID())
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("LoadSigner(%s): got error %v, want errors.Is %v", tt.b, err, tt.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("LoadSigner: got error %q, want it to name the file %s", err, p)
			}
			if strings.Contains(err.Error(), b64u(priv.Seed())) {
				t.Errorf("LoadSigner: got error %q that shows the private key", err)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := sign.LoadSigner(filepath.Join(dir, "missing.jwk"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadSigner(missing file): got error %v, want errors.Is os.ErrNotExist", err)
		}
	})
	t.Run("folder", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "key.jwk")
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := sign.LoadSigner(d); err == nil {
			t.Error("LoadSigner(folder): got nil error, want an error")
		}
	})
	t.Run("over MaxKeyFile", func(t *testing.T) {
		b := append(jwkText(base), bytes.Repeat([]byte(" "), sign.MaxKeyFile)...)
		p := writeFile(t, t.TempDir(), "key.jwk", b, 0o600)
		_, err := sign.LoadSigner(p)
		if err == nil || !strings.Contains(err.Error(), "over") {
			t.Errorf("LoadSigner(%d-byte file): got error %v, want one about the size", len(b), err)
		}
		// Exactly MaxKeyFile bytes of valid JSON is still read.
		b = append(jwkText(base), bytes.Repeat([]byte(" "), sign.MaxKeyFile-len(jwkText(base)))...)
		p = writeFile(t, t.TempDir(), "key.jwk", b, 0o600)
		if _, err := sign.LoadSigner(p); err != nil {
			t.Errorf("LoadSigner(MaxKeyFile-byte file): got error %v, want nil", err)
		}
	})
}

func pubFile(t *testing.T, dir, name string, i byte) string {
	return writeFile(t, dir, name, mustMarshalPublic(t, testKey(i).Public().(ed25519.PublicKey)), 0o644)
}

func kidOf(i byte) string { return sign.KeyID(testKey(i).Public().(ed25519.PublicKey)) }

func TestLoadTrustFolder(t *testing.T) {
	dir := t.TempDir()
	pubFile(t, dir, "a.pub.jwk", 1)
	pubFile(t, dir, "b.json", 2)
	writeFile(t, dir, "README.md", []byte("# trusted producers\n"), 0o644)
	writeFile(t, dir, ".hidden.jwk", []byte("not a key"), 0o644)
	writeFile(t, dir, "notes.txt", []byte("not a key"), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub.jwk"), 0o755); err != nil {
		t.Fatal(err)
	}
	ring, warnings, err := sign.LoadTrust(dir)
	if err != nil {
		t.Fatalf("LoadTrust: got error %v, want nil", err)
	}
	if len(warnings) != 0 {
		t.Errorf("LoadTrust: got warnings %+v, want none", warnings)
	}
	if ring.Len() != 2 {
		t.Fatalf("LoadTrust: got %d keys, want 2", ring.Len())
	}
	for i, name := range map[byte]string{1: "a.pub.jwk", 2: "b.json"} {
		k, ok := ring.Lookup(kidOf(i))
		if !ok {
			t.Errorf("Lookup(%s): got no key, want the key of %s", kidOf(i), name)
			continue
		}
		if want := filepath.Join(dir, name); k.File != want {
			t.Errorf("Key.File: got %s, want %s", k.File, want)
		}
	}
	keys := ring.Keys()
	if keys[0].ID > keys[1].ID {
		t.Errorf("Keys: got ids %s, %s, want them sorted", keys[0].ID, keys[1].ID)
	}
}

func TestLoadTrustPrivateKey(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "producer.jwk", mustMarshalPrivate(t, testKey(5)), 0o600)
	ring, warnings, err := sign.LoadTrust(dir)
	if err != nil {
		t.Fatalf("LoadTrust: got error %v, want nil", err)
	}
	if ring.Len() != 1 {
		t.Errorf("LoadTrust: got %d keys, want 1", ring.Len())
	}
	if _, ok := ring.Lookup(kidOf(5)); !ok {
		t.Errorf("Lookup(%s): got no key, want the private key's public half", kidOf(5))
	}
	if len(warnings) != 1 || filepath.Base(warnings[0].File) != "producer.jwk" || !warnings[0].Private {
		t.Errorf("LoadTrust: got warnings %+v, want one that producer.jwk is private", warnings)
	}
	for _, w := range warnings {
		if strings.Contains(fmt.Sprintf("%+v", w), b64u(testKey(5).Seed())) {
			t.Errorf("warning %+v shows the private key", w)
		}
	}
}

func TestLoadTrustFile(t *testing.T) {
	dir := t.TempDir()
	ring, _, err := sign.LoadTrust(pubFile(t, dir, "one.jwk", 1))
	if err != nil {
		t.Fatalf("LoadTrust(single JWK): got error %v, want nil", err)
	}
	if _, ok := ring.Lookup(kidOf(1)); !ok || ring.Len() != 1 {
		t.Errorf("LoadTrust(single JWK): got %v, want the one key %s", ring.Keys(), kidOf(1))
	}

	// A single file is read whatever its name.
	set := `{"keys":[` + strings.TrimSpace(string(mustMarshalPublic(t, testKey(1).Public().(ed25519.PublicKey)))) +
		`,` + strings.TrimSpace(string(mustMarshalPublic(t, testKey(2).Public().(ed25519.PublicKey)))) + `]}`
	ring, _, err = sign.LoadTrust(writeFile(t, dir, "set.txt", []byte(set), 0o644))
	if err != nil {
		t.Fatalf("LoadTrust(JWK Set): got error %v, want nil", err)
	}
	if ring.Len() != 2 {
		t.Errorf("LoadTrust(JWK Set): got %d keys, want 2", ring.Len())
	}
	for _, i := range []byte{1, 2} {
		if _, ok := ring.Lookup(kidOf(i)); !ok {
			t.Errorf("LoadTrust(JWK Set): got no key %s", kidOf(i))
		}
	}
}

func TestLoadTrustErrors(t *testing.T) {
	pub1 := strings.TrimSpace(string(mustMarshalPublic(t, testKey(1).Public().(ed25519.PublicKey))))
	badKey := `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`

	t.Run("JWK Set with a bad key", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "set.json", []byte(`{"keys":[`+pub1+`,`+badKey+`]}`), 0o644)
		_, _, err := sign.LoadTrust(p)
		if err == nil {
			t.Fatal("LoadTrust: got nil error, want one naming key 1")
		}
		if !strings.Contains(err.Error(), "key 1") || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadTrust: got error %q, want it to name %s and \"key 1\"", err, p)
		}
		if !errors.Is(err, sign.ErrKey) {
			t.Errorf("LoadTrust: got error %v, want errors.Is ErrKey", err)
		}
	})
	t.Run("empty folder", func(t *testing.T) {
		if _, _, err := sign.LoadTrust(t.TempDir()); err == nil {
			t.Error("LoadTrust(empty folder): got nil error, want an error")
		}
	})
	t.Run("folder with only a README", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "README.md", []byte("# keys\n"), 0o644)
		if _, _, err := sign.LoadTrust(dir); err == nil {
			t.Error("LoadTrust(folder with only README.md): got nil error, want an error")
		}
	})
	t.Run("empty JWK Set", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "set.json", []byte(`{"keys":[]}`), 0o644)
		if _, _, err := sign.LoadTrust(p); err == nil {
			t.Error(`LoadTrust({"keys":[]}): got nil error, want an error`)
		}
	})
	t.Run("bad file in a folder", func(t *testing.T) {
		dir := t.TempDir()
		pubFile(t, dir, "a.pub.jwk", 1)
		bad := writeFile(t, dir, "b.jwk", []byte(badKey), 0o644)
		_, _, err := sign.LoadTrust(dir)
		if err == nil {
			t.Fatal("LoadTrust: got nil error, want one naming b.jwk")
		}
		if !strings.Contains(err.Error(), bad) || !errors.Is(err, sign.ErrKey) {
			t.Errorf("LoadTrust: got error %v, want ErrKey naming %s", err, bad)
		}
	})
	t.Run("malformed JSON in a folder", func(t *testing.T) {
		dir := t.TempDir()
		bad := writeFile(t, dir, "b.json", []byte(`{"kty":`), 0o644)
		_, _, err := sign.LoadTrust(dir)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("LoadTrust: got error %v, want one naming %s", err, bad)
		}
	})
	t.Run("missing path", func(t *testing.T) {
		_, _, err := sign.LoadTrust(filepath.Join(t.TempDir(), "missing"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadTrust(missing path): got error %v, want errors.Is os.ErrNotExist", err)
		}
	})
	t.Run("RSA key", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "rsa.jwk", []byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`), 0o644)
		if _, _, err := sign.LoadTrust(p); !errors.Is(err, sign.ErrKey) {
			t.Errorf("LoadTrust(RSA JWK): got error %v, want errors.Is ErrKey", err)
		}
	})
}

// TestReloadTrustDuplicateValidity: a key in two files with different
// validity periods is trusted only when both say so, whichever file sorts
// first, with a warning.
func TestReloadTrustDuplicateValidity(t *testing.T) {
	pub := testKey(7).Public().(ed25519.PublicKey)
	end := time.Unix(1600000000, 0).UTC()
	limited, err := sign.MarshalPublicValid(pub, sign.Validity{NotAfter: end})
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][2]string{{"a-limited.jwk", "b-open.jwk"}, {"z-limited.jwk", "b-open.jwk"}} {
		dir := t.TempDir()
		writeFile(t, dir, names[0], limited, 0o644)
		writeFile(t, dir, names[1], mustMarshalPublic(t, pub), 0o644)
		ring, warnings, skipped, err := sign.ReloadTrust(dir)
		if err != nil || len(skipped) != 0 {
			t.Fatalf("%v: ReloadTrust: got error %v, skipped %v; want none", names, err, skipped)
		}
		k, ok := ring.Lookup(sign.KeyID(pub))
		if !ok || !k.Valid.NotAfter.Equal(end) || !k.Valid.NotBefore.IsZero() {
			t.Errorf("%v: got key %+v (found %v), want it valid until %s only", names, k.Valid, ok, end)
		}
		if len(warnings) != 1 || warnings[0].KeyID != sign.KeyID(pub) || warnings[0].Valid == warnings[0].OtherValid ||
			filepath.Base(warnings[0].File) != min(names[0], names[1]) || filepath.Base(warnings[0].Other) != max(names[0], names[1]) {
			t.Errorf("%v: got warnings %+v, want one about the two periods", names, warnings)
		}
	}
}
