package membertag

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

const kid = "1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y"

func testKey(t testing.TB) *Key {
	t.Helper()
	var s [KeySize]byte
	for i := range s {
		s[i] = byte(i)
	}
	return NewKey(&s, 1700000000000, 7)
}

// TestAppend checks MT against HMAC-SHA256 written out by hand.
func TestAppend(t *testing.T) {
	k := testKey(t)
	payload := []byte("eyJ2IjoiMi4wIn0")
	mt := k.Append(nil, kid, payload)
	if len(mt) != Size {
		t.Fatalf("got %d bytes, want %d", len(mt), Size)
	}
	secret := k.Secret()
	h := hmac.New(sha256.New, secret[:])
	h.Write([]byte("ssmrandom member tag v1\x00" + kid + "."))
	h.Write(payload)
	want := append([]byte{0, 0, 0, 0, 0, 0, 0, 7}, h.Sum(nil)[:16]...)
	if !bytes.Equal(mt, want) {
		t.Fatalf("got %s, want %s", hex.EncodeToString(mt), hex.EncodeToString(want))
	}
	if !k.Check(mt, kid, payload) {
		t.Fatal("Check refused its own tag")
	}
}

func TestCheckRefuses(t *testing.T) {
	k := testKey(t)
	payload := []byte("eyJ2IjoiMi4wIn0")
	good := k.Append(nil, kid, payload)
	other := NewKey(&[KeySize]byte{1}, 1700000000000, 7)
	cases := map[string]struct {
		k       *Key
		mt      []byte
		kid     string
		payload []byte
	}{
		"short":         {k, good[:Size-1], kid, payload},
		"long":          {k, append(append([]byte{}, good...), 0), kid, payload},
		"other round":   {k, append([]byte{0, 0, 0, 0, 0, 0, 0, 8}, good[RoundSize:]...), kid, payload},
		"flipped tag":   {k, append(append([]byte{}, good[:Size-1]...), good[Size-1]^1), kid, payload},
		"other payload": {k, good, kid, []byte("eyJ2IjoiMi4wIn1")},
		"other kid":     {k, good, "2" + kid[1:], payload},
		"other key":     {other, good, kid, payload},
	}
	for name, c := range cases {
		if c.k.Check(c.mt, c.kid, c.payload) {
			t.Errorf("%s: got accepted, want refused", name)
		}
	}
}

func TestClone(t *testing.T) {
	k := testKey(t)
	c := k.Clone()
	if c == k || c.Epoch() != k.Epoch() || c.Round() != k.Round() {
		t.Fatalf("clone differs: %v %v", c.Epoch(), c.Round())
	}
	p := []byte("abc")
	if !bytes.Equal(c.Append(nil, kid, p), k.Append(nil, kid, p)) {
		t.Fatal("clone makes other tags")
	}
}

func TestCheckAllocs(t *testing.T) {
	k := testKey(t)
	p := bytes.Repeat([]byte("A"), 700)
	mt := k.Append(nil, kid, p)
	if n := testing.AllocsPerRun(100, func() { k.Check(mt, kid, p) }); n != 0 {
		t.Fatalf("got %v allocations per Check, want 0", n)
	}
}

func BenchmarkCheck(b *testing.B) {
	k := testKey(b)
	p := bytes.Repeat([]byte("A"), 700)
	mt := k.Append(nil, kid, p)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		k.Check(mt, kid, p)
	}
}
