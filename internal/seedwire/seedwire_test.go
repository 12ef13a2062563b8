package seedwire_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/seedwire"
)

// testHeader is a header of count entries of 33-byte plaintexts.
func testHeader(count int) seedwire.Header {
	return seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: 1764000000000, Seq: 7, Time: 1764000060000,
		Round: 5, PlaintextLen: seedwire.MinPlaintext, Count: count}
}

// testPayload returns a payload of the header h whose i-th entry has the
// host id i+1 (big-endian) and sealed bytes of value i.
func testPayload(h seedwire.Header) []byte {
	b := h.Append(nil)
	sealed := seedwire.EntryLen(h.Suite, h.PlaintextLen) - seedwire.HostIDSize
	for i := 0; i < h.Count; i++ {
		var id seedwire.HostID
		id[7] = byte(i + 1)
		b = seedwire.AppendEntry(b, id, bytes.Repeat([]byte{byte(i)}, sealed))
	}
	return b
}

// jws wraps a payload in a JWS shape with the frame vector's header and a
// signature of zeros: enough for IsSeed and Scan, which check no signature.
func jws(payload []byte) []byte {
	const header = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFJRzJ0TUg3SjJ3Ykpabk9mOExKelFpdEtmN0xNdm9BRWxzdURNVk01NFkifQ"
	return []byte(header + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + strings.Repeat("A", 86))
}

func TestConstants(t *testing.T) {
	if seedwire.MaxSeq != frame.MaxSeq || seedwire.MaxTime != frame.MaxTime {
		t.Errorf("MaxSeq, MaxTime: got %d, %d, want frame's %d, %d (seed datagrams share the sequence of frames)",
			seedwire.MaxSeq, seedwire.MaxTime, frame.MaxSeq, frame.MaxTime)
	}
	if got := base64.RawURLEncoding.EncodeToString([]byte(seedwire.Magic)); got != seedwire.MagicText {
		t.Errorf("Magic encodes to %q, want %q", got, seedwire.MagicText)
	}
	h := testHeader(1)
	if got := len(h.Append(nil)); got != seedwire.HeaderSize {
		t.Errorf("header: got %d bytes, want HeaderSize %d", got, seedwire.HeaderSize)
	}
	if got := seedwire.EntryLen(seedwire.SuiteX25519, 67); got != 123 {
		t.Errorf("entry with a member key: got %d bytes, want 123 (8 + 32 + 67 + 16)", got)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, count := range []int{1, 2, 6, 8, 255} {
		h := testHeader(count)
		if err := h.Check(); err != nil {
			t.Fatal(err)
		}
		b := testPayload(h)
		p, err := seedwire.Parse(b)
		if err != nil {
			t.Fatalf("count %d: %v", count, err)
		}
		if p.Header != h {
			t.Errorf("count %d: got header %+v, want %+v", count, p.Header, h)
		}
		for i := 0; i < count; i++ {
			e := p.Entry(i)
			var id seedwire.HostID
			id[7] = byte(i + 1)
			if e.Host != id || len(e.Sealed) != 32+33+16 || e.Sealed[0] != byte(i) {
				t.Errorf("count %d, entry %d: got %x/%d bytes, want host %x", count, i, e.Host, len(e.Sealed), id)
			}
			if f, ok := p.Find(id); !ok || f.Host != id {
				t.Errorf("count %d: Find(%x): got %v, want the entry", count, id, ok)
			}
			found, err := seedwire.Scan(jws(b), id)
			if !found || err != nil {
				t.Errorf("count %d: Scan(%x): got (%v, %v), want (true, nil)", count, id, found, err)
			}
		}
		var absent seedwire.HostID
		absent[0] = 0xff
		if _, ok := p.Find(absent); ok {
			t.Errorf("count %d: Find of an absent host id: got an entry", count)
		}
		if found, err := seedwire.Scan(jws(b), absent); found || err != nil {
			t.Errorf("count %d: Scan of an absent host id: got (%v, %v), want (false, nil)", count, found, err)
		}
		if !seedwire.IsSeed(jws(b)) {
			t.Errorf("count %d: IsSeed: got false", count)
		}
	}
}

// rejections are payloads Parse must refuse, each with the sentinel.
var rejections = func() []struct {
	name string
	in   []byte
	err  error
} {
	ok := testPayload(testHeader(3))
	mod := func(i int, v byte) []byte { b := bytes.Clone(ok); b[i] = v; return b }
	h2 := testHeader(2)
	dup := h2.Append(nil)
	dup = seedwire.AppendEntry(dup, seedwire.HostID{1}, make([]byte, 81))
	dup = seedwire.AppendEntry(dup, seedwire.HostID{1}, make([]byte, 81))
	unsorted := h2.Append(nil)
	unsorted = seedwire.AppendEntry(unsorted, seedwire.HostID{2}, make([]byte, 81))
	unsorted = seedwire.AppendEntry(unsorted, seedwire.HostID{1}, make([]byte, 81))
	big := func(off int) []byte {
		b := bytes.Clone(ok)
		copy(b[off:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		return b
	}
	return []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, seedwire.ErrSyntax},
		{"short header", ok[:44], seedwire.ErrSyntax},
		{"header only", ok[:45], seedwire.ErrSyntax},
		{"truncated entry", ok[:len(ok)-1], seedwire.ErrSyntax},
		{"trailing byte", append(bytes.Clone(ok), 0), seedwire.ErrSyntax},
		{"bad magic", mod(0, 'x'), seedwire.ErrSyntax},
		{"frame", []byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`), seedwire.ErrSyntax},
		{"version 0", mod(3, 0), seedwire.ErrVersion},
		{"version 2", mod(3, 2), seedwire.ErrVersion},
		{"kem p-256", mod(5, 0x10), seedwire.ErrSuite},
		{"kdf sha-384", mod(7, 2), seedwire.ErrSuite},
		{"aead aes-128-gcm", mod(9, 1), seedwire.ErrSuite},
		{"epoch over max", big(10), seedwire.ErrSyntax},
		{"seq over max", big(18), seedwire.ErrSyntax},
		{"time over max", big(26), seedwire.ErrSyntax},
		{"round over max", big(34), seedwire.ErrSyntax},
		{"plaintext 32", mod(43, 32), seedwire.ErrSyntax},
		{"plaintext 257", append(mod(42, 1), 0)[:len(ok)], seedwire.ErrSyntax},
		{"count 0", mod(44, 0), seedwire.ErrSyntax},
		{"count 4 of 3", mod(44, 4), seedwire.ErrSyntax},
		{"duplicate host id", dup, seedwire.ErrSyntax},
		{"unsorted host ids", unsorted, seedwire.ErrSyntax},
	}
}()

func TestParseRejects(t *testing.T) {
	for _, r := range rejections {
		_, err := seedwire.Parse(r.in)
		var pe *seedwire.ParseError
		if !errors.As(err, &pe) || !errors.Is(err, r.err) {
			t.Errorf("%s: got %v, want a *ParseError wrapping %v", r.name, err, r.err)
		}
		if len(r.in) >= 60 && bytes.HasPrefix(r.in, []byte(seedwire.Magic)) {
			// What Scan reads of a payload it must refuse as Parse does.
			if found, serr := seedwire.Scan(jws(r.in), seedwire.HostID{}); serr == nil || !errors.Is(serr, r.err) {
				t.Errorf("%s: Scan: got (%v, %v), want an error wrapping %v, as Parse's %v", r.name, found, serr, r.err, err)
			}
		}
	}
}

func TestIsSeed(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"eyJhbGciOiJFZERTQSJ9.SEEDAQAg.sig", true},
		{"h.SEED", true},
		{"h.SEE", false},
		{"h.eyJ2IjoiMi4wIn0.sig", false},
		{"SEED.SEED", true},
		{"SEED", false},
		{"", false},
		{`{"v": "1.0"}`, false},
	} {
		if got := seedwire.IsSeed([]byte(c.in)); got != c.want {
			t.Errorf("IsSeed(%q): got %v, want %v", c.in, got, c.want)
		}
	}
}

func TestScanRejects(t *testing.T) {
	ok := testPayload(testHeader(3))
	for _, in := range []string{
		"no dots", "h.SEED", "h.SEEDAQAg.s",
		"h." + base64.RawURLEncoding.EncodeToString(ok) + "A.s",
		"h." + base64.RawURLEncoding.EncodeToString(ok[:len(ok)-3]) + ".s",
		"h." + strings.Repeat("!", 60) + ".s",
	} {
		if found, err := seedwire.Scan([]byte(in), seedwire.HostID{}); found || err == nil {
			t.Errorf("Scan(%.40q...): got (%v, %v), want an error", in, found, err)
		}
	}
}

func TestPlaintext(t *testing.T) {
	var pt seedwire.Plaintext
	for i := range pt.Seed {
		pt.Seed[i] = byte(i)
	}
	b := pt.Append(nil)
	if len(b) != 33 || len(b) != pt.Len() {
		t.Fatalf("plaintext: got %d bytes, want 33", len(b))
	}
	pt.HasMemberKey = true
	pt.MemberKey[0] = 0xc0
	b = pt.Append(nil)
	if len(b) != 67 || len(b) != pt.Len() {
		t.Fatalf("plaintext with a member key: got %d bytes, want 67", len(b))
	}
	got, err := seedwire.ParsePlaintext(b)
	if err != nil || got != pt {
		t.Fatalf("ParsePlaintext: got (%+v, %v), want the plaintext", got, err)
	}
	// An unknown field after a known one is skipped.
	got, err = seedwire.ParsePlaintext(append(bytes.Clone(b), 0x7f, 2, 1, 2))
	if err != nil || got != pt {
		t.Errorf("unknown field 0x7f: got (%+v, %v), want it skipped", got, err)
	}
	seedOnly := b[:33]
	for name, in := range map[string][]byte{
		"short":               b[:32],
		"field without len":   append(bytes.Clone(seedOnly), 1),
		"field truncated":     b[:66],
		"member key 31 bytes": append(append(bytes.Clone(seedOnly), 1, 31), make([]byte, 31)...),
		"type 0":              append(bytes.Clone(seedOnly), 0, 0),
		"field twice":         append(bytes.Clone(b), 1, 32),
		"decreasing types":    append(append(bytes.Clone(seedOnly), 2, 0), b[33:]...),
	} {
		if _, err := seedwire.ParsePlaintext(in); !errors.Is(err, seedwire.ErrSyntax) {
			t.Errorf("%s: got %v, want ErrSyntax", name, err)
		}
	}
	if _, err := seedwire.ParsePlaintext(append([]byte{2}, b[1:]...)); !errors.Is(err, seedwire.ErrVersion) {
		t.Errorf("version 2: got %v, want ErrVersion", err)
	}
	// A parse error shows no plaintext byte.
	_, err = seedwire.ParsePlaintext(append(bytes.Clone(seedOnly[:1]), bytes.Repeat([]byte{0x41}, 32)...)[:20])
	if err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("error %v: want one that shows no plaintext", err)
	}
}

func TestInfo(t *testing.T) {
	var p, h [32]byte
	p[0], h[31] = 1, 2
	info := seedwire.AppendInfo(nil, p, 0x0102, 0x0304, h)
	want := "ssmrandom seed v1\x00\x01" + strings.Repeat("\x00", 31) + "\x00\x00\x00\x00\x00\x00\x01\x02" +
		"\x00\x00\x00\x00\x00\x00\x03\x04" + strings.Repeat("\x00", 31) + "\x02"
	if string(info) != want || len(info) != seedwire.InfoLen {
		t.Errorf("info: got %q (%d bytes), want %q (%d)", info, len(info), want, seedwire.InfoLen)
	}
	if _, err := seedwire.Thumbprint("1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54", "1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Z"} {
		if _, err := seedwire.Thumbprint(bad); err == nil {
			t.Errorf("Thumbprint(%q): got nil, want an error", bad)
		}
	}
}

func TestHeaderCheck(t *testing.T) {
	for name, f := range map[string]func(*seedwire.Header){
		"suite":     func(h *seedwire.Header) { h.Suite.AEAD = 1 },
		"epoch":     func(h *seedwire.Header) { h.Epoch = seedwire.MaxTime + 1 },
		"seq":       func(h *seedwire.Header) { h.Seq = seedwire.MaxSeq + 1 },
		"time":      func(h *seedwire.Header) { h.Time = -1 },
		"round":     func(h *seedwire.Header) { h.Round = seedwire.MaxSeq + 1 },
		"plaintext": func(h *seedwire.Header) { h.PlaintextLen = 32 },
		"count 0":   func(h *seedwire.Header) { h.Count = 0 },
		"count 256": func(h *seedwire.Header) { h.Count = 256 },
	} {
		h := testHeader(1)
		f(&h)
		if err := h.Check(); err == nil {
			t.Errorf("%s: Check: got nil, want an error", name)
		}
	}
}
