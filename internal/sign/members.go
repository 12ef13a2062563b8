package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// jwkMembers are the members a producer JWK may have (docs/protocol.md
// §7): what keygen writes, and "d" in a private key. Names are
// case-sensitive: "X" is not "x", and is refused, not read as "x".
var jwkMembers = []string{"kty", "crv", "x", "d", "kid", "alg", "use", "nbf", "exp"}

// members splits a JSON object into its members, refusing a member given
// twice; names are compared exactly (encoding/json would match "Keys" to
// a field "keys"). Its errors say where the JSON broke but quote none of
// it: the file may hold a private key.
func members(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	bad := func() error { return fmt.Errorf("not a JSON object (at byte %d)", dec.InputOffset()) }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad()
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad()
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad()
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("member %.32q given twice", name)
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad()
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// onlyMembers returns an error naming the first member of m, in sorted
// order, that is not one of allowed, or nil.
func onlyMembers(m map[string]json.RawMessage, allowed []string) error {
	var unknown []string
	for name := range m {
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("unknown member %.32q (member names are case-sensitive)", unknown[0])
}

// misspeltKeys returns the name of a member of m that is "keys" but for
// case, such as "Keys", if m has no "keys"; or "".
func misspeltKeys(m map[string]json.RawMessage) string {
	if _, ok := m["keys"]; ok {
		return ""
	}
	for name := range m {
		if strings.EqualFold(name, "keys") {
			return name
		}
	}
	return ""
}

// digits reports whether b is one or more decimal digits: a JSON integer
// that is not negative, with no fraction, exponent or sign, and not null.
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
