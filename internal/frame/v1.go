package frame

import (
	"encoding/base64"
	"fmt"
)

// V1Version is the value of "v" in the unsigned frames of the original
// ssmrandom (2012), which a datagram carries bare, with no signature
// (docs/protocol.md §8).
const V1Version = "1.0"

// AppendV1 appends to dst the version 1.0 payload that the original
// ssmrandom sent for data read from source, byte for byte as its Python 2.7
// json.dumps wrote it:
//
//	{"s": SOURCE, "d": DATA, "v": "1.0"}
//
// with the keys in the order CPython 2.7 keeps them in a dict, ", " and
// ": " as separators, and DATA standard base64 with padding. The original
// put the path of its input device in "s". AppendV1 does not check its
// arguments: source should be [ValidSource], data 1 to [MaxData] bytes, or
// [ParseV1] will refuse the result.
func AppendV1(dst []byte, source string, data []byte) []byte {
	dst = append(dst, `{"s": "`...)
	dst = append(dst, source...)
	dst = append(dst, `", "d": "`...)
	dst = base64.StdEncoding.AppendEncode(dst, data)
	return append(dst, `", "v": "`+V1Version+`"}`...)
}

// V1Len returns the length of the payload [AppendV1] makes for a source
// name and dataLen bytes of data.
func V1Len(source string, dataLen int) int {
	const fixed = len(`{"s": "", "d": "", "v": "1.0"}`)
	return fixed + len(source) + base64.StdEncoding.EncodedLen(dataLen)
}

// ParseV1 decodes a version 1.0 payload into f: it sets f.Source, decodes
// "d" into f.Data (reusing its capacity), and zeroes f.Epoch, f.Seq and
// f.Time, which a version 1.0 frame does not have. It accepts what
// docs/protocol.md §8 allows and nothing else: an object of exactly the
// members "v", "s" and "d" in any order, each once, with an optional
// single space after each ':' and ','; no other white space; strings
// without escapes; "v" exactly "1.0"; "s" a [ValidSource]; "d" canonical
// standard base64 of 1 to [MaxData] bytes. Errors are a *[ParseError]
// wrapping [ErrVersion] or [ErrSyntax]. On error f holds no meaningful
// value.
func ParseV1(f *Frame, b []byte) error {
	f.Data = f.Data[:0]
	f.Epoch, f.Seq, f.Time = 0, 0, 0
	p := parser{b: b}
	if !p.lit(`{`) {
		return p.fail("", "version 1.0 payload does not start with {", ErrSyntax)
	}
	var v, s, d []byte
	var seen [3]bool // v, s, d
	for i := range 3 {
		if i > 0 {
			if !p.lit(`,`) {
				return p.fail("", "version 1.0 payload: want 3 members separated by ','", ErrSyntax)
			}
			p.lit(` `)
		}
		if !p.lit(`"`) {
			return p.fail("", "version 1.0 payload: want a member name", ErrSyntax)
		}
		name, ok := p.str()
		if !ok {
			return p.fail("", "version 1.0 payload: bad member name", ErrSyntax)
		}
		k := -1
		switch string(name) {
		case "v":
			k = 0
		case "s":
			k = 1
		case "d":
			k = 2
		}
		if k < 0 || seen[k] {
			return p.fail("", fmt.Sprintf("version 1.0 payload: member %.8q unknown or repeated", name), ErrSyntax)
		}
		seen[k] = true
		if !p.lit(`:`) {
			return p.fail(string(name), "want ':' after the name", ErrSyntax)
		}
		p.lit(` `)
		if !p.lit(`"`) {
			return p.fail(string(name), "not a string", ErrSyntax)
		}
		val, ok := p.str()
		if !ok {
			return p.fail(string(name), "not a string without escapes", ErrSyntax)
		}
		switch k {
		case 0:
			v = val
		case 1:
			s = val
		case 2:
			d = val
		}
	}
	if !p.lit(`}`) || p.i != len(p.b) {
		return p.fail("", "version 1.0 payload: trailing bytes after the third member", ErrSyntax)
	}
	if string(v) != V1Version {
		return p.fail("v", fmt.Sprintf("%.8q is not %q", v, V1Version), ErrVersion)
	}
	if !ValidSource(string(s)) {
		return p.fail("s", "not a valid source name", ErrSyntax)
	}
	if len(d) == 0 {
		return p.fail("d", "empty", ErrSyntax)
	}
	if base64.StdEncoding.DecodedLen(len(d)) > MaxData+2 {
		return p.fail("d", "longer than the frame limit", ErrSyntax)
	}
	if err := DecodeData(f, d); err != nil {
		return err
	}
	if f.Source != string(s) { // no allocation while the source stays the same
		f.Source = string(s)
	}
	return nil
}
