package receive_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// The member tests (docs/protocol.md §10): the producer is k.trusted, in
// the epoch of mkframe; this host is member 0 of its seed rounds.

// epoch is the producer's epoch in the member tests (that of mkframe).
const epoch = now - 60_000

// hostKey returns host key i of the tests.
func hostKey(t testing.TB, i byte) *seal.HostKey {
	t.Helper()
	k, err := seal.NewHostKey(bytes.Repeat([]byte{0x40 + i}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// memberKey returns the member key of round r of epoch e, its secret
// made of e and r.
func memberKey(e, r uint64) *membertag.Key {
	var secret [membertag.KeySize]byte
	for i := range secret {
		secret[i] = byte(e) + byte(r) + byte(i)
	}
	secret[0] = byte(e >> 8)
	return membertag.NewKey(&secret, e, r)
}

// seedRound returns the seed datagrams of round r for this host (key hk)
// and another, carrying memberKey(e, r), numbered from seq, made at ms,
// tagged under tag (nil: untagged).
func seedRound(t testing.TB, s *sign.Signer, hk *seal.HostKey, e, r, seq uint64, ms int64, tag *membertag.Key) [][]byte {
	t.Helper()
	set, err := seal.NewMembers(hk.Public(), hostKey(t, 9).Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := seal.NewBuilder(s, seal.Config{Workers: 1, MemberKey: true, MaxDatagram: maxDatagram})
	if err != nil {
		t.Fatal(err)
	}
	dgs, err := b.Build(set.All(), seal.Round{Epoch: e, Seq: seq, Time: ms, Round: r, MemberKey: memberKey(e, r).Secret(), Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	return dgs
}

// tagged returns frame f signed by s and tagged under key (nil: untagged).
func tagged(s *sign.Signer, f frame.Frame, key *membertag.Key) []byte {
	return s.AppendTagged(nil, f.Append(nil), key)
}

// member is a member pipeline and what it was given.
type member struct {
	p       *receive.Pipeline
	out     *output
	c       *clock
	seeds   [][]byte     // what Config.Seed was given
	verifes atomic.Int64 // Ed25519 verifications (Config.ObserveVerify)
}

func newMember(t testing.TB, k keys) *member {
	t.Helper()
	m := &member{out: &output{}, c: &clock{ms: now}}
	o, err := hostseed.NewOpener(hostseed.Config{Trust: k.ring, Key: hostKey(t, 0), MaxDatagram: maxDatagram, Now: m.c.now})
	if err != nil {
		t.Fatal(err)
	}
	m.p, err = receive.New(receive.Config{Trust: k.ring, Output: m.out, MaxDatagram: maxDatagram, Now: m.c.now, Member: o,
		Seed:          func(seed []byte) error { m.seeds = append(m.seeds, bytes.Clone(seed)); return nil },
		ObserveVerify: func(time.Duration) { m.verifes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// at sets the clock to ms after now.
func (m *member) at(ms int64) { m.c.mu.Lock(); m.c.ms = now + ms; m.c.mu.Unlock() }

// expect hands dg to the pipeline and checks its reason and member event.
func (m *member) expect(t *testing.T, name string, dg []byte, want receive.Reason, event receive.MemberEvent) receive.Verdict {
	t.Helper()
	v, err := m.p.Handle(dg)
	if err != nil {
		t.Fatalf("%s: Handle: got error %v, want nil", name, err)
	}
	if v.Reason != want || v.Member != event {
		t.Errorf("%s: got %v (%v), event %d; want %v, event %d", name, v.Reason, v.Why(), v.Member, want, event)
	}
	return v
}

// TestMemberNotYet: a receiver that is not a member, and a member before
// its first key, accept tagged and untagged frames on their signature
// alone, as before member tags.
func TestMemberNotYet(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	plain := newPipeline(t, k, &output{}, maxDatagram, &clock{ms: now})
	for i, key := range []*membertag.Key{nil, memberKey(epoch, 3), nil, memberKey(epoch+1, 0)} {
		dg := tagged(k.trusted, mkframe(uint64(i), now, "x"), key)
		m.expect(t, "member without a key", dg, receive.None, receive.MemberSame)
		if v, _ := plain.Handle(dg); v.Reason != receive.None {
			t.Errorf("frame %d to a non-member: got %v (%v), want forwarded", i, v.Reason, v.Why())
		}
	}
	// A seed datagram is for seed, not for a receiver that is not a member.
	dg := seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 10, now, nil)[0]
	if v, _ := plain.Handle(dg); v.Reason != receive.Seed || v.Member != receive.MemberSame {
		t.Errorf("seed datagram to a non-member: got %v, event %d; want seed", v.Reason, v.Member)
	}
	if s := plain.Stats(); s.Member != (receive.MemberStats{}) {
		t.Errorf("non-member's MemberStats: got %+v, want zero", s.Member)
	}
	if s := m.p.Stats(); s.Member.Tagged != 0 || s.Rejected() != 0 {
		t.Errorf("member without a key: got %+v, %d rejected; want no tag checked, nothing rejected", s.Member, s.Rejected())
	}
}

// TestMemberArmed: a member that has just learned its first key does not
// refuse datagrams on their tags until one tag checks under it: at the
// start of an epoch the producer sends untagged frames until round 0 is
// out, and a member that joins mid-epoch holds round R's key while the
// producer still tags with R-1's.
func TestMemberArmed(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	hk := hostKey(t, 0)
	m.expect(t, "round 5, the member's first", seedRound(t, k.trusted, hk, epoch, 5, 0, now, memberKey(epoch, 4))[0], receive.Seed, receive.KeyLearned)
	for i := range uint64(5) {
		m.expect(t, "tagged under round 4, not held", tagged(k.trusted, mkframe(10+i, now, "x"), memberKey(epoch, 4)), receive.None, receive.MemberSame)
		m.expect(t, "untagged", tagged(k.trusted, mkframe(20+i, now, "x"), nil), receive.None, receive.MemberSame)
	}
	m.expect(t, "tagged under round 5: armed", tagged(k.trusted, mkframe(30, now, "x"), memberKey(epoch, 5)), receive.None, receive.MemberSame)
	// An untagged frame numbered before the one that armed the member, as
	// parallel workers check them out of order when the producer begins
	// to tag: the probe lets it on, and it does not drop the keys; a
	// second one within the probe interval is dropped.
	m.expect(t, "untagged, numbered before: the probe, genuine", tagged(k.trusted, mkframe(29, now, "x"), nil), receive.None, receive.MemberSame)
	m.expect(t, "untagged, numbered before, within the interval", tagged(k.trusted, mkframe(28, now, "x"), nil), receive.BadTag, receive.MemberSame)
	m.at(int64(receive.ProbeInterval / time.Millisecond))
	m.expect(t, "untagged: the probe, genuine", tagged(k.trusted, mkframe(31, now, "x"), nil), receive.None, receive.KeysDropped)
	if s := m.p.Stats().Member; s.Tagged != 1 || s.Probes != 2 || s.KeyDrops != 1 || m.p.Stats().Rejected() != 1 {
		t.Errorf("MemberStats: got %+v, %d rejected; want 1 tagged, 2 probes, 1 key drop, 1 rejected", s, m.p.Stats().Rejected())
	}
}

// TestMemberTags: a member that opened its entry checks the tags of the
// producer's datagrams before their signatures.
func TestMemberTags(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	k0 := memberKey(epoch, 0)
	dgs := seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)
	m.expect(t, "round 0, this host's entry", dgs[0], receive.Seed, receive.KeyLearned)
	if len(m.seeds) != 1 || len(m.seeds[0]) != 32 || bytes.Equal(m.seeds[0], make([]byte, 32)) {
		t.Errorf("seeds given to Config.Seed: got %d (%x), want one of 32 bytes", len(m.seeds), m.seeds)
	}
	m.expect(t, "round 0 again", dgs[0], receive.Replay, receive.MemberSame)
	seq := uint64(len(dgs))
	next := func() frame.Frame { seq++; return mkframe(seq, now, "entropy") }

	m.expect(t, "tagged under round 0", tagged(k.trusted, next(), k0), receive.None, receive.MemberSame)
	verifies := m.verifes.Load()
	// A tag of the held round under another key: dropped, unverified.
	other := membertag.NewKey(&[32]byte{1}, epoch, 0)
	m.expect(t, "bad tag", tagged(k.trusted, next(), other), receive.BadTag, receive.MemberSame)
	// A tag made over another payload.
	f := next()
	good := tagged(k.trusted, f, k0)
	moved := tagged(k.trusted, mkframe(f.Seq, now, "other bytes"), k0)
	h, _, _ := parts(t, moved)
	_, p, sig := parts(t, good)
	m.expect(t, "tag over another payload", []byte(h+"."+p+"."+sig), receive.BadTag, receive.MemberSame)
	if m.verifes.Load() != verifies {
		t.Errorf("verifications for bad tags: got %d, want 0", m.verifes.Load()-verifies)
	}
	// Untagged, and an unknown round: the first is a probe (verified,
	// and forged here), the next within a second are dropped.
	m.expect(t, "untagged forgery: the probe", changeSignature(t, tagged(k.trusted, next(), nil)), receive.BadSignature, receive.MemberSame)
	m.expect(t, "untagged, within the second", tagged(k.trusted, next(), nil), receive.BadTag, receive.MemberSame)
	m.expect(t, "unknown round", tagged(k.trusted, next(), memberKey(epoch, 7)), receive.BadTag, receive.MemberSame)
	m.expect(t, "round 0 of another epoch", tagged(k.trusted, next(), memberKey(epoch+1, 0)), receive.BadTag, receive.MemberSame)
	m.expect(t, "still tagged under round 0", tagged(k.trusted, next(), k0), receive.None, receive.MemberSame)
	if m.verifes.Load() != verifies+2 {
		t.Errorf("verifications: got %d, want 2 (the probe and the good frame)", m.verifes.Load()-verifies)
	}
	s := m.p.Stats()
	want := receive.MemberStats{Keys: 1, Seeds: 1, Tagged: 2, Probes: 1}
	if s.Member != want {
		t.Errorf("MemberStats: got %+v, want %+v", s.Member, want)
	}
	if s.Dropped[receive.BadTag] != 5 || s.Frames != 2 {
		t.Errorf("bad_tag drops and frames: got %d and %d, want 5 and 2", s.Dropped[receive.BadTag], s.Frames)
	}
	if v, _ := m.p.Handle(tagged(k.trusted, next(), other)); !errors.Is(v.Err, receive.ErrBadTag) || !strings.Contains(v.Why().Error(), k.trusted.KeyID()) {
		t.Errorf("bad tag: Err %v, Why %v; want ErrBadTag, and the kid", v.Err, v.Why())
	}
}

// TestMemberProbe: a member whose keys are out of date (here the producer
// restarted, and sends untagged) recovers at the first probe, within a
// second of the last, however many forgeries use the probes before.
func TestMemberProbe(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	m.expect(t, "round 0", seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)[0], receive.Seed, receive.KeyLearned)
	m.expect(t, "tagged under round 0", tagged(k.trusted, mkframe(5, now, "x"), memberKey(epoch, 0)), receive.None, receive.MemberSame)
	restarted := func(seq uint64) frame.Frame {
		f := mkframe(seq, now, "after the restart")
		f.Epoch = epoch + 1
		return f
	}
	// A flood of untagged forgeries: one probe per second, the rest
	// dropped unverified, and the genuine frames of the new run with them.
	m.expect(t, "forgery: the probe", changeSignature(t, tagged(k.trusted, restarted(0), nil)), receive.BadSignature, receive.MemberSame)
	for i := range uint64(100) {
		m.expect(t, "forgery in the flood", changeSignature(t, tagged(k.trusted, restarted(i+1), nil)), receive.BadTag, receive.MemberSame)
	}
	m.expect(t, "genuine, within the second", tagged(k.trusted, restarted(200), nil), receive.BadTag, receive.MemberSame)
	if m.verifes.Load() != 2 {
		t.Errorf("verifications in the flood: got %d, want 1", m.verifes.Load()-1)
	}
	m.at(999)
	m.expect(t, "genuine, 999 ms after the probe", tagged(k.trusted, restarted(201), nil), receive.BadTag, receive.MemberSame)
	m.at(1000)
	m.expect(t, "genuine, a second after the probe", tagged(k.trusted, restarted(202), nil), receive.None, receive.KeysDropped)
	m.expect(t, "genuine, signature only", tagged(k.trusted, restarted(203), nil), receive.None, receive.MemberSame)
	m.expect(t, "tagged under a key never seen, signature only", tagged(k.trusted, restarted(204), memberKey(epoch+1, 0)), receive.None, receive.MemberSame)
	if s := m.p.Stats().Member; s.KeyDrops != 1 || s.Probes != 2 {
		t.Errorf("MemberStats: got %+v, want 1 key drop, 2 probes", s)
	}
	// The new run's round 0 (untagged) gives the next key.
	m.expect(t, "the new run's round 0", seedRound(t, k.trusted, hostKey(t, 0), epoch+1, 0, 300, now+1000, nil)[0], receive.Seed, receive.KeyLearned)
	m.expect(t, "tagged under it", tagged(k.trusted, restarted(310), memberKey(epoch+1, 0)), receive.None, receive.MemberSame)
}

// TestMemberStale: a member whose keys no datagram passed for MaxAge
// drops them at the next datagram that fails the tag check.
func TestMemberStale(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	k0 := memberKey(epoch, 0)
	m.expect(t, "round 0", seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)[0], receive.Seed, receive.KeyLearned)
	age := replay.DefaultMaxAge.Milliseconds()
	m.at(age)
	frameAt := func(seq uint64) frame.Frame { f := mkframe(seq, m.c.now().UnixMilli(), "x"); return f }
	m.expect(t, "tagged, MaxAge after the key", tagged(k.trusted, frameAt(10), k0), receive.None, receive.MemberSame)
	m.at(2 * age)
	m.expect(t, "untagged: the probe", changeSignature(t, tagged(k.trusted, frameAt(11), nil)), receive.BadSignature, receive.MemberSame)
	m.expect(t, "untagged, MaxAge after the last good tag", tagged(k.trusted, frameAt(12), nil), receive.BadTag, receive.MemberSame)
	m.at(2*age + 1)
	m.expect(t, "untagged, past MaxAge", changeSignature(t, tagged(k.trusted, frameAt(13), nil)), receive.BadSignature, receive.KeysExpired)
	m.expect(t, "untagged, signature only", tagged(k.trusted, frameAt(14), nil), receive.None, receive.MemberSame)
	if s := m.p.Stats().Member; s.KeyDrops != 1 {
		t.Errorf("MemberStats: got %+v, want 1 key drop", s)
	}
}

// TestMemberCopies: a copy of a genuine datagram (its tag valid) with a
// wrong signature costs one verification; further copies of that (e, n)
// are dropped as bad_signature without one.
func TestMemberCopies(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	k0 := memberKey(epoch, 0)
	m.expect(t, "round 0", seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)[0], receive.Seed, receive.KeyLearned)
	good := tagged(k.trusted, mkframe(5, now, "genuine"), k0)
	copied := changeSignature(t, good)
	m.expect(t, "copy, wrong signature", copied, receive.BadSignature, receive.MemberSame)
	verifies := m.verifes.Load()
	for range 10 {
		v := m.expect(t, "copy again", copied, receive.BadSignature, receive.MemberSame)
		if !errors.Is(v.Err, sign.ErrBadSignature) {
			t.Errorf("copy again: Err %v, want sign.ErrBadSignature", v.Err)
		}
	}
	m.expect(t, "the genuine datagram after its copy", good, receive.BadSignature, receive.MemberSame)
	if m.verifes.Load() != verifies {
		t.Errorf("verifications of copies: got %d, want 0", m.verifes.Load()-verifies)
	}
	// The table holds CopiesSize (e, n): the oldest goes first.
	for i := range uint64(receive.CopiesSize) {
		m.expect(t, "copy of another frame", changeSignature(t, tagged(k.trusted, mkframe(100+i, now, "x"), k0)), receive.BadSignature, receive.MemberSame)
	}
	verifies = m.verifes.Load()
	m.expect(t, "the genuine datagram, its copy forgotten", good, receive.None, receive.MemberSame)
	m.expect(t, "a copy still in the table", changeSignature(t, tagged(k.trusted, mkframe(100+receive.CopiesSize-1, now, "x"), k0)), receive.BadSignature, receive.MemberSame)
	if m.verifes.Load() != verifies+1 {
		t.Errorf("verifications: got %d, want 1", m.verifes.Load()-verifies)
	}
}

// TestMemberRotation: round R's seed datagrams come tagged under R-1's
// key; after them the producer tags under R's; the member accepts the two
// newest keys.
func TestMemberRotation(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	hk := hostKey(t, 0)
	seq := uint64(0)
	var prev *membertag.Key
	for r := range uint64(4) {
		dgs := seedRound(t, k.trusted, hk, epoch, r, seq, now, prev)
		seq += uint64(len(dgs))
		for _, dg := range dgs[1:] { // other hosts' entries: skipped
			m.expect(t, "another host's entry", dg, receive.Seed, receive.MemberSame)
		}
		m.expect(t, "this host's entry", dgs[0], receive.Seed, receive.KeyLearned)
		cur := memberKey(epoch, r)
		if prev != nil {
			seq++
			m.expect(t, "tagged under the previous round", tagged(k.trusted, mkframe(seq, now, "x"), prev), receive.None, receive.MemberSame)
		}
		seq++
		m.expect(t, "tagged under the new round", tagged(k.trusted, mkframe(seq, now, "x"), cur), receive.None, receive.MemberSame)
		if r >= 2 {
			seq++
			old := memberKey(epoch, r-2)
			m.expect(t, "tagged two rounds back: the probe", changeSignature(t, tagged(k.trusted, mkframe(seq, now, "x"), old)), receive.BadSignature, receive.MemberSame)
			seq++
			m.expect(t, "tagged two rounds back", tagged(k.trusted, mkframe(seq, now, "x"), old), receive.BadTag, receive.MemberSame)
		}
		prev = cur
		m.at(int64(r+1) * 1000)
	}
	if s := m.p.Stats().Member; s.Keys != 4 || s.KeyDrops != 0 {
		t.Errorf("MemberStats: got %+v, want 4 keys, no drop", s)
	}
}

// TestMemberSeedNotTagged: with keys held, a seed datagram for this host
// gets check 10 too: one under an unknown round is dropped as bad_tag.
func TestMemberSeedTags(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	hk := hostKey(t, 0)
	m.expect(t, "round 0", seedRound(t, k.trusted, hk, epoch, 0, 0, now, nil)[0], receive.Seed, receive.KeyLearned)
	m.expect(t, "tagged under round 0", tagged(k.trusted, mkframe(5, now, "x"), memberKey(epoch, 0)), receive.None, receive.MemberSame)
	m.expect(t, "round 1 untagged: the probe", changeSignature(t, seedRound(t, k.trusted, hk, epoch, 1, 10, now, nil)[0]), receive.BadSignature, receive.MemberSame)
	m.expect(t, "round 1 under a bad tag", seedRound(t, k.trusted, hk, epoch, 1, 20, now, membertag.NewKey(&[32]byte{9}, epoch, 0))[0], receive.BadTag, receive.MemberSame)
	m.expect(t, "round 1 under round 0", seedRound(t, k.trusted, hk, epoch, 1, 30, now, memberKey(epoch, 0))[0], receive.Seed, receive.KeyLearned)
	if s := m.p.Stats().Member; s.Keys != 2 || s.Tagged != 2 || s.Probes != 1 {
		t.Errorf("MemberStats: got %+v, want 2 keys, 2 tagged, 1 probe", s)
	}
}

// TestMemberAllocs: a member checks a good tagged frame without
// allocating.
func TestMemberAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	k := newKeys(t)
	m := newMember(t, k)
	m.expect(t, "round 0", seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)[0], receive.Seed, receive.KeyLearned)
	const n = 300
	frames := make([][]byte, n+1)
	for i := range frames {
		frames[i] = tagged(k.trusted, mkframe(uint64(10+i), now, strings.Repeat("x", 512)), memberKey(epoch, 0))
	}
	m.expect(t, "first", frames[0], receive.None, receive.MemberSame)
	m.out.buf.Grow(2 * n * 512)
	i := 1
	allocs := testing.AllocsPerRun(n-1, func() {
		if v, err := m.p.Handle(frames[i]); err != nil || v.Reason != 0 {
			t.Fatalf("frame %d: %v, %v", i, v.Reason, err)
		}
		i++
	})
	if allocs > 0 {
		t.Errorf("allocations per good tagged frame: got %v, want 0", allocs)
	}
}

// TestMemberParallel runs a member on several workers: a seed round, then
// frames with good and bad tags, interleaved; run it with -race.
func TestMemberParallel(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	k0 := memberKey(epoch, 0)
	dgs := seedRound(t, k.trusted, hostKey(t, 0), epoch, 0, 0, now, nil)
	q := receive.NewParallel(m.p, receive.Options{Workers: 4, Batch: 8}, func([]byte, int, receive.Verdict) {})
	if err := q.Submit(dgs[0], 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil { // the key is learned before the frames come
		t.Fatal(err)
	}
	q = receive.NewParallel(m.p, receive.Options{Workers: 4, Batch: 8}, func([]byte, int, receive.Verdict) {})
	other := membertag.NewKey(&[32]byte{1}, epoch, 0)
	const n = 400
	for i := range uint64(n) {
		key := k0
		if i%2 == 1 {
			key = other
		}
		if err := q.Submit(tagged(k.trusted, mkframe(10+i, now, "x"), key), int(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	s := m.p.Stats()
	if s.Frames != n/2 || s.Dropped[receive.BadTag] != n/2 || s.Member.Tagged != n/2 {
		t.Errorf("got %d frames, %d bad_tag, %d tagged; want %d of each", s.Frames, s.Dropped[receive.BadTag], s.Member.Tagged, n/2)
	}
}

// BenchmarkMemberReject measures what a forged datagram costs a member
// that holds the producer's member key (docs/protocol.md §10.4): one with
// a tag under the held round made without the key, and one untagged (the
// clock stands still, so after the first no probe is due). Compare with
// BenchmarkReject/bad_signature, what it costs a receiver that is not a
// member. The bytes per second are of datagrams.
func BenchmarkMemberReject(b *testing.B) {
	payload := hostilePayload(b, benchFrame(hostileSeq, hostileNow))
	kid := hostileSigner(b, hostileProducer).KeyID()
	wrong := membertag.NewKey(memberSecret(0x61), hostileEpoch, memberRound)
	mt := base64.RawURLEncoding.EncodeToString(wrong.Append(nil, kid, []byte(base64.RawURLEncoding.EncodeToString([]byte(payload)))))
	cases := []struct{ name, datagram string }{
		{"bad_tag", string(rawSigned(hostileAttacker, []byte(`{"alg":"EdDSA","kid":"`+kid+`","mt":"`+mt+`"}`), []byte(payload)))},
		{"untagged", hostileJWS(hostileAttacker, hostileHeader(kid), payload)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			now := time.UnixMilli(hostileNow)
			ring := hostileTrust(b)
			o, err := hostseed.NewOpener(hostseed.Config{Trust: ring, Key: hostKey(b, 0), MaxDatagram: hostileMaxDatagram, Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			p, err := receive.New(receive.Config{Trust: ring, Output: io.Discard, MaxDatagram: hostileMaxDatagram, Now: func() time.Time { return now }, Member: o})
			if err != nil {
				b.Fatal(err)
			}
			key := membertag.NewKey(memberSecret(0x60), hostileEpoch, memberRound)
			p.HoldMemberKey(kid, key)
			first := benchFrame(1, hostileNow)
			if v, _ := p.Handle(hostileSigner(b, hostileProducer).AppendTagged(nil, first.Append(nil), key)); v.Reason != receive.None {
				b.Fatalf("the first tagged frame: got %v (%v), want forwarded", v.Reason, v.Why())
			}
			d := []byte(c.datagram)
			p.Handle(d) // the probe, if one is due
			if v, _ := p.Handle(d); v.Reason != receive.BadTag {
				b.Fatalf("got %v (%v), want bad_tag", v.Reason, v.Why())
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			b.ResetTimer()
			for range b.N {
				p.Handle(d)
			}
		})
	}
}

// TestMemberEntries: an entry without a member key, and a Config.Seed
// that fails, are events for the log; nothing is learned from the first,
// and the second's key is still learned.
func TestMemberEntries(t *testing.T) {
	k := newKeys(t)
	m := newMember(t, k)
	hk := hostKey(t, 0)
	set, err := seal.NewMembers(hk.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := seal.NewBuilder(k.trusted, seal.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	dgs, err := b.Build(set.All(), seal.Round{Epoch: epoch, Seq: 0, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	v := m.expect(t, "an entry without a member key", dgs[0], receive.Seed, receive.EntryRefused)
	if v.Err == nil || len(m.seeds) != 1 {
		t.Errorf("got Err %v and %d seeds, want an error and the seed given to Config.Seed", v.Err, len(m.seeds))
	}
	if s := m.p.Stats().Member; s.Keys != 1 || s.Seeds != 1 {
		t.Errorf("MemberStats: got %+v, want 1 entry opened, 1 seed", s)
	}
	// Still signature only.
	m.expect(t, "untagged", tagged(k.trusted, mkframe(5, now, "x"), nil), receive.None, receive.MemberSame)

	failing := errors.New("no kernel here")
	o, err := hostseed.NewOpener(hostseed.Config{Trust: k.ring, Key: hk, MaxDatagram: maxDatagram, Now: m.c.now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := receive.New(receive.Config{Trust: k.ring, Output: &output{}, MaxDatagram: maxDatagram, Now: m.c.now, Member: o,
		Seed: func([]byte) error { return failing }})
	if err != nil {
		t.Fatal(err)
	}
	v, _ = p.Handle(seedRound(t, k.trusted, hk, epoch, 0, 10, now, nil)[0])
	if v.Reason != receive.Seed || v.Member != receive.SeedFailed || !errors.Is(v.Err, failing) {
		t.Errorf("a failing Seed: got %v, event %d, Err %v; want seed, SeedFailed, its error", v.Reason, v.Member, v.Err)
	}
	if v, _ := p.Handle(tagged(k.trusted, mkframe(20, now, "x"), memberKey(epoch, 0))); v.Reason != receive.None || p.Stats().Member.Tagged != 1 || p.Stats().Member.Seeds != 0 {
		t.Errorf("tagged after a failing Seed: got %v, %+v; want forwarded, the key learned, no seed counted", v.Reason, p.Stats().Member)
	}
}
