package receive_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

// The member vectors: testdata/member/*.txt, one case per file, in the
// format testdata/member/README.txt describes (docs/protocol.md §10.7).
// TestMemberVectors checks that the generator below still makes every
// file byte for byte, rebuilds the tagged datagram of ok.txt from its
// fields, and feeds each case to a member pipeline that holds the
// vectors' member key.

const (
	memberDir = "testdata/member"
	// memberNow is the receiver's clock in every case: 7.655 s after the
	// frame of §6 was made.
	memberNow int64 = 1764000020000
	// memberRound is the round of the member key the receiver holds.
	memberRound uint64 = 3
)

// memberSecret returns the 32 bytes first, first+1, ...: the vectors'
// member key is memberSecret(0x60).
func memberSecret(first byte) *[membertag.KeySize]byte {
	var s [membertag.KeySize]byte
	for i := range s {
		s[i] = first + byte(i)
	}
	return &s
}

// memberFrame is the frame of protocol.md §6.
func memberFrame() frame.Frame {
	data := make([]byte, 32)
	for i := range data {
		data[i] = 0xa0 + byte(i)
	}
	return frame.Frame{Source: hostileSource, Epoch: hostileEpoch, Seq: hostileSeq, Time: 1764000012345, Data: data}
}

// rawSigned signs header (the decoded protected header) and payload with
// priv as they are, whatever they hold.
func rawSigned(priv ed25519.PrivateKey, header, payload []byte) []byte {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	return []byte(input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input))))
}

// memberCase is one file of the corpus.
type memberCase struct {
	name, what string
	notes      []string
	expect     string
	fields     [][2]string // extra "key: value" lines, before the datagram
	datagram   []byte
}

func (c memberCase) bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n", c.what)
	for _, n := range c.notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	fmt.Fprintf(&b, "expect: %s\n", c.expect)
	for _, f := range c.fields {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	fmt.Fprintf(&b, "datagram: %s\n", c.datagram)
	return b.Bytes()
}

// memberCases makes the corpus.
func memberCases(t testing.TB) []memberCase {
	prod := hostileSigner(t, hostileProducer)
	key := membertag.NewKey(memberSecret(0x60), hostileEpoch, memberRound)
	f := memberFrame()
	payload := f.Append(nil)
	ok := prod.AppendTagged(nil, payload, key)
	kid := prod.KeyID()
	header := func(mt string) []byte { return []byte(`{"alg":"EdDSA","kid":"` + kid + `","mt":"` + mt + `"}`) }
	mtOf := func(k *membertag.Key, payload []byte) string {
		return base64.RawURLEncoding.EncodeToString(k.Append(nil, kid, []byte(base64.RawURLEncoding.EncodeToString(payload))))
	}
	h, p, _ := parts(t, ok)
	other := slices.Clone(f.Data)
	other[0] ^= 1
	g := f
	g.Data = other
	otherPayload := g.Append(nil)
	laterEpoch := f
	laterEpoch.Epoch++
	mt := mtOf(key, payload)
	return []memberCase{
		{name: "ok.txt", what: "the frame of protocol.md §6, tagged under the member key of round 3: forwarded", expect: "ok",
			fields: [][2]string{{"seed", hex.EncodeToString(hostileProducer.Seed())}, {"kid", kid}, {"source", f.Source},
				{"epoch", strconv.FormatUint(f.Epoch, 10)}, {"seq", strconv.FormatUint(f.Seq, 10)}, {"time", strconv.FormatInt(f.Time, 10)},
				{"data", hex.EncodeToString(f.Data)}, {"round", strconv.FormatUint(memberRound, 10)},
				{"member-key", hex.EncodeToString(memberSecret(0x60)[:])}, {"mt", mt},
				{"header", string(header(mt))}, {"payload", string(payload)}},
			datagram: ok},
		{name: "bad-tag.txt", what: "tagged under round 3, with a tag made with another key; signed by the producer: dropped before the signature", expect: "bad tag",
			datagram: prod.AppendTagged(nil, payload, membertag.NewKey(memberSecret(0x61), hostileEpoch, memberRound))},
		{name: "untagged.txt", what: "the frame untagged, signed by the producer, after the second's probe was spent", expect: "bad tag",
			datagram: prod.Append(nil, payload)},
		{name: "unknown-round.txt", what: "tagged under round 9, which the member does not hold, signed by the producer", expect: "bad tag",
			datagram: prod.AppendTagged(nil, payload, membertag.NewKey(memberSecret(0x60), hostileEpoch, 9))},
		{name: "other-epoch.txt", what: "tagged under round 3 of the held key, in a frame of the next epoch: that epoch's round 3 is not held", expect: "bad tag",
			datagram: prod.AppendTagged(nil, laterEpoch.Append(nil), key)},
		{name: "tag-other-payload.txt", what: "the tag of another payload (one bit of d changed), signed by the producer", expect: "bad tag",
			datagram: rawSigned(hostileProducer, header(mtOf(key, otherPayload)), payload)},
		{name: "copy-bad-signature.txt", what: "a copy of the genuine tagged frame with a wrong signature: the tag checks, the signature fails", expect: "bad signature",
			datagram: []byte(h + "." + p + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)))},
		{name: "attacker-tag.txt", what: "the attacker's frame tagged under a key it made up for round 3 (it cannot know the member key), signed with the producer's kid", expect: "bad tag",
			notes:    []string{"the signature is the attacker's: without the tag check this costs a verification"},
			datagram: rawSigned(hostileAttacker, header(mtOf(membertag.NewKey(memberSecret(0), hostileEpoch, memberRound), payload)), payload)},
		{name: "mt-short.txt", what: `"mt" of 31 characters`, expect: "malformed",
			datagram: rawSigned(hostileProducer, header(mt[:31]), payload)},
		{name: "mt-padded.txt", what: `"mt" with base64 padding`, expect: "malformed",
			datagram: rawSigned(hostileProducer, header(mt[:28]+"AA=="), payload)},
		{name: "mt-first.txt", what: `the members in another order: "mt" before "kid"`, expect: "malformed",
			datagram: rawSigned(hostileProducer, []byte(`{"alg":"EdDSA","mt":"`+mt+`","kid":"`+kid+`"}`), payload)},
		{name: "mt-twice.txt", what: `"mt" given twice`, expect: "malformed",
			datagram: rawSigned(hostileProducer, []byte(`{"alg":"EdDSA","kid":"`+kid+`","mt":"`+mt+`","mt":"`+mt+`"}`), payload)},
	}
}

func TestMemberVectors(t *testing.T) {
	cases := memberCases(t)
	if hostileUpdate() {
		for _, c := range cases {
			if err := os.WriteFile(filepath.Join(memberDir, c.name), c.bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(memberDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
		b, err := os.ReadFile(filepath.Join(memberDir, c.name))
		if err != nil {
			t.Fatalf("%s: %v (go test -run TestMemberVectors -update writes it)", c.name, err)
		}
		if !bytes.Equal(b, c.bytes()) {
			t.Errorf("%s: the generator makes other bytes (go test -run TestMemberVectors -update rewrites it)", c.name)
		}
	}
	for _, f := range files {
		if name := filepath.Base(f); name != "README.txt" && !slices.Contains(names, name) {
			t.Errorf("%s: no generator case makes it", name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) { runMemberVector(t, filepath.Join(memberDir, name)) })
	}
}

// runMemberVector feeds the case in path to a member pipeline that holds
// the member key of round 3, after a frame tagged under it armed the
// check and a probe was spent.
func runMemberVector(t *testing.T, path string) {
	fields, err := vectors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vectors.Unique(path, fields)
	if err != nil {
		t.Fatal(err)
	}
	prod := hostileSigner(t, hostileProducer)
	if c["expect"] == "ok" { // rebuild the datagram from its fields, byte for byte
		seed, _ := hex.DecodeString(c["seed"])
		data, _ := hex.DecodeString(c["data"])
		epoch, _ := strconv.ParseUint(c["epoch"], 10, 64)
		seq, _ := strconv.ParseUint(c["seq"], 10, 64)
		ms, _ := strconv.ParseInt(c["time"], 10, 64)
		round, _ := strconv.ParseUint(c["round"], 10, 64)
		var secret [membertag.KeySize]byte
		if b, err := hex.DecodeString(c["member-key"]); err != nil || copy(secret[:], b) != membertag.KeySize {
			t.Fatalf("member-key %q: want 32 bytes in hex", c["member-key"])
		}
		s := hostileSigner(t, ed25519.NewKeyFromSeed(seed))
		f := frame.Frame{Source: c["source"], Epoch: epoch, Seq: seq, Time: ms, Data: data}
		if got := string(f.Append(nil)); got != c["payload"] {
			t.Errorf("payload: got %s, want %s", got, c["payload"])
		}
		if got := string(s.AppendTagged(nil, f.Append(nil), membertag.NewKey(&secret, epoch, round))); got != c["datagram"] || s.KeyID() != c["kid"] {
			t.Errorf("datagram: got %s (kid %s), want %s (kid %s)", got, s.KeyID(), c["datagram"], c["kid"])
		}
		h, _, _ := parts(t, []byte(c["datagram"]))
		if hb, err := base64.RawURLEncoding.DecodeString(h); err != nil || string(hb) != c["header"] || len(hb) != 107 || len(h) != 143 {
			t.Errorf("header: got %s (%d bytes, %d characters), want %s (107 bytes, 143 characters)", hb, len(hb), len(h), c["header"])
		}
		if doc, err := os.ReadFile("../../docs/protocol.md"); err != nil || !bytes.Contains(doc, []byte("\n    "+c["datagram"]+"\n")) || !bytes.Contains(doc, []byte(c["mt"])) {
			t.Errorf("docs/protocol.md §10.7 does not quote ok.txt's datagram and MT (%v)", err)
		}
		if got, want := len(c["datagram"]), sign.TaggedDatagramLen(len(c["payload"])); got != want || got != 353+53 {
			t.Errorf("length: got %d, want %d and 353 + 53", got, want)
		}
	}
	ring, err := sign.NewKeyring(sign.Key{Public: prod.Public()})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{ms: int64(hostileEpoch)} // the receiver started with the producer
	o, err := hostseed.NewOpener(hostseed.Config{Trust: ring, Key: hostKey(t, 0), MaxDatagram: hostileMaxDatagram, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	out := &output{}
	p, err := receive.New(receive.Config{Trust: ring, Output: out, MaxDatagram: hostileMaxDatagram, Now: clk.now, Member: o})
	if err != nil {
		t.Fatal(err)
	}
	clk.ms = memberNow
	p.HoldMemberKey(prod.KeyID(), membertag.NewKey(memberSecret(0x60), hostileEpoch, memberRound))
	// Arm the check: a frame (seq 2) whose tag checks, as the producer's
	// first tagged frame under the key.
	arm := memberFrame()
	arm.Seq = 2
	if v, _ := p.Handle(prod.AppendTagged(nil, arm.Append(nil), membertag.NewKey(memberSecret(0x60), hostileEpoch, memberRound))); v.Reason != receive.None {
		t.Fatalf("the first tagged frame: got %v (%v), want forwarded", v.Reason, v.Why())
	}
	out.buf.Reset()
	// Spend the second's probe: an untagged frame with a bad signature.
	probe := memberFrame()
	probe.Seq = 1
	if v, _ := p.Handle(changeSignature(t, prod.Append(nil, probe.Append(nil)))); v.Reason != receive.BadSignature {
		t.Fatalf("the probe: got %v (%v), want bad_signature", v.Reason, v.Why())
	}
	v, err := p.Handle([]byte(c["datagram"]))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(v.Reason.String(), "_", " ")
	if v.Reason == receive.None {
		got = "ok"
	}
	if got != c["expect"] {
		t.Errorf("got %s (%v), want %s", got, v.Why(), c["expect"])
	}
	if v.Reason != receive.None && out.buf.Len() > 0 {
		t.Errorf("output: got %d bytes of a dropped datagram", out.buf.Len())
	}
}
