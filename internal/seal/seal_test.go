package seal_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// hosts returns n host keys and their member set, sorted by host id.
func hosts(t testing.TB, n int) ([]*seal.HostKey, []seal.Member) {
	keys := make([]*seal.HostKey, n)
	ms := make([]seal.Member, n)
	for i := range keys {
		k, err := seal.GenerateHostKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[i], ms[i] = k, k.Public()
	}
	set, err := seal.NewMembers(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return keys, set.All()
}

func TestEntriesPerDatagram(t *testing.T) {
	p := vecProducer(t, 0)
	for _, c := range []struct {
		maxDatagram int
		memberKey   bool
		want        int
	}{
		{1232, false, 8}, {1232, true, 5}, {1452, true, 7}, {1472, false, 10}, {1472, true, 7}, {400, false, 1}, {460, true, 1},
	} {
		b, err := seal.NewBuilder(p, seal.Config{MaxDatagram: c.maxDatagram, MemberKey: c.memberKey})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.PerDatagram(); got != c.want {
			t.Errorf("max datagram %d, member key %v: got %d entries per datagram, want %d", c.maxDatagram, c.memberKey, got, c.want)
		}
	}
	if _, err := seal.NewBuilder(p, seal.Config{MaxDatagram: 300}); err == nil {
		t.Errorf("max datagram 300: got nil, want an error (one entry does not fit)")
	}
	// One entry with a member key, untagged, fits 402 bytes; tagged, 455:
	// a Builder with member keys makes room for the tag.
	if _, err := seal.NewBuilder(p, seal.Config{MaxDatagram: 454, MemberKey: true}); err == nil {
		t.Errorf("max datagram 454 with member keys: got nil, want an error (one tagged entry does not fit)")
	}
}

func TestBuildOpen(t *testing.T) {
	p := vecProducer(t, 0)
	ring, err := sign.NewKeyring(sign.Key{Public: p.Public()})
	if err != nil {
		t.Fatal(err)
	}
	keys, ms := hosts(t, 45)
	for _, memberKey := range []bool{false, true} {
		b, err := seal.NewBuilder(p, seal.Config{Workers: 3, MemberKey: memberKey})
		if err != nil {
			t.Fatal(err)
		}
		r := seal.Round{Epoch: vecEpoch, Seq: 100, Time: vecNow, Round: 9}
		copy(r.MemberKey[:], bytesFrom(0xc0, 32))
		dgs, err := b.Build(ms, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(dgs) != b.Datagrams(len(ms)) {
			t.Fatalf("got %d datagrams, want %d", len(dgs), b.Datagrams(len(ms)))
		}
		seeds := make(map[[32]byte]bool)
		for i, dg := range dgs {
			if len(dg) > seal.DefaultMaxDatagram {
				t.Errorf("datagram %d: %d bytes, over the datagram size limit", i, len(dg))
			}
			if !seedwire.IsSeed(dg) {
				t.Errorf("datagram %d: IsSeed false", i)
			}
			payload, kid, err := ring.Verify(dg)
			if err != nil || kid != p.KeyID() {
				t.Fatalf("datagram %d: Verify: %v", i, err)
			}
			pl, err := seedwire.Parse(payload)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Seq != 100+uint64(i) || pl.Round != 9 || pl.Epoch != vecEpoch || pl.Time != vecNow {
				t.Errorf("datagram %d: got n %d round %d, want n %d round 9", i, pl.Seq, pl.Round, 100+i)
			}
			for j := 0; j < pl.Count; j++ {
				e := pl.Entry(j)
				var k *seal.HostKey
				for _, hk := range keys {
					if hk.HostID() == e.Host {
						k = hk
					}
				}
				if found, err := seedwire.Scan(dg, k.HostID()); !found || err != nil {
					t.Errorf("Scan for a host with an entry: got (%v, %v)", found, err)
				}
				pt, err := k.Open(&pl, kid)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if pt.HasMemberKey != memberKey || memberKey && !bytes.Equal(pt.MemberKey[:], bytesFrom(0xc0, 32)) {
					t.Errorf("member key: got %v %x, want %v", pt.HasMemberKey, pt.MemberKey, memberKey)
				}
				if seeds[pt.Seed] {
					t.Errorf("seed %x given twice", pt.Seed[:4])
				}
				seeds[pt.Seed] = true
				// Bound to the producer: the same entry does not open as another's.
				if _, err := k.Open(&pl, vecProducer(t, 64).KeyID()); !errors.Is(err, seal.ErrOpen) {
					t.Errorf("open under another producer's kid: got %v, want ErrOpen", err)
				}
			}
			// A host with no entry.
			other, _ := seal.GenerateHostKey()
			if _, err := other.Open(&pl, kid); !errors.Is(err, seal.ErrNoEntry) {
				t.Errorf("open by a non-member: got %v, want ErrNoEntry", err)
			}
		}
		if len(seeds) != len(ms) {
			t.Errorf("got %d seeds, want one per member, %d", len(seeds), len(ms))
		}
	}
}

// tagKey returns a fixed member key of round round.
func tagKey(round uint64) *membertag.Key {
	var secret [membertag.KeySize]byte
	copy(secret[:], bytesFrom(0xc0, 32))
	return membertag.NewKey(&secret, vecEpoch, round)
}

// TestBuildTagged checks a round tagged with a member key (the previous
// round's): every datagram carries the tag, on every worker, fits the
// limit, and still verifies, with go-jose too.
func TestBuildTagged(t *testing.T) {
	p := vecProducer(t, 0)
	ring, err := sign.NewKeyring(sign.Key{Public: p.Public()})
	if err != nil {
		t.Fatal(err)
	}
	keys, ms := hosts(t, 13)
	b, err := seal.NewBuilder(p, seal.Config{Workers: 3, MemberKey: true})
	if err != nil {
		t.Fatal(err)
	}
	r := seal.Round{Epoch: vecEpoch, Seq: 100, Time: vecNow, Round: 5, Tag: tagKey(4)}
	r.MemberKey = tagKey(5).Secret()
	dgs, err := b.Build(ms, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(dgs) != 3 {
		t.Fatalf("13 members: got %d datagrams, want 3 of up to 5 entries", len(dgs))
	}
	for i, dg := range dgs {
		if len(dg) > seal.DefaultMaxDatagram {
			t.Errorf("datagram %d: %d bytes, over the datagram size limit", i, len(dg))
		}
		m, refusal := ring.Check(dg)
		if refusal.Err() != nil {
			t.Fatalf("datagram %d: Check: %v", i, refusal.Err())
		}
		mt, ok := m.MemberTag()
		if !ok || membertag.RoundOf(mt) != 4 {
			t.Fatalf("datagram %d: got member tag %x (%v), want one of round 4", i, mt, ok)
		}
		if !m.CheckTag(tagKey(4)) {
			t.Errorf("datagram %d: the tag does not check under round 4's key", i)
		}
		if m.CheckTag(tagKey(5)) {
			t.Errorf("datagram %d: the tag checks under round 5's key", i)
		}
		obj, err := jose.ParseSigned(string(dg))
		if err != nil {
			t.Fatal(err)
		}
		payload, err := obj.Verify(p.Public())
		if err != nil {
			t.Fatalf("datagram %d: go-jose: %v", i, err)
		}
		pl, err := seedwire.Parse(payload)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			pt, err := k.Open(&pl, p.KeyID())
			if errors.Is(err, seal.ErrNoEntry) {
				continue
			}
			if err != nil || !pt.HasMemberKey || pt.MemberKey != r.MemberKey {
				t.Errorf("datagram %d: got member key %v (%v), want round 5's", i, pt.HasMemberKey, err)
			}
		}
	}
	// Untagged (the first round of an epoch), from the same Builder.
	r.Tag = nil
	plain, err := b.Build(ms, r)
	if err != nil {
		t.Fatal(err)
	}
	for i, dg := range plain {
		m, refusal := ring.Check(dg)
		if refusal.Err() != nil {
			t.Fatal(refusal.Err())
		}
		if _, ok := m.MemberTag(); ok || len(dg) != len(dgs[i])-53 {
			t.Errorf("untagged datagram %d: tagged %v, %d bytes; want no tag and 53 bytes fewer than %d", i, ok, len(dg), len(dgs[i]))
		}
	}
}

// TestJOSE checks that a standard JOSE library verifies a seed datagram,
// as it does a frame.
func TestJOSE(t *testing.T) {
	p := vecProducer(t, 0)
	_, ms := hosts(t, 3)
	b, _ := seal.NewBuilder(p, seal.Config{})
	dgs, err := b.Build(ms, seal.Round{Epoch: vecEpoch, Time: vecNow})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseSigned(string(dgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := obj.Verify(p.Public())
	if err != nil {
		t.Fatalf("go-jose: %v", err)
	}
	if _, err := seedwire.Parse(payload); err != nil {
		t.Errorf("payload verified by go-jose: %v", err)
	}
	if obj.Signatures[0].Header.KeyID != p.KeyID() {
		t.Errorf("kid: got %s, want %s", obj.Signatures[0].Header.KeyID, p.KeyID())
	}
}

func TestBuildRejects(t *testing.T) {
	p := vecProducer(t, 0)
	b, _ := seal.NewBuilder(p, seal.Config{})
	_, ms := hosts(t, 3)
	if dgs, err := b.Build(nil, seal.Round{}); dgs != nil || err != nil {
		t.Errorf("no members: got %d datagrams, %v; want none", len(dgs), err)
	}
	if _, err := b.Build([]seal.Member{ms[1], ms[0]}, seal.Round{}); err == nil {
		t.Errorf("unsorted members: got nil, want an error")
	}
	if _, err := b.Build([]seal.Member{ms[0], ms[0]}, seal.Round{}); err == nil {
		t.Errorf("a member twice: got nil, want an error")
	}
	if _, err := b.Build([]seal.Member{{ID: "x"}}, seal.Round{}); err == nil {
		t.Errorf("a member not made by NewMember: got nil, want an error")
	}
	if _, err := b.Build(ms, seal.Round{Seq: seedwire.MaxSeq}); err != nil {
		t.Errorf("last datagram at MaxSeq: %v", err)
	}
	_, many := hosts(t, 9)
	if _, err := b.Build(many, seal.Round{Seq: seedwire.MaxSeq}); err == nil {
		t.Errorf("datagrams past MaxSeq: got nil, want an error")
	}
	if _, err := b.Build(many, seal.Round{Seq: ^uint64(0)}); err == nil {
		t.Errorf("sequence numbers that wrap: got nil, want an error")
	}
	if _, err := b.Build(ms, seal.Round{Time: -1}); err == nil {
		t.Errorf("negative time: got nil, want an error")
	}
	if _, err := b.Build(ms, seal.Round{Tag: tagKey(1)}); err == nil {
		t.Errorf("a tagged round by a Builder without member keys: got nil, want an error")
	}
	if _, err := seal.NewBuilder(badSigner{}, seal.Config{}); err == nil {
		t.Errorf("signer with a bad kid: got nil, want an error")
	}
	if _, err := seal.NewMembers(seal.Member{Public: make([]byte, 31)}); err == nil {
		t.Errorf("31-byte member: got nil, want an error")
	}
}

type badSigner struct{}

func (badSigner) KeyID() string                     { return "not a kid" }
func (badSigner) Len(n int) int                     { return n }
func (badSigner) Append(dst, payload []byte) []byte { return append(dst, payload...) }
func (badSigner) TaggedLen(n int) int               { return n }
func (badSigner) AppendTagged(dst, payload []byte, _ *membertag.Key) []byte {
	return append(dst, payload...)
}

// TestEntropy checks that seeds depend on the entropy source, and that a
// failing source fails the round.
func TestEntropy(t *testing.T) {
	p := vecProducer(t, 0)
	b, _ := seal.NewBuilder(p, seal.Config{Entropy: strings.NewReader("too short")})
	_, ms := hosts(t, 1)
	if _, err := b.Build(ms, seal.Round{}); err == nil || !strings.Contains(err.Error(), "entropy source") {
		t.Errorf("short source: got %v, want an error naming the entropy source", err)
	}
}

func TestCombine(t *testing.T) {
	a, b, c := vecProducer(t, 0).KeyID(), vecProducer(t, 64).KeyID(), vecProducer(t, 32).KeyID()
	sa, sb, sc := [32]byte{1}, [32]byte{2}, [32]byte{3}
	abc, err := seal.Combine([]seal.Contribution{{a, sa}, {b, sb}, {c, sc}})
	if err != nil {
		t.Fatal(err)
	}
	for _, perm := range [][]seal.Contribution{
		{{c, sc}, {b, sb}, {a, sa}}, {{b, sb}, {a, sa}, {c, sc}}, {{a, sa}, {c, sc}, {b, sb}},
	} {
		if got, err := seal.Combine(perm); err != nil || got != abc {
			t.Errorf("another order: got %x (%v), want %x", got, err, abc)
		}
	}
	// Each seed and each producer counts.
	for name, cs := range map[string][]seal.Contribution{
		"other seed":      {{a, sa}, {b, sb}, {c, [32]byte{4}}},
		"seeds swapped":   {{a, sb}, {b, sa}, {c, sc}},
		"other producer":  {{a, sa}, {b, sb}, {vecProducer(t, 96).KeyID(), sc}},
		"fewer producers": {{a, sa}, {b, sb}},
	} {
		if got, _ := seal.Combine(cs); got == abc {
			t.Errorf("%s: got the same seed", name)
		}
	}
	for name, cs := range map[string][]seal.Contribution{
		"none":           nil,
		"producer twice": {{a, sa}, {a, sb}},
		"bad kid":        {{"x", sa}},
	} {
		if _, err := seal.Combine(cs); !errors.Is(err, seal.ErrCombine) {
			t.Errorf("%s: got %v, want ErrCombine", name, err)
		}
	}
	// §9.7's vector.
	one, _ := seal.Combine([]seal.Contribution{{a, [32]byte(bytesFrom(0xa0, 32))}})
	two, _ := seal.Combine([]seal.Contribution{{b, [32]byte(bytesFrom(0xc0, 32))}, {a, [32]byte(bytesFrom(0xa0, 32))}})
	if got := hex.EncodeToString(one[:]) + " " + hex.EncodeToString(two[:]); got != combineVector {
		t.Errorf("combine vector: got %s, want %s", got, combineVector)
	}
}

// combineVector is docs/protocol.md §9.7's: K = 1 and K = 2.
const combineVector = "0242a6068df9495aab97afbb9c7e2c99320cb82120c910e3e9d6a1ada175eebd 3d5aeb0c01c1d8ff7b31c1f3fccc26540f94661a77bf0ceee88a2b19bf01aa36"

// TestCombineSpec computes §9.7's K = 2 seed from the text of the spec,
// with crypto/hkdf directly.
func TestCombineSpec(t *testing.T) {
	a, b := vecProducer(t, 0).KeyID(), vecProducer(t, 64).KeyID()
	ta, _ := seedwire.Thumbprint(a)
	tb, _ := seedwire.Thumbprint(b)
	sa, sb := bytesFrom(0xa0, 32), bytesFrom(0xc0, 32)
	if bytes.Compare(ta[:], tb[:]) > 0 {
		ta, tb, sa, sb = tb, ta, sb, sa
	}
	info := "ssmrandom seed combine v1" + "\x02" + string(ta[:]) + string(tb[:])
	want, err := hkdf.Key(sha256.New, append(bytes.Clone(sa), sb...), nil, info, 32)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := seal.Combine([]seal.Contribution{{a, [32]byte(bytesFrom(0xa0, 32))}, {b, [32]byte(bytesFrom(0xc0, 32))}})
	if !bytes.Equal(got[:], want) || !strings.HasSuffix(combineVector, hex.EncodeToString(want)) {
		t.Errorf("got %x, want %x (and the vector's second value)", got, want)
	}
}
