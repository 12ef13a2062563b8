package describe

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/words"
)

// testLimits are inspect's: the read buffer, and recv's default limit
// over IPv4 on Ethernet.
var testLimits = Limits{Datagram: 65535, Default: 1472}

// vector returns the protocol.md §6 datagram and a keyring of its key.
func vector(t testing.TB) ([]byte, *sign.Keyring) {
	t.Helper()
	b, err := os.ReadFile("../sign/testdata/vector-ok.txt")
	if err != nil {
		t.Fatal(err)
	}
	var seed, dgram []byte
	for _, l := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutPrefix(l, "seed: "); ok {
			seed, _ = hex.DecodeString(s)
		}
		if s, ok := strings.CutPrefix(l, "datagram: "); ok {
			dgram = []byte(s)
		}
	}
	if len(seed) != ed25519.SeedSize || len(dgram) == 0 {
		t.Fatal("vector-ok.txt: no seed or datagram")
	}
	ring, err := sign.NewKeyring(sign.Key{Public: ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), File: "vector.jwk"})
	if err != nil {
		t.Fatal(err)
	}
	return dgram, ring
}

// checkInspect runs inspect on in with and without ring, prints both
// reports as text and JSON, and fails on anything a hostile input must
// not cause: an error other than ambiguity, a control character on the
// terminal, a report with no verdict. It returns whether in verified.
func checkInspect(t *testing.T, in []byte, ring *sign.Keyring) bool {
	t.Helper()
	verified := false
	for _, r := range []*sign.Keyring{nil, ring} {
		rep, err := Read(in, "input", r, time.Now(), testLimits)
		if err != nil {
			if !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("inspect(%.40q): got error %v, want a report or the ambiguity usage error", in, err)
			}
			return false
		}
		var text bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		for _, c := range text.Bytes() {
			if c != '\n' && (c < 0x20 || c >= 0x7f) {
				t.Fatalf("inspect(%.40q): the text holds byte %#x:\n%s", in, c, text.Bytes())
			}
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("inspect(%.40q): JSON: %v", in, err)
		}
		status := rep.Err()
		if status != nil && words.Escape(status.Error()) != status.Error() {
			t.Fatalf("inspect(%.40q): the error line holds control characters: %q", in, status)
		}
		if r != nil {
			if rep.Verified == nil {
				t.Fatalf("inspect(%.40q) with --trust: no verdict", in)
			}
			verified = *rep.Verified
			if (status == nil) != verified {
				t.Fatalf("inspect(%.40q): verified %v, status error %v", in, verified, status)
			}
			if !verified && rep.Error == "" {
				t.Fatalf("inspect(%.40q): not verified, and no reason given", in)
			}
		}
	}
	return verified
}

// TestInspectHostile: empty, huge, binary and truncated inputs are
// reported, never a panic; only the whole datagram verifies.
func TestInspectHostile(t *testing.T) {
	dgram, ring := vector(t)
	if !checkInspect(t, dgram, ring) {
		t.Fatal("the protocol.md §6 vector does not verify")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for name, in := range map[string][]byte{
		"empty":           {},
		"one dot":         []byte("."),
		"two dots":        []byte(".."),
		"newline":         []byte("\n"),
		"huge":            bytes.Repeat([]byte("A"), testLimits.MaxInput()+1),
		"huge dots":       bytes.Repeat([]byte("."), testLimits.MaxInput()),
		"largest":         bytes.Repeat([]byte("A.A.A"), testLimits.MaxInput()/5),
		"binary":          random(1200),
		"binary, 2 dots":  append(append(random(100), '.'), append(random(100), append([]byte{'.'}, random(100)...)...)...),
		"escape codes":    []byte("\x1b[2J\x1b]0;title\x07.\x1b[31m.\x9b"),
		"json array":      []byte(`[1,2,3]`),
		"json v1.0 bad d": []byte(`{"v":"1.0","s":"\u001b[2J","d":"!!"}`),
		"json v1.0 types": []byte(`{"v":"1.0","s":1,"d":[]}`),
		"json deep":       []byte(strings.Repeat("[", 100000)),
		"unsigned 2.0":    []byte(`{"v":"2.0","s":"producer.example.org","e":1,"n":2,"t":3,"d":"AA=="}`),
		"hex of garbage":  []byte(hex.EncodeToString(random(64))),
		"base64 garbage":  []byte(base64.StdEncoding.EncodeToString(random(64))),
	} {
		t.Run(name, func(t *testing.T) {
			if checkInspect(t, in, ring) {
				t.Errorf("got verified, want not")
			}
		})
	}
	// Every prefix of the datagram, and every byte of it changed.
	for n := range len(dgram) {
		if checkInspect(t, dgram[:n], ring) {
			t.Errorf("the first %d bytes of the vector verify; want only all %d", n, len(dgram))
		}
	}
	for i := range dgram {
		b := bytes.Clone(dgram)
		b[i] ^= 0x01
		if checkInspect(t, b, ring) {
			t.Errorf("the vector with byte %d changed to %q verifies", i, b[i])
		}
	}
}

// TestDecode: raw, hex and base64 inputs, and one that is a datagram
// in both encodings.
func TestDecode(t *testing.T) {
	dgram, _ := vector(t)
	wrapped := base64.StdEncoding.EncodeToString(dgram)
	for i := 76; i < len(wrapped); i += 77 {
		wrapped = wrapped[:i] + "\n" + wrapped[i:]
	}
	for _, c := range []struct {
		name, in, encoding, want string
	}{
		{"raw", string(dgram), "raw", string(dgram)},
		{"hex", hex.EncodeToString(dgram), "hex", string(dgram)},
		{"hex, spaced", " " + strings.ToUpper(hex.EncodeToString(dgram[:10])) + "\n\t" + hex.EncodeToString(dgram[10:]) + "\n", "hex", string(dgram)},
		{"base64", base64.StdEncoding.EncodeToString(dgram), "base64", string(dgram)},
		{"base64, wrapped", wrapped + "\n", "base64", string(dgram)},
		{"base64url", base64.RawURLEncoding.EncodeToString(dgram), "base64", string(dgram)},
		{"legacy raw", `{"v":"1.0"}`, "raw", `{"v":"1.0"}`},
		{"legacy hex", hex.EncodeToString([]byte(`{"v":"1.0"}`)), "hex", `{"v":"1.0"}`},
		{"neither", "deadbeef", "raw", "deadbeef"},
		{"odd hex", "2e2e2", "raw", "2e2e2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, enc, err := decode([]byte(c.in))
			if err != nil || enc != c.encoding || string(got) != c.want {
				t.Errorf("got %.40q, %q, %v; want %.40q, %q, nil", got, enc, err, c.want, c.encoding)
			}
		})
	}
	// e42e2e00 is e4 . . 00 in hex, and { followed by two bytes in base64.
	_, _, err := decode([]byte("e42e2e00"))
	if !errors.Is(err, ErrAmbiguous) {
		t.Errorf("got %v, want ErrAmbiguous for input that is a datagram in hex and in base64", err)
	}
}

// FuzzInspectInput: whatever the input, inspect reports it without a
// panic, and prints nothing a terminal would obey.
func FuzzInspectInput(f *testing.F) {
	dgram, ring := vector(f)
	f.Add(dgram)
	f.Add([]byte(hex.EncodeToString(dgram)))
	f.Add([]byte(base64.StdEncoding.EncodeToString(dgram)))
	f.Add([]byte(`{"v":"1.0","s":"producer.example.org","d":"AAEC"}`))
	f.Add([]byte("e42e2e00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		checkInspect(t, in, ring)
	})
}
