package receive_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

// The hostile corpus: testdata/hostile/*.txt, one attack per file, in the
// format testdata/hostile/README.txt describes. TestHostileCorpus checks
// that the generator below still writes every file byte for byte and that
// a fresh Pipeline gives each datagram the expected verdict without
// letting one byte of it reach the output (docs/protocol.md §5). Run it
// with -update to rewrite the files after a deliberate change.

const (
	hostileDir = "testdata/hostile"
	// hostileNow is the receiver's clock, Unix milliseconds, in every case
	// but those that say otherwise.
	hostileNow int64 = 1764000060000
	// hostileEpoch, hostileSeq and hostileSource are the fields of the
	// producer's good frame (the test vector's, docs/protocol.md §6).
	hostileEpoch  uint64 = 1764000000000
	hostileSeq    uint64 = 7
	hostileSource        = "producer.example.org"
	// hostileMaxDatagram is the receiver's size limit: IPv4 over Ethernet.
	hostileMaxDatagram = 1472
	// hostileMaxSeed is the longest corpus datagram given to the fuzzer.
	hostileMaxSeed = 4096
)

// hostileUpdate reports whether -update was given. The flag is defined
// here unless another file of the package defines it already.
func hostileUpdate() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, _ := g.Get().(bool)
	return b
}

func init() {
	// Package-level variables of every file are initialized before any
	// init function runs, so a flag defined by another test file is seen.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the test data files from the generators instead of checking them")
	}
}

// hostileKey returns the Ed25519 key whose seed is the 32 bytes first,
// first+1, ...: 0 for the trusted producer, 32 for the attacker.
func hostileKey(first byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

var (
	hostileProducer = hostileKey(0)
	hostileAttacker = hostileKey(32)
)

// hostileSigner returns a sign.Signer for priv.
func hostileSigner(t testing.TB, priv ed25519.PrivateKey) *sign.Signer {
	t.Helper()
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hostileTrust returns the receiver's keyring: the producer's key only.
func hostileTrust(t testing.TB) *sign.Keyring {
	t.Helper()
	ring, err := sign.NewKeyring(sign.Key{Public: hostileProducer.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// hostileData returns n entropy bytes 0xa0, 0xa1, ...
func hostileData(n int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = 0xa0 + byte(i)
	}
	return d
}

// hostileFrame is the producer's good frame with the given sequence
// number and time, 32 bytes of data.
func hostileFrame(seq uint64, ms int64) frame.Frame {
	return frame.Frame{Source: hostileSource, Epoch: hostileEpoch, Seq: seq, Time: ms, Data: hostileData(32)}
}

// hostilePayload returns the canonical payload of f.
func hostilePayload(t testing.TB, f frame.Frame) string {
	t.Helper()
	p, err := f.Append(nil), f.Check()
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// hostileSign returns the producer's datagram for f, made by sign.Signer.
func hostileSign(t testing.TB, f frame.Frame) string {
	t.Helper()
	d, err := hostileSigner(t, hostileProducer).Sign([]byte(hostilePayload(t, f)))
	if err != nil {
		t.Fatal(err)
	}
	return string(d)
}

var hostileB64 = base64.RawURLEncoding.EncodeToString

// hostileJWS returns header and payload as a compact JWS signed by priv
// with Ed25519, whatever the header says.
func hostileJWS(priv ed25519.PrivateKey, header, payload string) string {
	input := hostileB64([]byte(header)) + "." + hostileB64([]byte(payload))
	return input + "." + hostileB64(ed25519.Sign(priv, []byte(input)))
}

// hostileHeader returns the canonical protected header for kid.
func hostileHeader(kid string) string { return `{"alg":"EdDSA","kid":"` + kid + `"}` }

// hostileParts splits a compact JWS into its three parts.
func hostileParts(t testing.TB, jws string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// hostileCase is one corpus file.
type hostileCase struct {
	name     string   // the file name without ".txt"
	desc     []string // comment lines: the attack, then notes
	expect   string   // "ok" or a receive.Reason name with spaces for "_"
	start    int64    // when the pipeline is made, Unix ms; 0 means now
	now      int64    // the receiver's clock when the datagrams arrive
	before   []string // datagrams fed first; each must be forwarded
	datagram []byte   // the datagram under test
}

// marshal returns the file's bytes.
func (c hostileCase) marshal() []byte {
	var b bytes.Buffer
	for _, d := range c.desc {
		fmt.Fprintf(&b, "# %s\n", d)
	}
	fmt.Fprintf(&b, "expect: %s\n", c.expect)
	if c.start != 0 && c.start != c.now {
		fmt.Fprintf(&b, "start: %d\n", c.start)
	}
	fmt.Fprintf(&b, "now: %d\n", c.now)
	for _, d := range c.before {
		fmt.Fprintf(&b, "before: %s\n", d)
	}
	d := c.datagram
	switch {
	case len(d) > 64 && bytes.Count(d, d[:1]) == len(d):
		fmt.Fprintf(&b, "datagram-repeat: %02x %d\n", d[0], len(d))
	case hostileText(d):
		fmt.Fprintf(&b, "datagram: %s\n", d)
	default:
		fmt.Fprintf(&b, "datagram-hex: %x\n", d)
	}
	return b.Bytes()
}

// hostileText reports whether d can stand as text on a "datagram:" line:
// printable ASCII, spaces only inside.
func hostileText(d []byte) bool {
	if len(d) == 0 || len(d) > hostileMaxSeed || d[0] == ' ' || d[len(d)-1] == ' ' {
		return false
	}
	for _, c := range d {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// hostileCases generates the corpus.
func hostileCases(t testing.TB) []hostileCase {
	t.Helper()
	producer := hostileSigner(t, hostileProducer)
	attacker := hostileSigner(t, hostileAttacker)
	pkid, akid := producer.KeyID(), attacker.KeyID()
	now := hostileNow

	goodFrame := hostileFrame(hostileSeq, now)
	goodPayload := hostilePayload(t, goodFrame)
	good := hostileSign(t, goodFrame)
	if got := hostileJWS(hostileProducer, hostileHeader(pkid), goodPayload); got != good {
		t.Fatalf("hostileJWS of the good frame:\ngot  %s\nwant %s (sign.Signer)", got, good)
	}
	gh, gp, gs := hostileParts(t, good)
	// signed returns a datagram of the producer's key over payload.
	signed := func(payload string) []byte {
		return []byte(hostileJWS(hostileProducer, hostileHeader(pkid), payload))
	}
	// at returns the good frame with other fields.
	at := func(epoch, seq uint64, ms int64, data []byte) frame.Frame {
		f := hostileFrame(seq, ms)
		f.Epoch = epoch
		if data != nil {
			f.Data = data
		}
		return f
	}
	stdData := base64.StdEncoding.EncodeToString(goodFrame.Data)
	// payloadWith returns the good payload with its "from" text replaced.
	payloadWith := func(from, to string) string {
		if !strings.Contains(goodPayload, from) {
			t.Fatalf("payload %s has no %q", goodPayload, from)
		}
		return strings.Replace(goodPayload, from, to, 1)
	}

	var cs []hostileCase
	add := func(name, expect string, datagram []byte, desc ...string) *hostileCase {
		cs = append(cs, hostileCase{name: name, desc: desc, expect: expect, now: now, datagram: datagram})
		return &cs[len(cs)-1]
	}

	// Good frames, and the boundaries they must stay inside.
	add("ok", "ok", []byte(good), "the producer's good frame, fresh and unseen: forwarded")
	add("fresh-max-skew", "ok", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now+5000, nil))),
		"a frame dated exactly MaxSkew (5 s) ahead of the receiver's clock: forwarded")
	c := add("fresh-max-age", "ok", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now-30000, nil))),
		"a frame exactly MaxAge (30 s) old, to a receiver started a minute ago: forwarded")
	c.start = now - 60000
	c = add("inside-window", "ok", []byte(good),
		"a frame 1023 behind the highest sequence number seen: reordered, inside the window, forwarded")
	c.before = []string{hostileSign(t, at(hostileEpoch, hostileSeq+1023, now, nil))}
	add("max-size-1472", "ok", []byte(hostileSized(t, hostileMaxDatagram)), "a good frame of exactly the receiver's limit, 1472 bytes: forwarded")

	// Size.
	add("too-big-1473", "too big", []byte(hostileSized(t, hostileMaxDatagram+1)),
		"a good frame one byte over the receiver's 1472-byte limit: dropped before parsing")
	add("too-big-65000", "too big", bytes.Repeat([]byte{'A'}, 65000),
		"a 65000-byte datagram of base64url characters: dropped before parsing")

	// alg confusion.
	noneHeader := hostileB64([]byte(`{"alg":"none"}`))
	add("alg-none-unsigned", "malformed", []byte(noneHeader+"."+gp+"."),
		`alg none without a signature: H.P. with H = {"alg":"none"}`,
		"the empty third part is malformed (§3.1) before the header is read")
	add("alg-none-signed", "bad alg", []byte(hostileJWS(hostileAttacker, `{"alg":"none","kid":"`+pkid+`"}`, goodPayload)),
		`alg none with the trusted kid and a signature (the attacker's): {"alg":"none","kid":TRUSTED}`)
	hs256 := func(key []byte) []byte {
		input := hostileB64([]byte(`{"alg":"HS256","kid":"`+pkid+`"}`)) + "." + gp
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return []byte(input + "." + hostileB64(m.Sum(nil)))
	}
	add("hs256-pubkey", "bad alg", hs256(hostileProducer.Public().(ed25519.PublicKey)),
		"alg HS256 with the trusted kid, HMAC keyed by the producer's raw 32-byte public key")
	jwk, err := sign.MarshalPublicValid(hostileProducer.Public().(ed25519.PublicKey), sign.Validity{})
	if err != nil {
		t.Fatal(err)
	}
	add("hs256-jwk", "bad alg", hs256(bytes.TrimSpace(jwk)),
		"alg HS256 with the trusted kid, HMAC keyed by the producer's public JWK as JSON")
	add("alg-lowercase", "bad alg", []byte(hostileJWS(hostileProducer, `{"alg":"eddsa","kid":"`+pkid+`"}`, goodPayload)),
		`alg "eddsa" (lower case) with the producer's real signature: algorithm names are case-sensitive`)
	add("alg-ed25519", "bad alg", []byte(hostileJWS(hostileProducer, `{"alg":"Ed25519","kid":"`+pkid+`"}`, goodPayload)),
		`alg "Ed25519" (RFC 9864's fully-specified name) with the producer's real signature: only "EdDSA" is accepted`)

	// Keys in the header.
	ax := hostileB64(hostileAttacker.Public().(ed25519.PublicKey))
	jwkHeader := func(kid string) string {
		return `{"alg":"EdDSA","jwk":{"crv":"Ed25519","kty":"OKP","x":"` + ax + `"},"kid":"` + kid + `"}`
	}
	add("jwk-attacker-kid", "malformed", []byte(hostileJWS(hostileAttacker, jwkHeader(akid), goodPayload)),
		"an embedded jwk header member carrying the attacker's key, with the attacker's kid, signed by the attacker")
	add("jwk-trusted-kid", "malformed", []byte(hostileJWS(hostileAttacker, jwkHeader(pkid), goodPayload)),
		"an embedded jwk header member carrying the attacker's key, with the trusted kid, signed by the attacker")
	add("header-b64-false", "malformed", []byte(hostileJWS(hostileProducer, `{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"`+pkid+`"}`, goodPayload)),
		`RFC 7797 "b64":false with "crit", the trusted kid and the producer's real signature over it`)
	add("header-member-order", "malformed", []byte(hostileJWS(hostileProducer, `{"kid":"`+pkid+`","alg":"EdDSA"}`, goodPayload)),
		`the header's members in the other order, {"kid":...,"alg":"EdDSA"}, with the producer's real signature`)
	add("header-whitespace", "malformed", []byte(hostileJWS(hostileProducer, `{"alg": "EdDSA", "kid": "`+pkid+`"}`, goodPayload)),
		"the canonical header with white space after the colons and comma, with the producer's real signature")

	// Keys and signatures.
	add("unknown-kid", "unknown key", []byte(hostileJWS(hostileAttacker, hostileHeader(akid), goodPayload)),
		"the good frame signed by the attacker, under the attacker's own kid")
	add("attacker-signature", "bad signature", []byte(hostileJWS(hostileAttacker, hostileHeader(pkid), goodPayload)),
		"the good frame under the trusted kid, signed by the attacker's key")
	flipped := hostileFrame(hostileSeq, now)
	flipped.Data[0] ^= 0x01
	add("payload-bit-flip", "bad signature", []byte(gh+"."+hostileB64([]byte(hostilePayload(t, flipped)))+"."+gs),
		`the good frame with the first byte of "d" flipped (payload re-encoded canonically), the signature kept`)
	second := hostileSign(t, hostileFrame(hostileSeq+1, now))
	_, p2, _ := hostileParts(t, second)
	// A seed datagram of the trusted producer (docs/protocol.md §9): one
	// entry of fixed bytes, since recv opens none.
	sh := seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: hostileEpoch, Seq: hostileSeq, Time: now, Round: 0,
		PlaintextLen: seedwire.MinPlaintext, Count: 1}
	seedPayload := seedwire.AppendEntry(sh.Append(nil), seedwire.HostID{1, 2, 3, 4, 5, 6, 7, 8},
		hostileData(seedwire.EntryLen(seedwire.SuiteX25519, seedwire.MinPlaintext)-seedwire.HostIDSize))
	add("seed-datagram", "seed", []byte(hostileJWS(hostileProducer, hostileHeader(pkid), string(seedPayload))),
		"a seed datagram of the trusted producer, fresh, unseen, well signed: not a frame, skipped before",
		"its signature is checked and counted as seed, not as a reject (§9.2)")
	add("swapped-payload", "bad signature", []byte(gh+"."+p2+"."+gs),
		"H1.P2.S1: the header and signature of one good frame (n 7), the payload of the next (n 8), same key")
	add("zero-signature", "bad signature", []byte(gh+"."+gp+"."+hostileB64(make([]byte, ed25519.SignatureSize))),
		"the good frame with a signature of 64 zero bytes")
	add("signature-malleable", "bad signature", []byte(gh+"."+gp+"."+hostileB64(hostileMalleate(t, gs))),
		"the good frame with its signature's S replaced by S + L (the group order): the same signature to a",
		"lax verifier, refused by RFC 8032's S < L check, so one frame cannot be sent in two encodings")
	add("truncated-signature-84", "bad signature", []byte(good[:len(good)-2]),
		"the good frame cut 2 characters short: 84 characters of signature are canonical base64url (63 bytes),",
		"so the datagram is well formed and refused for a signature that is not 64 bytes")

	// Shape of the datagram.
	add("truncated-header", "malformed", []byte(good[:20]), "the good frame cut after 20 characters, inside the header")
	add("truncated-after-header", "malformed", []byte(gh+"."), "the good frame cut right after the first dot")
	add("truncated-payload", "malformed", []byte(gh+"."+gp[:len(gp)/2]), "the good frame cut in the middle of the payload")
	add("truncated-no-signature", "malformed", []byte(gh+"."+gp+"."), "the good frame cut right after the second dot: empty signature part")
	add("truncated-signature-85", "malformed", []byte(good[:len(good)-1]),
		"the good frame cut 1 character short: 85 characters are no base64url encoding (length 1 mod 4)")
	add("four-parts", "malformed", []byte(good+"."+gs), "the good frame with its signature given twice, as a fourth part")
	add("empty", "malformed", []byte{}, "an empty datagram")
	add("padding-signature", "malformed", []byte(good+"=="), "the good frame with base64 padding == after the signature")
	if len(gp)%4 == 0 {
		t.Fatalf("payload part of %d characters needs no padding; the padding case wants one that does", len(gp))
	}
	add("padding-payload", "malformed", []byte(gh+"."+gp+strings.Repeat("=", 4-len(gp)%4)+"."+gs),
		"the good frame with base64 padding after the payload part")
	add("non-base64url", "malformed", []byte(gh+"."+gp[:10]+"+"+gp[11:]+"."+gs),
		"the good frame with one payload character replaced by '+', of the standard base64 alphabet")
	add("trailing-newline", "malformed", []byte(good+"\n"), "the good frame followed by a newline")
	add("trailing-space", "malformed", []byte(good+" "), "the good frame followed by a space")
	add("leading-space", "malformed", []byte(" "+good), "the good frame preceded by a space")
	add("json-serialization", "malformed", []byte(`{"payload":"`+gp+`","protected":"`+gh+`","signature":"`+gs+`"}`),
		"the good frame in the JWS JSON Serialization (RFC 7515 §7.2.2), which go-jose would accept")

	// The payload, signed by the producer's real key: a compromised or buggy
	// producer, or the checks' order (§5: the payload is read before the
	// signature is verified).
	add("payload-duplicate-d", "malformed", signed(payloadWith(`"}`, `","d":"AAAA"}`)),
		`a payload with "d" given twice, signed by the producer: the second "d" would win in many JSON decoders`)
	add("payload-n-string", "malformed", signed(payloadWith(`"n":7,`, `"n":"7",`)),
		`a payload with "n":"7", a string, signed by the producer`)
	add("payload-d-number", "malformed", signed(payloadWith(`"d":"`+stdData+`"`, `"d":123`)),
		`a payload with "d":123, a number, signed by the producer`)
	add("payload-t-fraction", "malformed", signed(payloadWith(fmt.Sprintf(`"t":%d,`, now), fmt.Sprintf(`"t":%d.5,`, now))),
		`a payload with a fraction in "t", signed by the producer`)
	add("version-3.0", "malformed", signed(payloadWith(`"v":"2.0"`, `"v":"3.0"`)),
		`a canonical payload of unknown version "3.0", signed by the producer`)
	v1 := `{"v":"1.0","s":"` + hostileSource + `","d":"` + stdData + `"}`
	add("version-1.0-signed", "malformed", signed(v1),
		`a version 1.0 payload of the original ssmrandom, {"v","s","d"}, signed by the producer`)
	add("version-1.0-unsigned", "malformed", []byte(`{"v": "1.0", "s": "`+hostileSource+`", "d": "`+stdData+`"}`),
		"a version 1.0 datagram of the original ssmrandom: bare JSON, unsigned")

	// Freshness (§5.1).
	c = add("stale", "stale", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now-31000, nil))),
		"a frame 31 s old (MaxAge 30 s) to a receiver started a minute ago")
	c.start = now - 60000
	add("future", "future", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now+6000, nil))),
		"a frame dated 6 s ahead of the receiver's clock (MaxSkew 5 s)")
	c = add("before-start", "stale", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now-11000, nil))),
		"a frame 11 s old, within MaxAge but made before the receiver started 10 s ago (§5.1)")
	c.start = now - 10000

	// Replay (§5.2).
	c = add("replay", "replay", []byte(good), "the good frame again, after it was forwarded")
	c.before = []string{good}
	sig, err := base64.RawURLEncoding.DecodeString(gs)
	if err != nil {
		t.Fatal(err)
	}
	last := gs[len(gs)-1]
	alt := hostileNonCanonical(t, last)
	if d, err := base64.RawURLEncoding.DecodeString(gs[:len(gs)-1] + string(alt)); err != nil || !bytes.Equal(d, sig) {
		t.Fatalf("non-canonical signature %q: got %x, %v; want the same bytes as %q", alt, d, err, last)
	}
	c = add("replay-noncanonical", "malformed", []byte(gh+"."+gp+"."+gs[:len(gs)-1]+string(alt)),
		"the good frame again, after it was forwarded, its signature's last character changed from "+string(last)+" to "+string(alt)+":",
		"a lax base64url decoder reads the same 64 bytes (the changed bits are unused), so a replay cache keyed",
		"on the datagram's bytes would miss it; here it is malformed by §3.1 (canonical base64url) and would",
		"also be a replay, since the window is keyed on the signed (kid, e, n)")
	c.before = []string{good}
	c = add("replay-same-seq-new-data", "replay", []byte(hostileSign(t, at(hostileEpoch, hostileSeq, now, hostileData(33)))),
		"a frame with the (e, n) of a forwarded one but other data, signed by the producer (a key used by two",
		"senders at once): refused, the window being keyed on (kid, e, n), never on bytes")
	c.before = []string{good}
	c = add("earlier-epoch", "replay", []byte(hostileSign(t, at(hostileEpoch, hostileSeq+1, now, nil))),
		"a fresh frame of epoch 1764000000000 after one of the newer epoch 1764000050000 was forwarded")
	c.before = []string{hostileSign(t, at(hostileEpoch+50000, 0, now, nil))}
	c = add("behind-window", "replay", []byte(good),
		"a fresh, unseen frame 1024 behind the highest sequence number seen: behind the window")
	c.before = []string{hostileSign(t, at(hostileEpoch, hostileSeq+1024, now, nil))}
	return cs
}

// hostileSized returns a good frame, fresh and unseen, whose datagram is
// exactly n bytes long, found by varying the data and source lengths.
func hostileSized(t testing.TB, n int) string {
	t.Helper()
	s := hostileSigner(t, hostileProducer)
	for srcLen := len(hostileSource); srcLen <= frame.MaxSource; srcLen++ {
		src := hostileSource + strings.Repeat("x", srcLen-len(hostileSource))
		for dataLen := 1; dataLen < n; dataLen++ {
			f := frame.Frame{Source: src, Epoch: hostileEpoch, Seq: hostileSeq, Time: hostileNow, Data: hostileData(dataLen)}
			if s.Len(len(f.Append(nil))) == n {
				return hostileSign(t, f)
			}
		}
	}
	t.Fatalf("no good frame makes a datagram of %d bytes", n)
	return ""
}

// hostileMalleate returns the signature part sig decoded, with its scalar
// S (the last 32 bytes, little-endian) replaced by S + L.
func hostileMalleate(t testing.TB, sig string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(b) != ed25519.SignatureSize {
		t.Fatalf("signature %q: got %d bytes, %v; want 64", sig, len(b), err)
	}
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := slices.Clone(b[32:])
	slices.Reverse(le)
	s := new(big.Int).SetBytes(le)
	s.Add(s, l)
	be := s.FillBytes(make([]byte, 32)) // S + L < 2^253: still 32 bytes
	slices.Reverse(be)
	out := slices.Clone(b)
	copy(out[32:], be)
	return out
}

// hostileNonCanonical returns the base64url character that differs from c
// only in the lowest bit: unused in the last character of an 86-character
// part.
func hostileNonCanonical(t testing.TB, c byte) byte {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	if i < 0 || i&0x0f != 0 {
		t.Fatalf("last signature character %q: want one whose 4 low bits are zero", c)
	}
	return alphabet[i|1]
}

// hostileFile is a corpus file as read back.
type hostileFile struct {
	name     string
	expect   receive.Reason
	start    int64
	now      int64
	before   [][]byte
	datagram []byte
}

// hostileReason returns the Reason an "expect:" value names.
func hostileReason(s string) (receive.Reason, bool) {
	if s == "ok" {
		return receive.None, true
	}
	for _, r := range receive.Reasons() {
		if strings.ReplaceAll(r.String(), "_", " ") == s {
			return r, true
		}
	}
	return 0, false
}

// readHostile parses one corpus file.
func readHostile(t testing.TB, path string) hostileFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := hostileFile{name: filepath.Base(path)}
	if !bytes.HasPrefix(b, []byte("# ")) {
		t.Fatalf("%s: got no \"# \" description on the first line, want one", path)
	}
	fields, err := vectors.Parse(path, b)
	if err != nil {
		t.Fatal(err)
	}
	var gotExpect, gotNow, gotDatagram bool
	for _, f := range fields {
		key, value := f.Key, f.Value
		bad := func(want string) {
			t.Helper()
			t.Fatalf("%s: %s: got %.40q, want %s", f.Pos(path), key, value, want)
		}
		isDatagram := strings.HasPrefix(key, "datagram")
		if isDatagram && gotDatagram {
			t.Fatalf("%s: a second datagram line, want one", f.Pos(path))
		}
		switch key {
		case "expect":
			r, ok := hostileReason(value)
			if !ok || gotExpect {
				bad("one of ok, too big, malformed, bad alg, unknown key, stale, future, replay, bad signature, once")
			}
			h.expect, gotExpect = r, true
		case "start", "now":
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms <= 0 {
				bad("Unix milliseconds")
			}
			if key == "start" {
				h.start = ms
			} else {
				h.now, gotNow = ms, true
			}
		case "before":
			h.before = append(h.before, []byte(value))
		case "datagram":
			h.datagram = []byte(value)
		case "datagram-hex":
			d, err := hex.DecodeString(value)
			if err != nil {
				bad("hex")
			}
			h.datagram = d
		case "datagram-repeat":
			bs, count, _ := strings.Cut(value, " ")
			c, err1 := hex.DecodeString(bs)
			k, err2 := strconv.Atoi(count)
			if err1 != nil || err2 != nil || len(c) != 1 || k < 0 {
				bad("a byte in hex and a count")
			}
			h.datagram = bytes.Repeat(c, k)
		default:
			t.Fatalf("%s: unknown key %q", f.Pos(path), key)
		}
		gotDatagram = gotDatagram || isDatagram
	}
	if !gotExpect || !gotNow || !gotDatagram {
		t.Fatalf("%s: want expect, now and datagram lines", path)
	}
	if h.start == 0 {
		h.start = h.now
	}
	return h
}

// hostileCorpus reads every corpus file.
func hostileCorpus(t testing.TB) []hostileFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(hostileDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []hostileFile
	for _, p := range paths {
		if filepath.Base(p) == "README.txt" {
			continue
		}
		fs = append(fs, readHostile(t, p))
	}
	return fs
}

// hostileClock is a settable clock.
type hostileClock struct{ ms int64 }

func (c *hostileClock) now() time.Time { return time.UnixMilli(c.ms) }

// hostileRecorder is an output that keeps a copy of every write.
type hostileRecorder struct{ writes [][]byte }

func (r *hostileRecorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

// hostilePipeline returns a Pipeline made at start whose clock then reads
// now, trusting the producer's key, writing to a recorder.
func hostilePipeline(t testing.TB, start, now int64) (*receive.Pipeline, *hostileRecorder) {
	t.Helper()
	clock := &hostileClock{ms: start}
	rec := &hostileRecorder{}
	p, err := receive.New(receive.Config{Trust: hostileTrust(t), Output: rec, MaxDatagram: hostileMaxDatagram, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	clock.ms = now
	return p, rec
}

// hostileReference verifies datagram the slow way, with sign.Keyring.Verify
// and frame.Parse, and returns its kid and frame.
func hostileReference(ring *sign.Keyring, datagram []byte) (string, frame.Frame, error) {
	payload, kid, err := ring.Verify(datagram)
	if err != nil {
		return "", frame.Frame{}, err
	}
	f, err := frame.Parse(payload)
	return kid, f, err
}

// hostileSentinels are the errors Pipeline.Explain must wrap, per Reason.
var hostileSentinels = map[receive.Reason][]error{
	receive.Malformed:    {sign.ErrMalformed, frame.ErrSyntax, frame.ErrVersion},
	receive.BadAlg:       {sign.ErrBadAlg},
	receive.UnknownKey:   {sign.ErrUnknownKey},
	receive.Stale:        {replay.ErrStale},
	receive.Future:       {replay.ErrFuture},
	receive.Replay:       {replay.ErrReplay},
	receive.BadSignature: {sign.ErrBadSignature},
	receive.Seed:         {receive.ErrSeed},
}

// TestHostileCorpus checks testdata/hostile against its generator, then
// feeds every case through a fresh Pipeline: docs/protocol.md §5, "not one
// of its bytes reaches any output".
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases(t)
	want := map[string][]byte{}
	for _, c := range cases {
		if _, dup := want[c.name+".txt"]; dup {
			t.Fatalf("generator: case %s given twice", c.name)
		}
		want[c.name+".txt"] = c.marshal()
	}
	if hostileUpdate() {
		hostileWrite(t, want)
	}
	got, err := filepath.Glob(filepath.Join(hostileDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		name := filepath.Base(p)
		if name == "README.txt" {
			continue
		}
		if _, ok := want[name]; !ok {
			t.Errorf("%s: got a file the generator does not make; run with -update or remove it", p)
		}
	}
	for name, b := range want {
		file, err := os.ReadFile(filepath.Join(hostileDir, name))
		if err != nil {
			t.Errorf("%v; want the generator's file (run with -update)", err)
			continue
		}
		if !bytes.Equal(file, b) {
			t.Errorf("%s: the file differs from the generator's output (run with -update after a deliberate change):\ngot  %.300q\nwant %.300q", name, file, b)
		}
	}

	ring := hostileTrust(t)
	files := hostileCorpus(t)
	if len(files) != len(cases) {
		t.Errorf("corpus: got %d files, want %d", len(files), len(cases))
	}
	for _, h := range files {
		t.Run(strings.TrimSuffix(h.name, ".txt"), func(t *testing.T) {
			hostileRun(t, ring, h)
		})
	}
}

// hostileRun feeds one case through a fresh Pipeline and checks it.
func hostileRun(t *testing.T, ring *sign.Keyring, h hostileFile) {
	p, rec := hostilePipeline(t, h.start, h.now)
	for i, b := range h.before {
		v, err := p.Handle(b)
		if err != nil || v.Reason != receive.None {
			t.Fatalf("before[%d]: got (%v, %v), want (forwarded, nil)", i, v.Reason, err)
		}
		_, f, err := hostileReference(ring, b)
		if err != nil {
			t.Fatalf("before[%d]: reference verification: %v", i, err)
		}
		if len(rec.writes) != i+1 || !bytes.Equal(rec.writes[i], f.Data) {
			t.Fatalf("before[%d]: got %d writes, want %d, the last one the frame's %d bytes", i, len(rec.writes), i+1, len(f.Data))
		}
	}
	writes := len(rec.writes)

	// Explain says the same as Handle, in words, and changes nothing.
	explained := p.Explain(h.datagram)
	if h.expect == receive.None {
		if explained != nil {
			t.Errorf("Explain: got %v, want nil", explained)
		}
	} else if explained == nil {
		t.Errorf("Explain: got nil, want the reason for %v", h.expect)
	} else if ws := hostileSentinels[h.expect]; len(ws) > 0 && !slices.ContainsFunc(ws, func(w error) bool { return errors.Is(explained, w) }) {
		t.Errorf("Explain: got %v, want an error wrapping one of %v", explained, ws)
	}

	v, err := p.Handle(h.datagram)
	if err != nil {
		t.Fatalf("Handle: got error %v, want nil", err)
	}
	if v.Reason != h.expect {
		t.Errorf("Handle: got %v (%v), want %v", v.Reason, v.Err, h.expect)
	}
	if h.expect == receive.None {
		kid, f, err := hostileReference(ring, h.datagram)
		if err != nil {
			t.Fatalf("reference verification of a forwarded datagram: %v", err)
		}
		if v.KeyID != kid {
			t.Errorf("Verdict.KeyID: got %q, want %q", v.KeyID, kid)
		}
		if len(rec.writes) != writes+1 || !bytes.Equal(rec.writes[writes], f.Data) {
			t.Fatalf("output: got %d writes after the datagram, want 1 of exactly the frame's %d bytes", len(rec.writes)-writes, len(f.Data))
		}
		writes++
	} else {
		if v.KeyID != "" || v.Err == nil {
			t.Errorf("Verdict of a drop: got KeyID %q, Err %v; want no KeyID and an error", v.KeyID, v.Err)
		}
		if n := len(rec.writes) - writes; n != 0 {
			t.Fatalf("output: got %d writes (%q) after a dropped datagram, want none", n, rec.writes[writes:])
		}
	}
	st := p.Stats()
	if st.Datagrams != uint64(len(h.before)+1) || st.Frames != uint64(writes) {
		t.Errorf("Stats: got %d datagrams, %d frames; want %d, %d", st.Datagrams, st.Frames, len(h.before)+1, writes)
	}
	rejected := uint64(1)
	if h.expect == receive.Seed { // not a reject
		rejected = 0
	}
	if h.expect != receive.None && (st.Dropped[h.expect] != 1 || st.Rejected() != rejected) {
		t.Errorf("Stats: got Dropped[%v] = %d of %d rejected, want 1 of %d", h.expect, st.Dropped[h.expect], st.Rejected(), rejected)
	}

	// The same datagram again: never forwarded twice, and a drop changed
	// no state, so it is dropped for the same reason.
	again := h.expect
	if again == receive.None {
		again = receive.Replay
	}
	if v, err := p.Handle(h.datagram); err != nil || v.Reason != again {
		t.Errorf("Handle again: got (%v, %v), want (%v, nil)", v.Reason, err, again)
	}
	if len(rec.writes) != writes {
		t.Errorf("output: got %d writes after the datagram was fed again, want %d", len(rec.writes), writes)
	}
}

// hostileWrite rewrites the corpus and removes files the generator no
// longer makes.
func hostileWrite(t *testing.T, files map[string][]byte) {
	if err := os.MkdirAll(hostileDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(hostileDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep && filepath.Base(p) != "README.txt" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(hostileDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
