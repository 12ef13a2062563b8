package keyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// MaxNumericDate bounds a JWK's "nbf" and "exp" (docs/protocol.md §7):
// the last second of the year 9999.
const MaxNumericDate = 253402300799

// Members splits a JSON object into its members, refusing a member given
// twice; names are compared exactly (encoding/json would match "Keys" to
// a field "keys"). Its errors say where the JSON broke but quote none of
// it: the file may hold a private key.
func Members(b []byte) (map[string]json.RawMessage, error) {
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

// Only returns an error naming the first member of m, in sorted order,
// that is not one of allowed, or nil.
func Only(m map[string]json.RawMessage, allowed []string) error {
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

// JWKs returns the JWKs of a key file b: the members of "keys" if b is a
// JWK Set (an object with the one member "keys", spelt so, docs/protocol.md
// §7), with set true; else b itself, one JWK, which its parser checks.
// Its errors name no key material; the caller wraps them in its sentinel.
func JWKs(b []byte) (jwks []json.RawMessage, set bool, err error) {
	m, err := Members(b)
	if err != nil {
		return nil, false, err
	}
	raw, ok := m["keys"]
	if !ok {
		for name := range m {
			if strings.EqualFold(name, "keys") {
				return nil, false, fmt.Errorf("member %q: a JWK Set's is \"keys\" (member names are case-sensitive)", name)
			}
		}
		return []json.RawMessage{b}, false, nil
	}
	if err := Only(m, []string{"keys"}); err != nil {
		return nil, false, fmt.Errorf("a JWK Set: %v", err)
	}
	if err := json.Unmarshal(raw, &jwks); err != nil || jwks == nil {
		return nil, false, errors.New("\"keys\" is not an array of JWKs")
	}
	return jwks, true, nil
}

// Digits reports whether b is one or more decimal digits: a JSON integer
// that is not negative, with no fraction, exponent or sign, and not null.
func Digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// CheckPeriod reports a validity period a JWK cannot hold: a bound that
// is not a whole second from 1970 to 9999, or an end not after the start.
// A zero bound is no bound. The caller wraps the error in its sentinel.
func CheckPeriod(notBefore, notAfter time.Time) error {
	for _, t := range []time.Time{notBefore, notAfter} {
		if !t.IsZero() && (t.Unix() < 0 || t.Unix() > MaxNumericDate || t.Nanosecond() != 0) {
			return fmt.Errorf("validity bound %s is not a whole second from 1970 to 9999", t.UTC().Format(time.RFC3339Nano))
		}
	}
	if !notBefore.IsZero() && !notAfter.IsZero() && !notBefore.Before(notAfter) {
		return fmt.Errorf("\"exp\" %d is not after \"nbf\" %d", notAfter.Unix(), notBefore.Unix())
	}
	return nil
}
