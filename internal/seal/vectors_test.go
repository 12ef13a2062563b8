package seal_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// The seed corpus: testdata/seeds/*.txt, one case per file, in the format
// of testdata/seeds/README.txt. TestSeedCorpus checks that the generator
// below still writes every file byte for byte (HPKE's encapsulation draws
// its randomness from testing/cryptotest's deterministic source).
// Package hostseed, which runs the host's checks of docs/protocol.md §9.6
// in order, gives each datagram its verdict (its TestCorpus). Run it with
// -update to rewrite the files after a deliberate change.

var update = flag.Bool("update", false, "rewrite the test data files from the generators instead of checking them")

const (
	seedsDir = "testdata/seeds"
	// vecNow is the host's clock, Unix milliseconds, unless a case says
	// otherwise; vecEpoch, vecSeq and vecRound the producer's.
	vecNow   int64  = 1764000060000
	vecEpoch uint64 = 1764000000000
	vecSeq   uint64 = 7
	vecRound uint64 = 5
)

// bytesFrom returns n bytes first, first+1, ...
func bytesFrom(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

// vecProducer returns the producer key of the corpus: ed25519 seed bytes
// 0..31 (the frame test vector's key), 64..95 for the second producer and
// 32..63 for the attacker.
func vecProducer(t testing.TB, first byte) *sign.Signer {
	s, err := sign.NewSigner(ed25519.NewKeyFromSeed(bytesFrom(first, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// vecHost returns host key number i of the corpus: X25519 private key
// bytes 0x40+32i, ...
func vecHost(t testing.TB, i int) *seal.HostKey {
	k, err := seal.NewHostKey(bytesFrom(0x40+byte(32*i), 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vecMembers returns the public keys of hosts 0..n-1, sorted by host id.
func vecMembers(t testing.TB, n int) []seal.Member {
	var ms []seal.Member
	for i := range n {
		ms = append(ms, vecHost(t, i).Public())
	}
	set, err := seal.NewMembers(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return set.All()
}

// vecEntropy is the corpus's input source: the bytes 0xa0, 0xa1, ...
type vecEntropy struct{ next byte }

func (e *vecEntropy) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xa0 + e.next
		e.next++
	}
	return len(p), nil
}

// seedCase is one file of the corpus.
type seedCase struct {
	name    string
	comment []string
	expect  string
	now     int64
	host    int // the corpus host key that takes the datagram
	seed    string
	member  string
	before  []string
	dg      string
}

func (c *seedCase) encode() []byte {
	var b bytes.Buffer
	for _, l := range c.comment {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	fmt.Fprintf(&b, "expect: %s\n", c.expect)
	fmt.Fprintf(&b, "now: %d\n", c.now)
	fmt.Fprintf(&b, "host-key: %x\n", bytesFrom(0x40+byte(32*c.host), 32))
	if c.seed != "" {
		fmt.Fprintf(&b, "seed: %s\n", c.seed)
	}
	if c.member != "" {
		fmt.Fprintf(&b, "member-key: %s\n", c.member)
	}
	for _, d := range c.before {
		fmt.Fprintf(&b, "before: %s\n", d)
	}
	fmt.Fprintf(&b, "datagram: %s\n", c.dg)
	return b.Bytes()
}

func parseSeedCase(name string, b []byte) (seedCase, error) {
	c := seedCase{name: name, host: -1}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			c.comment = append(c.comment, rest)
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			return c, fmt.Errorf("%s: line %q is not key: value", name, line)
		}
		switch key {
		case "expect":
			c.expect = val
		case "now":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return c, fmt.Errorf("%s: now: %v", name, err)
			}
			c.now = n
		case "host-key":
			for i := range 4 {
				if val == hex.EncodeToString(bytesFrom(0x40+byte(32*i), 32)) {
					c.host = i
				}
			}
		case "seed":
			c.seed = val
		case "member-key":
			c.member = val
		case "before":
			c.before = append(c.before, val)
		case "datagram":
			c.dg = val
		default:
			return c, fmt.Errorf("%s: unknown key %q", name, key)
		}
	}
	if c.expect == "" || c.dg == "" || c.host < 0 {
		return c, fmt.Errorf("%s: want expect, host-key (a corpus host) and datagram", name)
	}
	return c, sc.Err()
}

// resign returns the datagram of payload p signed by s.
func resign(s *sign.Signer, p []byte) string { return string(s.Append(nil, p)) }

// payloadOf returns the decoded payload of a datagram.
func payloadOf(t testing.TB, dg []byte) []byte {
	parts := bytes.Split(dg, []byte("."))
	p, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildRound builds a round for members with the corpus's fixed inputs.
func buildRound(t *testing.T, s *sign.Signer, members []seal.Member, r seal.Round, memberKey bool) [][]byte {
	b, err := seal.NewBuilder(s, seal.Config{Entropy: &vecEntropy{}, Workers: 1, MemberKey: memberKey})
	if err != nil {
		t.Fatal(err)
	}
	dgs, err := b.Build(members, r)
	if err != nil {
		t.Fatal(err)
	}
	return dgs
}

// seedCases generates the corpus. Its HPKE encapsulations and round keys
// come from cryptotest.SetGlobalRandom, so it is deterministic for one Go
// release; a release that draws randomness differently changes the
// sealed bytes (not the format): check the diff, then run -update.
func seedCases(t *testing.T) []seedCase {
	cryptotest.SetGlobalRandom(t, 11)
	p, p2, attacker := vecProducer(t, 0), vecProducer(t, 64), vecProducer(t, 32)
	hosts := vecMembers(t, 3) // hosts 0, 1, 2, sorted by host id
	host0 := vecHost(t, 0)
	r := seal.Round{Epoch: vecEpoch, Seq: vecSeq, Time: vecNow, Round: vecRound}
	ok := buildRound(t, p, hosts, r, false)[0]
	okPT := openOK(t, host0, p.KeyID(), ok)

	rmk := r
	copy(rmk.MemberKey[:], bytesFrom(0xc0, 32))
	withKey := buildRound(t, p, hosts, rmk, true)[0]

	// A datagram of hosts 1 and 2 only.
	var others []seal.Member
	for _, m := range hosts {
		if m.HostID != host0.HostID() {
			others = append(others, m)
		}
	}
	otherHost := buildRound(t, p, others, r, false)[0]

	pl, err := seedwire.Parse(payloadOf(t, ok))
	if err != nil {
		t.Fatal(err)
	}
	entry0, _ := pl.Find(host0.HostID())
	// edit returns the ok payload with its header changed by h and its
	// entries replaced by es.
	edit := func(h func(*seedwire.Header), es ...seedwire.Entry) []byte {
		hd := pl.Header
		hd.Count = len(es)
		if h != nil {
			h(&hd)
		}
		b := hd.Append(nil)
		for _, e := range es {
			b = seedwire.AppendEntry(b, e.Host, e.Sealed)
		}
		return b
	}
	var all []seedwire.Entry
	for i := range pl.Count {
		all = append(all, pl.Entry(i))
	}

	// Round 6's datagram for host 0 with round 5's entry in it.
	r6 := r
	r6.Round, r6.Seq = vecRound+1, vecSeq+1
	p6, err := seedwire.Parse(payloadOf(t, buildRound(t, p, hosts[:1], r6, false)[0]))
	if err != nil {
		t.Fatal(err)
	}
	moved := edit(func(h *seedwire.Header) { h.Round, h.Seq = p6.Round, p6.Seq }, entry0)

	// Host 1's entry under host 0's id.
	var entry1 seedwire.Entry
	for _, e := range all {
		if e.Host != host0.HostID() {
			entry1 = e
			break
		}
	}
	swapped := edit(nil, seedwire.Entry{Host: host0.HostID(), Sealed: entry1.Sealed})

	flipped := slices.Clone(entry0.Sealed)
	flipped[len(flipped)-1] ^= 1
	badTag := edit(nil, seedwire.Entry{Host: entry0.Host, Sealed: flipped})

	okPayload := payloadOf(t, ok)
	truncated := okPayload[:len(okPayload)-1]
	dup := edit(nil, entry0, entry0)
	unsorted := slices.Clone(all)
	slices.Reverse(unsorted)
	unsortedP := edit(nil, unsorted...)
	badSuite := edit(func(h *seedwire.Header) {}, all...)
	badSuite[9] = 0x01 // AEAD AES-128-GCM
	version2 := slices.Clone(okPayload)
	version2[3] = 2

	staleR := r
	staleR.Time = vecNow - 31000
	stale := buildRound(t, p, hosts, staleR, false)[0]

	sig := []byte(ok)
	i := bytes.LastIndexByte(sig, '.')
	mangled := slices.Clone(okPayload)
	mangled[len(mangled)-1] ^= 1
	badSig := string(sig[:bytes.IndexByte(sig, '.')+1]) + base64.RawURLEncoding.EncodeToString(mangled) + string(sig[i:])

	frameDG := string(p.Append(nil, []byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000060000,"d":"oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8="}`)))

	// Producer 2's own round for the same hosts, with producer 1's entry
	// for host 0 in it.
	p2pl, err := seedwire.Parse(payloadOf(t, buildRound(t, p2, hosts[:1], r, false)[0]))
	if err != nil {
		t.Fatal(err)
	}
	copied := p2pl.Header.Append(nil)
	copied = seedwire.AppendEntry(copied, entry0.Host, entry0.Sealed)

	seedHex := hex.EncodeToString(okPT.Seed[:])
	mkPT := openOK(t, host0, p.KeyID(), withKey)
	return []seedCase{
		{name: "ok", expect: "ok", seed: seedHex, dg: string(ok),
			comment: []string{"the first datagram of round 5 for hosts 0, 1 and 2, opened by host 0"}},
		{name: "ok-member-key", expect: "ok", seed: hex.EncodeToString(mkPT.Seed[:]),
			member: hex.EncodeToString(bytesFrom(0xc0, 32)), dg: string(withKey),
			comment: []string{"round 5 with a member authentication key (issue 13) in every entry"}},
		{name: "other-host", expect: "other host", dg: string(otherHost),
			comment: []string{"a datagram with entries for hosts 1 and 2 only: skipped before any signature check"}},
		{name: "moved-round", expect: "open failed", dg: resign(p, moved),
			comment: []string{"host 0's entry of round 5 in round 6's datagram, signed by the producer: the info binds the round"}},
		{name: "moved-host", expect: "open failed", dg: resign(p, swapped),
			comment: []string{"host 1's entry under host 0's id, signed by the producer: the info binds the host's thumbprint"}},
		{name: "moved-producer", expect: "open failed", dg: resign(p2, copied),
			comment: []string{"producer 1's entry for host 0 copied into a datagram of producer 2, which the host also trusts:",
				"the info binds the producer key, so one seed cannot count for two producers (§9.7)"}},
		{name: "bad-tag", expect: "open failed", dg: resign(p, badTag),
			comment: []string{"host 0's entry with the last bit of its tag flipped, signed by the producer"}},
		{name: "truncated-entry", expect: "malformed", dg: resign(p, truncated),
			comment: []string{"the ok payload less its last byte, signed by the producer"}},
		{name: "duplicate-host-id", expect: "malformed", dg: resign(p, dup),
			comment: []string{"host 0's entry twice, signed by the producer: host ids must strictly increase"}},
		{name: "unsorted-host-ids", expect: "malformed", dg: resign(p, unsortedP),
			comment: []string{"the ok entries in reverse order, signed by the producer"}},
		{name: "unknown-suite", expect: "unsupported suite", dg: resign(p, badSuite),
			comment: []string{"the ok datagram naming AEAD 0x0001 (AES-128-GCM), signed by the producer"}},
		{name: "version-2", expect: "malformed", dg: resign(p, version2),
			comment: []string{"the ok payload with version 2, signed by the producer"}},
		{name: "unknown-signer", expect: "unknown key", dg: resign(attacker, okPayload),
			comment: []string{"the ok payload signed by the attacker, under the attacker's kid"}},
		{name: "bad-signature", expect: "bad signature", dg: badSig,
			comment: []string{"the ok datagram with the last payload bit flipped, the producer's signature kept"}},
		{name: "stale", expect: "stale", dg: string(stale),
			comment: []string{"round 5 made 31 s before now (MaxAge 30 s)"}},
		{name: "replayed", expect: "replay", before: []string{string(ok)}, dg: string(ok),
			comment: []string{"the ok datagram again, after it was taken"}},
		{name: "frame", expect: "not seed", dg: frameDG,
			comment: []string{"a frame of the producer (protocol.md §6 with t = now): not a seed datagram, skipped"}},
	}
}

// openOK takes the first entry of dg for k.
func openOK(t testing.TB, k *seal.HostKey, producer string, dg []byte) seedwire.Plaintext {
	p, err := seedwire.Parse(payloadOf(t, dg))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := k.Open(&p, producer)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

func TestSeedCorpus(t *testing.T) {
	cases := seedCases(t)
	want := map[string]bool{"README.txt": true}
	for _, c := range cases {
		name := c.name + ".txt"
		want[name] = true
		c.now = vecNow
		b := c.encode()
		path := filepath.Join(seedsDir, name)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/seal/ -run TestSeedCorpus -update)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s: the generator writes other bytes than the file holds (a changed format, or a Go release that draws HPKE's randomness differently: check, then -update)", path)
		}
	}
	files, _ := filepath.Glob(filepath.Join(seedsDir, "*"))
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s: no case of the generator writes it", f)
		}
	}
}

// TestSeedCorpusOpen opens the entry of every "ok" file of the corpus, as
// it is on disk, with the file's host key, and checks the seed and member
// key it holds. The verdicts of the other files come from the host's
// checks in order, which package hostseed runs (its TestCorpus).
func TestSeedCorpusOpen(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedsDir, "*.txt"))
	if err != nil || len(files) < 2 {
		t.Fatalf("corpus: got %d files (%v), want the seed corpus", len(files), err)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "README.txt" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseSeedCase(filepath.Base(f), b)
		if err != nil {
			t.Fatal(err)
		}
		if c.expect != "ok" {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			pt := openOK(t, vecHost(t, c.host), vecProducer(t, 0).KeyID(), []byte(c.dg))
			if got := hex.EncodeToString(pt.Seed[:]); got != c.seed {
				t.Errorf("seed: got %s, want %s", got, c.seed)
			}
			gotMK := ""
			if pt.HasMemberKey {
				gotMK = hex.EncodeToString(pt.MemberKey[:])
			}
			if gotMK != c.member {
				t.Errorf("member key: got %q, want %q", gotMK, c.member)
			}
			if len(c.dg) > seal.DefaultMaxDatagram {
				t.Errorf("datagram of %d bytes; the datagram size limit is %d", len(c.dg), seal.DefaultMaxDatagram)
			}
		})
	}
	if n == 0 {
		t.Error("no ok case in the corpus")
	}
}
