package frame_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// validPayload is a canonical payload used as the base of the rejection
// cases: 3 data bytes 0x00 0x01 0x02.
const validPayload = `{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`

// validPayloads returns canonical payloads of several shapes; they seed the
// fuzz target and the truncation test.
func validPayloads(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range roundTripFrames() {
		b, err := f.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v): got error %v, want nil", f, err)
		}
		out = append(out, b)
	}
	return append(out, []byte(validPayload))
}

func roundTripFrames() []frame.Frame {
	return []frame.Frame{
		{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: seq(1)},
		{Source: "a", Epoch: 0, Seq: 0, Time: 0, Data: seq(512)},
		{Source: strings.Repeat("x", frame.MaxSource), Epoch: frame.MaxTime, Seq: frame.MaxSeq, Time: frame.MaxTime, Data: seq(1024)},
		{Source: "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", Epoch: 1, Seq: 1, Time: 1, Data: seq(2)},
		{Source: "h", Epoch: 10, Seq: 10, Time: 10, Data: seq(3)},
		{Source: "max-data", Epoch: 5, Seq: 6, Time: 7, Data: seq(frame.MaxData)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, want := range roundTripFrames() {
		name := want.Source
		if len(name) > 16 {
			name = name[:16]
		}
		t.Run(name+"/"+strconv.Itoa(len(want.Data)), func(t *testing.T) {
			b, err := want.Marshal()
			if err != nil {
				t.Fatalf("Marshal: got error %v, want nil", err)
			}
			if app := want.Append(nil); !bytes.Equal(app, b) {
				t.Fatalf("Append: got %.80q, want Marshal's %.80q", app, b)
			}
			got, err := frame.Parse(b)
			if err != nil {
				t.Fatalf("Parse(%.80q): got error %v, want nil", b, err)
			}
			if got.Source != want.Source || got.Epoch != want.Epoch || got.Seq != want.Seq || got.Time != want.Time {
				t.Errorf("Parse: got s=%q e=%d n=%d t=%d, want s=%q e=%d n=%d t=%d",
					got.Source, got.Epoch, got.Seq, got.Time, want.Source, want.Epoch, want.Seq, want.Time)
			}
			if !bytes.Equal(got.Data, want.Data) {
				t.Errorf("Parse: got %d data bytes %.16x..., want %d bytes %.16x...", len(got.Data), got.Data, len(want.Data), want.Data)
			}
		})
	}
}

func TestMarshalExact(t *testing.T) {
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: []byte{0, 1, 2}}
	b, err := f.Marshal()
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	if string(b) != validPayload {
		t.Errorf("Marshal: got %s, want %s", b, validPayload)
	}
	// Append keeps what is already in dst.
	if got, want := string(f.Append([]byte("prefix:"))), "prefix:"+validPayload; got != want {
		t.Errorf("Append: got %s, want %s", got, want)
	}
}

func TestCheck(t *testing.T) {
	ok := frame.Frame{Source: "producer.example.org", Epoch: 1, Seq: 2, Time: 3, Data: []byte{1}}
	if err := ok.Check(); err != nil {
		t.Fatalf("Check(valid frame): got %v, want nil", err)
	}
	tests := []struct {
		name string
		edit func(f *frame.Frame)
	}{
		{"empty data", func(f *frame.Frame) { f.Data = nil }},
		{"empty non-nil data", func(f *frame.Frame) { f.Data = []byte{} }},
		{"data over MaxData", func(f *frame.Frame) { f.Data = make([]byte, frame.MaxData+1) }},
		{"empty source", func(f *frame.Frame) { f.Source = "" }},
		{"source of 65 bytes", func(f *frame.Frame) { f.Source = strings.Repeat("a", frame.MaxSource+1) }},
		{"source with space", func(f *frame.Frame) { f.Source = "producer example" }},
		{"source with quote", func(f *frame.Frame) { f.Source = `pro"ducer` }},
		{"source with backslash", func(f *frame.Frame) { f.Source = `pro\ducer` }},
		{"source with tab", func(f *frame.Frame) { f.Source = "pro\tducer" }},
		{"source with DEL", func(f *frame.Frame) { f.Source = "pro\x7fducer" }},
		{"source with non-ASCII", func(f *frame.Frame) { f.Source = "producér" }},
		{"source with NUL", func(f *frame.Frame) { f.Source = "a\x00" }},
		{"seq over MaxSeq", func(f *frame.Frame) { f.Seq = frame.MaxSeq + 1 }},
		{"seq max uint64", func(f *frame.Frame) { f.Seq = ^uint64(0) }},
		{"epoch over MaxTime", func(f *frame.Frame) { f.Epoch = frame.MaxTime + 1 }},
		{"negative time", func(f *frame.Frame) { f.Time = -1 }},
		{"time over MaxTime", func(f *frame.Frame) { f.Time = frame.MaxTime + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ok
			tt.edit(&f)
			if err := f.Check(); err == nil {
				t.Errorf("Check(%+.40v): got nil, want an error", f)
			}
			if b, err := f.Marshal(); err == nil || b != nil {
				t.Errorf("Marshal: got (%.40q, %v), want (nil, error)", b, err)
			}
		})
	}
	// The bounds themselves are valid.
	edge := frame.Frame{Source: strings.Repeat("a", frame.MaxSource), Epoch: frame.MaxTime, Seq: frame.MaxSeq, Time: frame.MaxTime, Data: make([]byte, frame.MaxData)}
	if err := edge.Check(); err != nil {
		t.Errorf("Check(frame at every bound): got %v, want nil", err)
	}
}

func TestValidSource(t *testing.T) {
	for s, want := range map[string]bool{
		"a":                               true,
		"producer.example.org":            true,
		strings.Repeat("z", 64):           true,
		"":                                false,
		strings.Repeat("z", 65):           false,
		" ":                               false,
		"a b":                             false,
		`"`:                               false,
		`\`:                               false,
		"\x7f":                            false,
		"\x80":                            false,
		"é":                               false,
		"a\n":                             false,
		"[2001:db8::1]:8080/~user?q=1&x#": true,
	} {
		if got := frame.ValidSource(s); got != want {
			t.Errorf("ValidSource(%q): got %v, want %v", s, got, want)
		}
	}
}

func TestMaxLen(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789.-!~"
	for i := 0; i < 2000; i++ {
		src := make([]byte, 1+r.IntN(frame.MaxSource))
		for j := range src {
			src[j] = alphabet[r.IntN(len(alphabet))]
		}
		f := frame.Frame{
			Source: string(src),
			Epoch:  r.Uint64N(frame.MaxTime + 1),
			Seq:    r.Uint64N(frame.MaxSeq + 1),
			Time:   r.Int64N(frame.MaxTime + 1),
			Data:   make([]byte, 1+r.IntN(2048)),
		}
		// Every digit count from 1 to the maximum.
		f.Epoch /= pow10(r.IntN(13))
		f.Seq /= pow10(r.IntN(12))
		f.Time /= int64(pow10(r.IntN(13)))
		b, err := f.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+.40v): got error %v, want nil", f, err)
		}
		if max := frame.MaxLen(f.Source, len(f.Data)); len(b) > max {
			t.Fatalf("Marshal(e=%d n=%d t=%d, %d-byte source, %d data bytes): got %d bytes, want at most MaxLen = %d",
				f.Epoch, f.Seq, f.Time, len(f.Source), len(f.Data), len(b), max)
		}
		// With the widest numbers the bound is reached exactly.
		f.Epoch = 1_000_000_000_000 + f.Epoch%(frame.MaxTime-1_000_000_000_000+1)
		f.Seq = 100_000_000_000 + f.Seq%(frame.MaxSeq-100_000_000_000+1)
		f.Time = 1_000_000_000_000 + f.Time%(frame.MaxTime-1_000_000_000_000+1)
		b, err = f.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+.40v): got error %v, want nil", f, err)
		}
		if max := frame.MaxLen(f.Source, len(f.Data)); len(b) != max {
			t.Fatalf("Marshal(e=%d n=%d t=%d, %d-byte source, %d data bytes): got %d bytes, want exactly MaxLen = %d",
				f.Epoch, f.Seq, f.Time, len(f.Source), len(f.Data), len(b), max)
		}
	}
}

func pow10(n int) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// rejection is a payload Parse must refuse, with the sentinel and field of
// the *ParseError it must return.
type rejection struct {
	name  string
	in    string
	err   error
	field string
}

// rep returns validPayload with old replaced by new, failing loudly if old
// is not there, so that a table entry cannot silently test the valid case.
func rep(old, new string) string {
	if !strings.Contains(validPayload, old) {
		panic("frame_test: " + old + " not in validPayload")
	}
	return strings.Replace(validPayload, old, new, 1)
}

func b64(n int) string { return base64.StdEncoding.EncodeToString(seq(n)) }

var rejections = []rejection{
	{"version 1.0", rep(`"v":"2.0"`, `"v":"1.0"`), frame.ErrVersion, "v"},
	{"version 2.1", rep(`"v":"2.0"`, `"v":"2.1"`), frame.ErrVersion, "v"},
	{"version empty", rep(`"v":"2.0"`, `"v":""`), frame.ErrVersion, "v"},
	{"version 2.0.0", rep(`"v":"2.0"`, `"v":"2.0.0"`), frame.ErrVersion, "v"},
	{"version as number", rep(`"v":"2.0"`, `"v":2.0`), frame.ErrSyntax, ""},
	{"version with escape", rep(`"v":"2.0"`, `"v":"2\u002e0"`), frame.ErrSyntax, "v"},
	{"version unterminated", `{"v":"2.0`, frame.ErrSyntax, "v"},
	{"keys out of order e before s", `{"v":"2.0","e":1764000000000,"s":"producer.example.org","n":7,"t":1764000012345,"d":"AAEC"}`, frame.ErrSyntax, "s"},
	{"keys out of order t before n", `{"v":"2.0","s":"producer.example.org","e":1764000000000,"t":1764000012345,"n":7,"d":"AAEC"}`, frame.ErrSyntax, "n"},
	{"keys out of order v last", `{"s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC","v":"2.0"}`, frame.ErrSyntax, ""},
	{"missing t", rep(`,"t":1764000012345`, ``), frame.ErrSyntax, "t"},
	{"missing d", rep(`,"d":"AAEC"`, ``), frame.ErrSyntax, "d"},
	{"duplicate d", rep(`"d":"AAEC"`, `"d":"AAEC","d":"AAEC"`), frame.ErrSyntax, ""},
	{"duplicate s", rep(`"s":"producer.example.org"`, `"s":"producer.example.org","s":"producer.example.org"`), frame.ErrSyntax, "e"},
	{"extra key at the end", rep(`"d":"AAEC"`, `"d":"AAEC","x":1`), frame.ErrSyntax, ""},
	{"extra key in the middle", rep(`"n":7,`, `"n":7,"x":1,`), frame.ErrSyntax, "t"},
	{"uppercase key", rep(`"n":7`, `"N":7`), frame.ErrSyntax, "n"},
	{"whitespace after {", rep(`{"v"`, `{ "v"`), frame.ErrSyntax, ""},
	{"whitespace after colon", rep(`"e":1764000000000`, `"e": 1764000000000`), frame.ErrSyntax, "e"},
	{"whitespace after comma", rep(`,"n":7`, `, "n":7`), frame.ErrSyntax, "n"},
	{"whitespace before }", rep(`"AAEC"}`, `"AAEC" }`), frame.ErrSyntax, ""},
	{"trailing newline", validPayload + "\n", frame.ErrSyntax, ""},
	{"leading space", " " + validPayload, frame.ErrSyntax, ""},
	{"leading zero n", rep(`"n":7`, `"n":07`), frame.ErrSyntax, "n"},
	{"leading zero n 01", rep(`"n":7`, `"n":01`), frame.ErrSyntax, "n"},
	{"double zero e", rep(`"e":1764000000000`, `"e":00`), frame.ErrSyntax, "e"},
	{"negative t", rep(`"t":1764000012345`, `"t":-1`), frame.ErrSyntax, "t"},
	{"negative zero n", rep(`"n":7`, `"n":-0`), frame.ErrSyntax, "n"},
	{"plus sign n", rep(`"n":7`, `"n":+7`), frame.ErrSyntax, "n"},
	{"number as string n", rep(`"n":7`, `"n":"7"`), frame.ErrSyntax, "n"},
	{"empty number e", rep(`"e":1764000000000`, `"e":`), frame.ErrSyntax, "e"},
	{"null n", rep(`"n":7`, `"n":null`), frame.ErrSyntax, "n"},
	{"fraction n 1.5", rep(`"n":7`, `"n":1.5`), frame.ErrSyntax, "n"},
	{"fraction t 1.0", rep(`"t":1764000012345`, `"t":1.0`), frame.ErrSyntax, "t"},
	{"exponent e 1e3", rep(`"e":1764000000000`, `"e":1e3`), frame.ErrSyntax, "e"},
	{"exponent n 1E3", rep(`"n":7`, `"n":1E3`), frame.ErrSyntax, "n"},
	{"seq of 13 digits", rep(`"n":7`, `"n":1000000000000`), frame.ErrSyntax, "n"},
	{"seq of 13 nines", rep(`"n":7`, `"n":9999999999999`), frame.ErrSyntax, "n"},
	{"seq of 20 digits", rep(`"n":7`, `"n":18446744073709551616`), frame.ErrSyntax, "n"},
	{"epoch of 14 digits", rep(`"e":1764000000000`, `"e":10000000000000`), frame.ErrSyntax, "e"},
	{"time of 14 digits", rep(`"t":1764000012345`, `"t":10000000000000`), frame.ErrSyntax, "t"},
	{"time of 25 digits", rep(`"t":1764000012345`, `"t":9999999999999999999999999`), frame.ErrSyntax, "t"},
	{"empty s", rep(`"s":"producer.example.org"`, `"s":""`), frame.ErrSyntax, "s"},
	{"s of 65 bytes", rep(`"s":"producer.example.org"`, `"s":"`+strings.Repeat("a", 65)+`"`), frame.ErrSyntax, "s"},
	{"escaped quote in s", rep(`producer.example.org`, `pro\"ducer`), frame.ErrSyntax, "s"},
	{"unicode escape in s", rep(`producer.example.org`, `pro\u0041ducer`), frame.ErrSyntax, "s"},
	{"escaped slash in s", rep(`producer.example.org`, `pro\/ducer`), frame.ErrSyntax, "s"},
	{"space in s", rep(`producer.example.org`, `pro ducer`), frame.ErrSyntax, "s"},
	{"tab in s", rep(`producer.example.org`, "pro\tducer"), frame.ErrSyntax, "s"},
	{"control char in s", rep(`producer.example.org`, "pro\x01ducer"), frame.ErrSyntax, "s"},
	{"NUL in s", rep(`producer.example.org`, "pro\x00ducer"), frame.ErrSyntax, "s"},
	{"DEL in s", rep(`producer.example.org`, "pro\x7fducer"), frame.ErrSyntax, "s"},
	{"non-ASCII in s", rep(`producer.example.org`, "producér"), frame.ErrSyntax, "s"},
	{"invalid UTF-8 in s", rep(`producer.example.org`, "pro\xffducer"), frame.ErrSyntax, "s"},
	{"s unterminated", `{"v":"2.0","s":"producer`, frame.ErrSyntax, "s"},
	{"empty d", rep(`"d":"AAEC"`, `"d":""`), frame.ErrSyntax, "d"},
	{"d as number", rep(`"d":"AAEC"`, `"d":1`), frame.ErrSyntax, "d"},
	{"unpadded d", rep(`"d":"AAEC"`, `"d":"AAE"`), frame.ErrSyntax, "d"},
	{"unpadded d of 1 byte", rep(`"d":"AAEC"`, `"d":"AA"`), frame.ErrSyntax, "d"},
	{"URL alphabet in d", rep(`"d":"AAEC"`, `"d":"-_8="`), frame.ErrSyntax, "d"},
	{"stray char in d", rep(`"d":"AAEC"`, `"d":"AA*C"`), frame.ErrSyntax, "d"},
	{"non-canonical trailing bits 1 byte", rep(`"d":"AAEC"`, `"d":"AB=="`), frame.ErrSyntax, "d"},
	{"non-canonical trailing bits 2 bytes", rep(`"d":"AAEC"`, `"d":"AAF="`), frame.ErrSyntax, "d"},
	{"padding in the middle of d", rep(`"d":"AAEC"`, `"d":"AA==AAEC"`), frame.ErrSyntax, "d"},
	{"only padding in d", rep(`"d":"AAEC"`, `"d":"===="`), frame.ErrSyntax, "d"},
	{"newline in d", rep(`"d":"AAEC"`, "\"d\":\"AA\nEC\""), frame.ErrSyntax, "d"},
	{"CR LF in d", rep(`"d":"AAEC"`, "\"d\":\"AAEC\r\n\""), frame.ErrSyntax, "d"},
	{"escaped slash in d", rep(`"d":"AAEC"`, `"d":"AA\/C"`), frame.ErrSyntax, "d"},
	{"d over MaxData", rep(`"d":"AAEC"`, `"d":"`+b64(frame.MaxData+1)+`"`), frame.ErrSyntax, "d"},
	{"d far over MaxData", rep(`"d":"AAEC"`, `"d":"`+b64(frame.MaxData+4)+`"`), frame.ErrSyntax, "d"},
	{"d unterminated", rep(`"AAEC"}`, `"AAEC`), frame.ErrSyntax, "d"},
	{"trailing garbage after }", validPayload + "x", frame.ErrSyntax, ""},
	{"trailing NUL after }", validPayload + "\x00", frame.ErrSyntax, ""},
	{"two objects", validPayload + validPayload, frame.ErrSyntax, ""},
	{"missing }", strings.TrimSuffix(validPayload, "}"), frame.ErrSyntax, ""},
	{"empty input", "", frame.ErrSyntax, ""},
	{"null", "null", frame.ErrSyntax, ""},
	{"array", "[" + validPayload + "]", frame.ErrSyntax, ""},
	{"byte order mark", "\xef\xbb\xbf" + validPayload, frame.ErrSyntax, ""},
}

func TestParseRejects(t *testing.T) {
	if _, err := frame.Parse([]byte(validPayload)); err != nil {
		t.Fatalf("Parse(validPayload): got error %v, want nil", err)
	}
	for _, tt := range rejections {
		t.Run(tt.name, func(t *testing.T) {
			f, err := frame.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%.80q): got %+.40v, want an error", tt.in, f)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("Parse(%.80q): got error %v, want errors.Is %v", tt.in, err, tt.err)
			}
			other := frame.ErrSyntax
			if tt.err == frame.ErrSyntax {
				other = frame.ErrVersion
			}
			if errors.Is(err, other) {
				t.Errorf("Parse(%.80q): got error %v that is also %v, want only %v", tt.in, err, other, tt.err)
			}
			var pe *frame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%.80q): got error %T %v, want a *frame.ParseError", tt.in, err, err)
			}
			if pe.Field != tt.field {
				t.Errorf("Parse(%.80q): got Field %q (%v), want %q", tt.in, pe.Field, err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "frame: ") {
				t.Errorf("Parse(%.80q): got message %q, want the prefix \"frame: \"", tt.in, err)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := frame.Parse([]byte(rep(`"n":7`, `"n":07`)))
	if got, want := err.Error(), `frame: bad "n": not an integer from 0 to 999999999999`; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
	_, err = frame.Parse([]byte("x"))
	if got, want := err.Error(), `frame: payload does not start with {"v":"`; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
}

// TestParseTruncated parses every proper prefix of valid payloads: each must
// be refused with a *ParseError, and none may panic.
func TestParseTruncated(t *testing.T) {
	for _, p := range validPayloads(t) {
		if len(p) > 4096 {
			p = p[:4096] // the long ones add nothing but time
		}
		for i := 0; i < len(p); i++ {
			prefix := bytes.Clone(p[:i]) // exact capacity: reads past the end would fault
			_, err := frame.Parse(prefix)
			var pe *frame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%.80q...[%d bytes]): got error %v, want a *frame.ParseError", prefix, i, err)
			}
		}
	}
}

func TestParseIntoReusesCapacity(t *testing.T) {
	buf := make([]byte, 16, 64)
	f := frame.Frame{Data: buf}
	if err := frame.ParseInto(&f, []byte(validPayload)); err != nil {
		t.Fatalf("ParseInto: got error %v, want nil", err)
	}
	if got, want := unsafe.SliceData(f.Data), unsafe.SliceData(buf); got != want {
		t.Errorf("ParseInto: got Data backed by %p, want the existing array %p", got, want)
	}
	if !bytes.Equal(f.Data, []byte{0, 1, 2}) {
		t.Errorf("ParseInto: got Data %x, want 000102", f.Data)
	}
	if f.Source != "producer.example.org" || f.Epoch != 1764000000000 || f.Seq != 7 || f.Time != 1764000012345 {
		t.Errorf("ParseInto: got %+v, want the fields of validPayload", f)
	}

	// A second, longer frame into the same Frame still fits.
	big := frame.Frame{Source: "b", Epoch: 2, Seq: 3, Time: 4, Data: seq(64)}
	if err := frame.ParseInto(&f, big.Append(nil)); err != nil {
		t.Fatalf("ParseInto: got error %v, want nil", err)
	}
	if got, want := unsafe.SliceData(f.Data), unsafe.SliceData(buf); got != want {
		t.Errorf("ParseInto of 64 bytes into cap 64: got Data backed by %p, want %p", got, want)
	}
	if !bytes.Equal(f.Data, big.Data) || f.Source != "b" || f.Epoch != 2 || f.Seq != 3 || f.Time != 4 {
		t.Errorf("ParseInto: got %+v, want %+v", f, big)
	}

	// Too small a buffer is grown, not overrun.
	small := make([]byte, 0, 2)
	f = frame.Frame{Data: small}
	if err := frame.ParseInto(&f, big.Append(nil)); err != nil {
		t.Fatalf("ParseInto: got error %v, want nil", err)
	}
	if !bytes.Equal(f.Data, big.Data) {
		t.Errorf("ParseInto into cap 2: got Data %x, want %x", f.Data, big.Data)
	}

	// A shorter frame after a longer one is not padded with the old bytes.
	if err := frame.ParseInto(&f, []byte(validPayload)); err != nil {
		t.Fatalf("ParseInto: got error %v, want nil", err)
	}
	if !bytes.Equal(f.Data, []byte{0, 1, 2}) {
		t.Errorf("ParseInto after a longer frame: got Data %x, want 000102", f.Data)
	}
}

// TestAllocs pins the allocations of the hot path: Append into a reused
// buffer allocates nothing, ParseInto into a reused Frame only the source
// name.
func TestAllocs(t *testing.T) {
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: seq(512)}
	buf := f.Append(nil)
	if n := testing.AllocsPerRun(100, func() { buf = f.Append(buf[:0]) }); n != 0 {
		t.Errorf("Append allocations: got %v, want 0", n)
	}
	var g frame.Frame
	if err := frame.ParseInto(&g, buf); err != nil {
		t.Fatalf("ParseInto: got error %v, want nil", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = frame.ParseInto(&g, buf) }); n > 1 {
		t.Errorf("ParseInto allocations: got %v, want at most 1", n)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, size := range []int{32, 512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			src := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: seq(size)}
			p, err := src.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			var f frame.Frame
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := frame.ParseInto(&f, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{32, 512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: seq(size)}
			buf := make([]byte, 0, frame.MaxLen(f.Source, size))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				buf = f.Append(buf[:0])
			}
		})
	}
}
