package frame_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// seedVectors are version 1.0 payloads exactly as the original ssmrandom
// sent them: each is the output of
//
//	json.dumps({'v': '1.0', 's': SOURCE, 'd': base64.b64encode(DATA)})
//
// under CPython 2.7.18, the seed's send path (docs/protocol.md §8), with
// DATA the 32 bytes a0..bf of the protocol test vector unless said.
var seedVectors = []struct {
	source string
	data   []byte
	bytes  string
}{
	{"/dev/urandom", vectorData(), `{"s": "/dev/urandom", "d": "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=", "v": "1.0"}`},
	{"producer.example.org", vectorData(), `{"s": "producer.example.org", "d": "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=", "v": "1.0"}`},
	{"/dev/qrandom0", vectorData(), `{"s": "/dev/qrandom0", "d": "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=", "v": "1.0"}`},
	{"/dev/urandom", []byte{0}, `{"s": "/dev/urandom", "d": "AA==", "v": "1.0"}`},
}

// vectorData returns the 32 bytes a0..bf.
func vectorData() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0xa0 + byte(i)
	}
	return b
}

// TestAppendV1Seed checks AppendV1 and V1Len against the seed's bytes.
func TestAppendV1Seed(t *testing.T) {
	for _, v := range seedVectors {
		got := frame.AppendV1([]byte("prefix"), v.source, v.data)
		if string(got) != "prefix"+v.bytes {
			t.Errorf("AppendV1(%q, %d bytes):\ngot  %s\nwant prefix%s", v.source, len(v.data), got, v.bytes)
		}
		if n := frame.V1Len(v.source, len(v.data)); n != len(v.bytes) {
			t.Errorf("V1Len(%q, %d): got %d, want %d", v.source, len(v.data), n, len(v.bytes))
		}
	}
}

// TestParseV1Seed parses the seed's bytes, and the same members in every
// other order and with compact separators, as Python 2.7 with hash
// randomization (-R) or another JSON encoder would write them.
func TestParseV1Seed(t *testing.T) {
	for _, v := range seedVectors {
		b64 := base64.StdEncoding.EncodeToString(v.data)
		m := map[string]string{"v": `"v": "1.0"`, "s": `"s": "` + v.source + `"`, "d": `"d": "` + b64 + `"`}
		inputs := []string{v.bytes}
		for _, order := range [][3]string{{"v", "s", "d"}, {"v", "d", "s"}, {"s", "v", "d"}, {"d", "s", "v"}, {"d", "v", "s"}} {
			inputs = append(inputs, "{"+m[order[0]]+", "+m[order[1]]+", "+m[order[2]]+"}")
		}
		// Compact separators, and a mix of both styles.
		inputs = append(inputs, `{"v":"1.0","s":"`+v.source+`","d":"`+b64+`"}`, `{"s":"`+v.source+`", "d":"`+b64+`","v": "1.0"}`)
		for _, in := range inputs {
			f := frame.Frame{Epoch: 1, Seq: 2, Time: 3, Data: make([]byte, 0, 64)}
			if err := frame.ParseV1(&f, []byte(in)); err != nil {
				t.Errorf("ParseV1(%s): got error %v, want nil", in, err)
				continue
			}
			if f.Source != v.source || !bytes.Equal(f.Data, v.data) || f.Epoch != 0 || f.Seq != 0 || f.Time != 0 {
				t.Errorf("ParseV1(%s): got s=%q d=%x e=%d n=%d t=%d, want s=%q d=%x and zero e, n, t", in, f.Source, f.Data, f.Epoch, f.Seq, f.Time, v.source, v.data)
			}
		}
	}
}

// TestParseV1Reject checks that ParseV1 refuses, with the right sentinel,
// every payload that is not a version 1.0 frame of protocol.md §8.
func TestParseV1Reject(t *testing.T) {
	const d = `"d": "AAEC"`
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty", ``, frame.ErrSyntax},
		{"not an object", `["1.0"]`, frame.ErrSyntax},
		{"leading space", ` {"s": "a", "d": "AAEC", "v": "1.0"}`, frame.ErrSyntax},
		{"trailing newline", `{"s": "a", "d": "AAEC", "v": "1.0"}` + "\n", frame.ErrSyntax},
		{"trailing space", `{"s": "a", "d": "AAEC", "v": "1.0"} `, frame.ErrSyntax},
		{"space before }", `{"s": "a", "d": "AAEC", "v": "1.0" }`, frame.ErrSyntax},
		{"space after {", `{ "s": "a", "d": "AAEC", "v": "1.0"}`, frame.ErrSyntax},
		{"two spaces after ,", `{"s": "a",  "d": "AAEC", "v": "1.0"}`, frame.ErrSyntax},
		{"space before :", `{"s" : "a", "d": "AAEC", "v": "1.0"}`, frame.ErrSyntax},
		{"tab", "{\"s\":\t\"a\", \"d\": \"AAEC\", \"v\": \"1.0\"}", frame.ErrSyntax},
		{"two members", `{"s": "a", ` + d + `}`, frame.ErrSyntax},
		{"no v", `{"s": "a", ` + d + `, "x": "1.0"}`, frame.ErrSyntax},
		{"four members", `{"s": "a", ` + d + `, "v": "1.0", "x": "y"}`, frame.ErrSyntax},
		{"repeated d", `{"d": "AAAA", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"repeated v", `{"v": "1.0", "v": "1.0", ` + d + `}`, frame.ErrSyntax},
		{"escaped name", `{"\u0073": "a", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"escape in s", `{"s": "\/dev\/urandom", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"v a number", `{"s": "a", ` + d + `, "v": 1.0}`, frame.ErrSyntax},
		{"v 2.0", `{"s": "a", ` + d + `, "v": "2.0"}`, frame.ErrVersion},
		{"v 1.00", `{"s": "a", ` + d + `, "v": "1.00"}`, frame.ErrVersion},
		{"v empty", `{"s": "a", ` + d + `, "v": ""}`, frame.ErrVersion},
		{"s empty", `{"s": "", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"s with a space", `{"s": "a b", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"s too long", `{"s": "` + strings.Repeat("x", frame.MaxSource+1) + `", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"s not ASCII", `{"s": "/dev/h` + "\xc3\xa9" + `", ` + d + `, "v": "1.0"}`, frame.ErrSyntax},
		{"d empty (the seed at the end of a file)", `{"s": "a", "d": "", "v": "1.0"}`, frame.ErrSyntax},
		{"d unpadded", `{"s": "a", "d": "AA", "v": "1.0"}`, frame.ErrSyntax},
		{"d base64url", `{"s": "a", "d": "-_-_", "v": "1.0"}`, frame.ErrSyntax},
		{"d unused bits set", `{"s": "a", "d": "AB==", "v": "1.0"}`, frame.ErrSyntax},
		{"d with a newline", `{"s": "a", "d": "AAEC\nAAEC", "v": "1.0"}`, frame.ErrSyntax},
		{"d with an escape", `{"s": "a", "d": "AAE\u0043", "v": "1.0"}`, frame.ErrSyntax},
		{"d too long", `{"s": "a", "d": "` + base64.StdEncoding.EncodeToString(make([]byte, frame.MaxData+1)) + `", "v": "1.0"}`, frame.ErrSyntax},
		{"d unterminated", `{"s": "a", "d": "AAEC`, frame.ErrSyntax},
		{"version 2.0 frame", validPayload, frame.ErrSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f frame.Frame
			err := frame.ParseV1(&f, []byte(c.in))
			var pe *frame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseV1(%.60q): got error %T %v, want a *frame.ParseError", c.in, err, err)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("ParseV1(%.60q): got error %v, want one wrapping %v", c.in, err, c.want)
			}
		})
	}
}

// TestParseV1NotV2 checks that the two formats never mix: Parse refuses
// every seed payload and ParseV1 every version 2.0 payload.
func TestParseV1NotV2(t *testing.T) {
	for _, v := range seedVectors {
		if _, err := frame.Parse([]byte(v.bytes)); err == nil {
			t.Errorf("Parse(%s): got nil error, want a refusal", v.bytes)
		}
	}
	for _, p := range validPayloads(t) {
		var f frame.Frame
		if err := frame.ParseV1(&f, p); err == nil {
			t.Errorf("ParseV1(%.60q): got nil error, want a refusal", p)
		}
	}
}

// TestParseV1Allocs checks that parsing into a reused frame does not
// allocate once the source name and the data buffer are in place.
func TestParseV1Allocs(t *testing.T) {
	in := []byte(frame.AppendV1(nil, "/dev/urandom", seq(512)))
	f := frame.Frame{Data: make([]byte, 0, 512)}
	if err := frame.ParseV1(&f, in); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := frame.ParseV1(&f, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("allocations per ParseV1: got %v, want 0", allocs)
	}
}

// FuzzParseV1 checks that ParseV1 never panics, that every payload it
// accepts is a JSON object of exactly "v", "s" and "d" whose values a
// standard JSON decoder reads the same (a differential check against
// encoding/json, as the seed's receiver read frames with json.loads), and
// that AppendV1 of what it parsed parses back to the same frame. It is
// seeded from the seed's vectors and the rejection cases' shapes.
func FuzzParseV1(f *testing.F) {
	seeds := 0
	for _, v := range seedVectors {
		f.Add([]byte(v.bytes))
		seeds++
	}
	for _, p := range validPayloads(f) {
		if len(p) <= maxSeed {
			f.Add(p)
			seeds++
		}
	}
	f.Add([]byte(`{"v":"1.0","s":"a","d":"AAEC"}`))
	f.Add([]byte(`{"d": "AB==", "s": "a", "v": "1.0"}`))
	if seeds == 0 {
		f.Fatal("FuzzParseV1: got no seeds")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var fr frame.Frame
		err := frame.ParseV1(&fr, in)
		if err != nil {
			var pe *frame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseV1(%q): got error %T %v, want a *frame.ParseError", in, err, err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(in, &m); err != nil {
			t.Fatalf("ParseV1 accepted %q, which encoding/json refuses: %v", in, err)
		}
		if len(m) != 3 || m["v"] != frame.V1Version || m["s"] != fr.Source {
			t.Fatalf("ParseV1(%q): got s=%q; encoding/json reads %v", in, fr.Source, m)
		}
		d, _ := m["d"].(string)
		if want, err := base64.StdEncoding.DecodeString(d); err != nil || !bytes.Equal(want, fr.Data) {
			t.Fatalf("ParseV1(%q): got data %x; encoding/json and base64 read %x, %v", in, fr.Data, want, err)
		}
		again := frame.Frame{}
		if err := frame.ParseV1(&again, frame.AppendV1(nil, fr.Source, fr.Data)); err != nil || again.Source != fr.Source || !bytes.Equal(again.Data, fr.Data) {
			t.Fatalf("ParseV1(AppendV1(%q, %x)): got (%q, %x, %v)", fr.Source, fr.Data, again.Source, again.Data, err)
		}
	})
}
