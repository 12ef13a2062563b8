package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// verifyReference is how Keyring.Verify worked before it was written by
// hand, minus its strict pre-checks: go-jose's ParseSigned, one
// signature, alg EdDSA and a trusted kid in the protected header, then
// go-jose's Verify with that key. It is what a lenient receiver accepts;
// whatever Keyring.Verify accepts it must accept too, with the same
// payload and kid.
func verifyReference(ring *sign.Keyring, datagram []byte) (payload []byte, kid string, err error) {
	defer func() {
		if r := recover(); r != nil {
			payload, kid, err = nil, "", fmt.Errorf("go-jose panicked: %v", r)
		}
	}()
	jws, err := jose.ParseSigned(string(datagram))
	if err != nil {
		return nil, "", err
	}
	if len(jws.Signatures) != 1 {
		return nil, "", fmt.Errorf("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != sign.Alg {
		return nil, "", fmt.Errorf("alg %q", h.Algorithm)
	}
	key, ok := ring.Lookup(h.KeyID)
	if !ok {
		return nil, "", fmt.Errorf("kid %q", h.KeyID)
	}
	payload, err = jws.Verify(key.Public)
	if err != nil {
		return nil, "", err
	}
	return payload, key.ID, nil
}

// diffEnv is a keyring and a Signer for each of its keys.
type diffEnv struct {
	ring    *sign.Keyring
	signers map[string]*sign.Signer // by kid
	vector  []byte                  // the datagram of testdata/vector-ok.txt
}

func newDiffEnv(t testing.TB) *diffEnv {
	v := readVector(t, vectorFile)
	seed, err := hex.DecodeString(v["seed"])
	if err != nil {
		t.Fatal(err)
	}
	e := &diffEnv{signers: map[string]*sign.Signer{}, vector: []byte(v["datagram"])}
	var keys []sign.Key
	for _, priv := range []ed25519.PrivateKey{testKey(1), testKey(2), ed25519.NewKeyFromSeed(seed)} {
		s := mustSigner(t, priv)
		e.signers[s.KeyID()] = s
		keys = append(keys, sign.Key{Public: s.Public()})
	}
	if e.ring, err = sign.NewKeyring(keys...); err != nil {
		t.Fatal(err)
	}
	return e
}

// result is what one verifier made of a datagram.
type result struct {
	payload []byte
	kid     string
	err     error
}

// check runs Verify, VerifyInto and the reference on in and fails t unless
// what must hold for any input holds: VerifyInto agrees with Verify and
// returns a bare sentinel; anything accepted is accepted by go-jose with
// the same payload and kid, and is byte for byte what Signer.Sign makes of
// that payload, its one encoding.
func (e *diffEnv) check(t testing.TB, in []byte, dst []byte) (ours, ref result) {
	t.Helper()
	ours.payload, ours.kid, ours.err = e.ring.Verify(in)
	p, kid, err := e.ring.VerifyInto(dst, in)
	switch {
	case (err == nil) != (ours.err == nil) || err != nil && !errors.Is(ours.err, err):
		t.Fatalf("%.200q: VerifyInto: got error %v, Verify: got %v; want the same sentinel", in, err, ours.err)
	case err != nil && !slices.Contains([]error{sign.ErrMalformed, sign.ErrBadAlg, sign.ErrUnknownKey, sign.ErrBadSignature}, err):
		t.Fatalf("%.200q: VerifyInto: got error %v, want a bare sentinel", in, err)
	case !bytes.Equal(p, ours.payload) || kid != ours.kid:
		t.Fatalf("%.200q: VerifyInto: got %.40q from %q, Verify: got %.40q from %q; want the same", in, p, kid, ours.payload, ours.kid)
	}
	ref.payload, ref.kid, ref.err = verifyReference(e.ring, in)
	if ours.err != nil {
		return ours, ref
	}
	if ref.err != nil {
		t.Fatalf("%.200q: Verify accepts (kid %s), go-jose refuses: %v", in, ours.kid, ref.err)
	}
	if !bytes.Equal(ours.payload, ref.payload) || ours.kid != ref.kid {
		t.Fatalf("%.200q: Verify: got %.40q from %s, go-jose: got %.40q from %s; want the same", in, ours.payload, ours.kid, ref.payload, ref.kid)
	}
	if want := e.signers[ours.kid].Append(nil, ours.payload); !bytes.Equal(in, want) {
		t.Fatalf("%.200q: Verify accepts, but Sign makes %.200q of the payload; want one encoding per frame", in, want)
	}
	return ours, ref
}

// canonical reports whether in is the datagram that a key of the keyring
// makes of ref's payload, and that payload a length Sign accepts.
func (e *diffEnv) canonical(in []byte, ref result) bool {
	s, ok := e.signers[ref.kid]
	return ok && len(ref.payload) > 0 && len(ref.payload) <= sign.MaxPayload && bytes.Equal(in, s.Append(nil, ref.payload))
}

// entry is one datagram of the differential corpus.
type entry struct {
	cat  string // its category, for the tally
	in   []byte
	good bool  // Verify must accept it
	want error // else the sentinel Verify must return, or nil for any
}

// strict are the categories of datagrams that go-jose may accept and
// Keyring.Verify refuses: the other encodings of a signed frame, headers
// other than the canonical one, and payloads that Sign refuses.
var strict = map[string]bool{
	"mutation":                true, // a non-canonical last character
	"padded":                  true,
	"non-canonical base64":    true,
	"white space":             true,
	"JSON serialization":      true,
	"extra header member":     true,
	"b64":                     true,
	"duplicate header member": true,
	"header reordered":        true,
	"header white space":      true,
	"header escapes":          true,
	"header over 512 bytes":   true,
	"empty payload":           true,
	"payload over MaxPayload": true,
}

// corpus returns good datagrams and many ways of spoiling them. Single-byte
// mutations are left to [mutations]: there are too many to keep.
func (e *diffEnv) corpus(t testing.TB) []entry {
	k1, k2, attacker := testKey(1), testKey(2), testKey(9)
	s1, s2, sa := mustSigner(t, k1), mustSigner(t, k2), mustSigner(t, attacker)
	kid := s1.KeyID()
	pub1 := k1.Public().(ed25519.PublicKey)

	var c []entry
	add := func(cat string, want error, in ...[]byte) {
		for _, b := range in {
			c = append(c, entry{cat: cat, in: b, want: want})
		}
	}

	r := rand.NewChaCha8([32]byte{'d', 'i', 'f', 'f'})
	payloads := [][]byte{[]byte(testPayload), make([]byte, sign.MaxPayload)}
	for _, size := range []int{1, 32, 512} {
		f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: uint64(size), Time: 1764000012345, Data: make([]byte, size)}
		r.Read(f.Data)
		p, err := f.Append(nil), f.Check()
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	for n := 1; n <= 40; n++ {
		p := make([]byte, n)
		r.Read(p)
		payloads = append(payloads, p)
	}
	for _, p := range payloads {
		for _, s := range []*sign.Signer{s1, s2} {
			c = append(c, entry{cat: "good", in: mustSign(t, s, p), good: true})
		}
	}
	c = append(c, entry{cat: "good", in: e.vector, good: true})

	payload := []byte(testPayload)
	good := mustSign(t, s1, payload)
	parts := strings.Split(string(good), ".")
	hdr := `{"alg":"EdDSA","kid":"` + kid + `"}`

	// Truncated: every prefix, and each part shortened.
	for i := range len(good) {
		add("truncated", nil, bytes.Clone(good[:i]))
	}
	for i := range parts {
		for n := 1; n <= 4; n++ {
			q := slices.Clone(parts)
			q[i] = q[i][:len(q[i])-n]
			add("truncated", nil, []byte(strings.Join(q, ".")))
		}
	}
	add("parts", sign.ErrMalformed,
		[]byte(parts[0]), []byte(parts[0]+"."+parts[1]), []byte(string(good)+"."+parts[2]),
		[]byte(parts[0]+".."+parts[1]+".."+parts[2]), []byte(".."), []byte("..."), nil,
		[]byte(parts[0]+".."+parts[2]), []byte(parts[0]+"."+parts[1]+"."), []byte("."+parts[1]+"."+parts[2]))

	// Other encodings of the good datagram.
	for i := range parts {
		if len(parts[i])%4 != 0 {
			q := slices.Clone(parts)
			q[i] += strings.Repeat("=", 4-len(q[i])%4)
			add("padded", sign.ErrMalformed, []byte(strings.Join(q, ".")))
		}
		q := slices.Clone(parts)
		q[i] += "="
		add("padded", sign.ErrMalformed, []byte(strings.Join(q, ".")))
		if len(parts[i])%4 >= 2 {
			q := slices.Clone(parts)
			last := []byte(q[i])
			last[len(last)-1] = flipLowBit(last[len(last)-1])
			q[i] = string(last)
			add("non-canonical base64", sign.ErrMalformed, []byte(strings.Join(q, ".")))
		}
	}
	for _, ws := range []string{" ", "\n", "\r\n", "\t"} {
		for _, at := range []int{0, len(parts[0]), len(parts[0]) + 1, len(parts[0]) + 20, len(good) - 1, len(good)} {
			in := append(append(bytes.Clone(good[:at]), ws...), good[at:]...)
			add("white space", sign.ErrMalformed, in)
		}
	}
	add("standard alphabet", sign.ErrMalformed, []byte(strings.NewReplacer("-", "+", "_", "/").Replace(string(good))+"+/"))
	add("non-ASCII", sign.ErrMalformed, append(bytes.Clone(good), 0xc3, 0xa9), append([]byte{0xef, 0xbb, 0xbf}, good...))
	add("JSON serialization", sign.ErrMalformed,
		[]byte(`{"payload":"`+parts[1]+`","protected":"`+parts[0]+`","signature":"`+parts[2]+`"}`),
		[]byte(`{"payload":"`+parts[1]+`","signatures":[{"protected":"`+parts[0]+`","signature":"`+parts[2]+`"}]}`),
		[]byte(` {"payload":"`+parts[1]+`","protected":"`+parts[0]+`","header":{"kid":"`+kid+`"},"signature":"`+parts[2]+`"}`))
	d2 := strings.Split(string(mustSign(t, s2, payload)), ".")
	add("two signatures", sign.ErrMalformed,
		[]byte(`{"payload":"`+parts[1]+`","signatures":[{"protected":"`+parts[0]+`","signature":"`+parts[2]+`"},{"protected":"`+d2[0]+`","signature":"`+d2[2]+`"}]}`),
		[]byte(`{"payload":"`+parts[1]+`","signatures":[{"protected":"`+parts[0]+`","signature":"`+parts[2]+`"},{"protected":"`+parts[0]+`","signature":"`+parts[2]+`"}]}`),
		[]byte(string(good)+"."+d2[2]))
	unprot := forge(`{"alg":"EdDSA"}`, payload, k1, nil)
	up := strings.Split(string(unprot), ".")
	add("JSON serialization", sign.ErrMalformed,
		[]byte(`{"payload":"`+up[1]+`","protected":"`+up[0]+`","header":{"kid":"`+kid+`"},"signature":"`+up[2]+`"}`))

	// Headers other than the canonical one, signed with a trusted key.
	jwk1 := strings.TrimSpace(string(mustMarshalPublic(t, pub1)))
	jwkA := strings.TrimSpace(string(mustMarshalPublic(t, attacker.Public().(ed25519.PublicKey))))
	members := []string{
		`"jwk":` + jwk1, `"jwk":` + jwkA, `"jku":"https://attacker.example/jwks.json"`,
		`"x5u":"https://attacker.example/cert.pem"`, `"x5c":["MIIBAA=="]`, `"x5t":"AAAA"`,
		`"crit":["exp"],"exp":1`, `"crit":[]`, `"zip":"DEF"`, `"typ":"JOSE"`, `"cty":"iedp"`, `"x":null`, `"":1`,
	}
	for _, m := range members {
		for _, h := range []string{
			`{` + m + `,"alg":"EdDSA","kid":"` + kid + `"}`,
			`{"alg":"EdDSA",` + m + `,"kid":"` + kid + `"}`,
			`{"alg":"EdDSA","kid":"` + kid + `",` + m + `}`,
		} {
			add("extra header member", sign.ErrMalformed, forge(h, payload, k1, nil))
		}
	}
	for _, h := range []string{
		`{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"` + kid + `"}`,
		`{"alg":"EdDSA","b64":false,"kid":"` + kid + `"}`,
		`{"alg":"EdDSA","b64":true,"crit":["b64"],"kid":"` + kid + `"}`,
	} {
		// Signed over the payload as it stands, and over its base64url.
		input := b64u([]byte(h)) + "." + string(payload)
		add("b64", sign.ErrMalformed,
			[]byte(b64u([]byte(h))+"."+b64u(payload)+"."+b64u(ed25519.Sign(k1, []byte(input)))),
			forge(h, payload, k1, nil))
	}
	add("duplicate header member", sign.ErrMalformed,
		forge(`{"alg":"EdDSA","alg":"EdDSA","kid":"`+kid+`"}`, payload, k1, nil),
		forge(`{"alg":"none","alg":"EdDSA","kid":"`+kid+`"}`, payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":"`+kid+`","kid":"`+kid+`"}`, payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":"`+kidOf(9)+`","kid":"`+kid+`"}`, payload, k1, nil))
	add("header reordered", sign.ErrMalformed, forge(`{"kid":"`+kid+`","alg":"EdDSA"}`, payload, k1, nil))
	for _, h := range []string{
		`{ "alg":"EdDSA","kid":"` + kid + `"}`, `{"alg" : "EdDSA", "kid" : "` + kid + `"}`,
		`{"alg":"EdDSA","kid":"` + kid + `"}` + "\n", "\t" + hdr, "\r\n" + hdr,
	} {
		add("header white space", sign.ErrMalformed, forge(h, payload, k1, nil))
	}
	add("header escapes", sign.ErrMalformed,
		forge(`{"alg":"EdDS\u0041","kid":"`+kid+`"}`, payload, k1, nil),
		forge(`{"\u0061lg":"EdDSA","kid":"`+kid+`"}`, payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":"\u00`+fmt.Sprintf("%02x", kid[0])+kid[1:]+`"}`, payload, k1, nil))
	add("header over 512 bytes", sign.ErrMalformed, forge(`{"alg":"EdDSA","kid":"`+kid+`","typ":"`+strings.Repeat("x", 600)+`"}`, payload, k1, nil))
	add("header not JSON", sign.ErrMalformed,
		forge(``, payload, k1, nil), forge(`null`, payload, k1, nil), forge(`"EdDSA"`, payload, k1, nil),
		forge(`[`+hdr+`]`, payload, k1, nil), forge(hdr[:len(hdr)-1], payload, k1, nil), forge(hdr+"x", payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":"`+kid+`",}`, payload, k1, nil), forge(`{"alg":"EdDSA","kid":"`+kid+"\x00\"}", payload, k1, nil))
	add("header without alg or kid", sign.ErrMalformed,
		forge(`{"kid":"`+kid+`"}`, payload, k1, nil), forge(`{"alg":"EdDSA"}`, payload, k1, nil), forge(`{}`, payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":"`+kid[:42]+`"}`, payload, k1, nil), forge(`{"alg":"EdDSA","kid":"`+kid+`A"}`, payload, k1, nil),
		forge(`{"alg":"EdDSA","kid":null}`, payload, k1, nil), forge(`{"alg":null,"kid":"`+kid+`"}`, payload, k1, nil))

	// Other algorithms, with signatures that would fool a careless verifier.
	for _, alg := range []string{"none", "HS256", "HS512", "RS256", "ES256", "PS256", "Ed25519", "eddsa", "EDDSA", "EdDSA ", ""} {
		h := `{"alg":"` + alg + `","kid":"` + kid + `"}`
		add("alg "+alg, sign.ErrBadAlg,
			forge(h, payload, k1, nil), forge(h, payload, nil, make([]byte, 64)),
			forge(h, payload, nil, hmacSum(pub1, h, payload)), forge(h, payload, nil, hmacSum([]byte(jwk1), h, payload)),
			forge(`{"alg":"`+alg+`"}`, payload, nil, []byte{1}))
		add("alg "+alg, sign.ErrMalformed, forge(h, payload, nil, nil))
	}

	// Keys and signatures.
	add("unknown key", sign.ErrUnknownKey,
		mustSign(t, sa, payload), forge(`{"alg":"EdDSA","kid":"`+strings.ToUpper(kid)+`"}`, payload, k1, nil))
	add("wrong key", sign.ErrBadSignature,
		forge(hdr, payload, attacker, nil), forge(hdr, payload, k2, nil), forge(hdr, payload, nil, make([]byte, 64)),
		forge(hdr, payload, nil, make([]byte, 63)), forge(hdr, payload, nil, make([]byte, 65)))
	a1 := strings.Split(string(mustSign(t, s1, []byte("frame A"))), ".")
	b1 := strings.Split(string(mustSign(t, s1, []byte("frame B"))), ".")
	b2 := strings.Split(string(mustSign(t, s2, []byte("frame B"))), ".")
	join := func(p ...string) []byte { return []byte(strings.Join(p, ".")) }
	add("swapped", sign.ErrBadSignature,
		join(a1[0], b1[1], a1[2]), join(a1[0], a1[1], b1[2]), join(b2[0], a1[1], a1[2]),
		join(a1[0], b2[1], b2[2]), join(a1[0], a1[1], b2[2]))
	add("swapped", nil, join(a1[1], a1[0], a1[2]), join(a1[0], a1[2], a1[1]), join(a1[2], a1[1], a1[0]))

	// Payloads that go-jose signs and Sign refuses.
	add("empty payload", sign.ErrMalformed, referenceSign(t, k1, nil), forge(hdr, nil, k1, nil))
	add("payload over MaxPayload", sign.ErrMalformed, referenceSign(t, k1, make([]byte, sign.MaxPayload+1)))
	return c
}

// flipLowBit returns the base64url character whose value differs from c's
// in the lowest bit.
func flipLowBit(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return alphabet[strings.IndexByte(alphabet, c)^1]
}

// mutationBases are the datagrams whose every single-byte mutation is
// checked: small ones, with payloads of 1 and 2 bytes so that the payload
// part ends in a character with unused bits.
func mutationBases(t testing.TB) [][]byte {
	s := mustSigner(t, testKey(1))
	return [][]byte{mustSign(t, s, []byte{'x'}), mustSign(t, s, []byte("xy"))}
}

// tally counts what happened to the datagrams of one category.
type tally struct{ n, ours, ref, refOnly int }

// TestDifferential runs the corpus and every single-byte mutation of a
// few datagrams through Verify and the go-jose reference: whatever Verify
// accepts, go-jose accepts with the same payload and kid; whatever go-jose
// accepts and Verify refuses is another encoding of a frame, or a header
// or payload the protocol does not allow (the strict categories), never a
// datagram as Sign makes it.
func TestDifferential(t *testing.T) {
	e := newDiffEnv(t)
	tallies := map[string]*tally{}
	dst := make([]byte, 0, 256)
	run := func(cat string, in []byte, good bool, want error) {
		ours, ref := e.check(t, in, dst)
		tl := tallies[cat]
		if tl == nil {
			tl = &tally{}
			tallies[cat] = tl
		}
		tl.n++
		if ours.err == nil {
			tl.ours++
		}
		if ref.err == nil {
			tl.ref++
		}
		switch {
		case good && ours.err != nil:
			t.Errorf("%s %.100q: Verify: got error %v, want nil", cat, in, ours.err)
		case !good && ours.err == nil:
			t.Errorf("%s %.100q: Verify: got payload %.40q, want an error", cat, in, ours.payload)
		case want != nil && !errors.Is(ours.err, want):
			t.Errorf("%s %.100q: Verify: got error %v, want %v", cat, in, ours.err, want)
		}
		if ref.err == nil && ours.err != nil {
			tl.refOnly++
			if e.canonical(in, ref) {
				t.Errorf("%s %.100q: Verify: got error %v for a datagram exactly as Sign makes it", cat, in, ours.err)
			}
			if !strict[cat] {
				t.Errorf("%s %.100q: go-jose accepts, Verify: got error %v; want this category to be strict or both to refuse", cat, in, ours.err)
			}
		}
	}
	for _, c := range e.corpus(t) {
		run(c.cat, c.in, c.good, c.want)
	}
	bases := mutationBases(t)
	if testing.Short() {
		bases = bases[:1]
	}
	for _, d := range bases {
		m := bytes.Clone(d)
		for i := range m {
			for b := range 256 {
				if byte(b) == d[i] {
					continue
				}
				m[i] = byte(b)
				run("mutation", m, false, nil)
			}
			m[i] = d[i]
		}
	}
	cats := make([]string, 0, len(tallies))
	for cat := range tallies {
		cats = append(cats, cat)
	}
	slices.Sort(cats)
	t.Logf("%-26s %7s %7s %7s %s", "category", "inputs", "Verify", "go-jose", "go-jose only")
	for _, cat := range cats {
		tl := tallies[cat]
		t.Logf("%-26s %7d %7d %7d %d", cat, tl.n, tl.ours, tl.ref, tl.refOnly)
	}
}

// FuzzVerify checks, for any input, what TestDifferential checks for its
// corpus: no panic, VerifyInto agrees with Verify, and whatever Verify
// accepts go-jose accepts with the same payload and kid, and Sign makes of
// that payload byte for byte.
func FuzzVerify(f *testing.F) {
	e := newDiffEnv(f)
	seeds := 0
	for _, c := range e.corpus(f) {
		if len(c.in) <= 4096 {
			f.Add(c.in)
			seeds++
		}
	}
	for _, d := range mutationBases(f) {
		for i := 0; i < len(d); i += 7 {
			m := bytes.Clone(d)
			m[i] ^= 0x20
			f.Add(m)
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds: want the differential corpus")
	}
	dst := make([]byte, 0, 4096)
	f.Fuzz(func(t *testing.T, in []byte) {
		e.check(t, in, dst)
	})
}
