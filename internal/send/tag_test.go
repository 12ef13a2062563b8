package send_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// fixedKey returns a member key of epoch and round made of fixed bytes.
func fixedKey(epoch, round uint64) *membertag.Key {
	var secret [membertag.KeySize]byte
	copy(secret[:], "thirty-two bytes of member key..")
	return membertag.NewKey(&secret, epoch, round)
}

// TestTaggedFramer checks the framer of send --members: untagged, byte for
// byte as NewSigned frames, until its TagKey holds a key; then tagged with
// the key of the frame's epoch, the switch seen by every clone; never
// tagged with a key of another epoch; and always within Len, which makes
// room for the tag from the start.
func TestTaggedFramer(t *testing.T) {
	s := signer(t)
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	keys := new(send.TagKey)
	tf := send.NewTagged(s, keys)
	clone := tf.Clone()
	f := frame.Frame{Source: "a.example.org", Epoch: 1764547200000, Seq: 3, Time: 1764547200005, Data: input(256)}
	max := tf.Len("a.example.org", 256)
	if want := sign.TaggedDatagramLen(frame.MaxLen("a.example.org", 256)); max != want {
		t.Errorf("Len: got %d, want %d (room for the tag)", max, want)
	}
	if plain := send.NewSigned(s).Len("a.example.org", 256); max != plain+53 {
		t.Errorf("Len: got %d, want %d: NewSigned's %d and 53 characters", max, plain+53, plain)
	}
	check := func(what string, fr send.Framer, wantRound uint64, tagged bool) {
		t.Helper()
		d := fr.Frame(nil, &f)
		if len(d) > max {
			t.Errorf("%s: %d bytes, want at most Len %d", what, len(d), max)
		}
		m, refusal := ring.Check(d)
		if refusal.Err() != nil {
			t.Fatalf("%s: Check: %v", what, refusal.Err())
		}
		if err := m.Verify(); err != nil {
			t.Fatalf("%s: Verify: %v", what, err)
		}
		mt, ok := m.MemberTag()
		switch {
		case ok != tagged:
			t.Errorf("%s: got tagged %v, want %v", what, ok, tagged)
		case !tagged:
			if want := s.Append(nil, f.Append(nil)); !bytes.Equal(d, want) {
				t.Errorf("%s: untagged, got\n%s\nwant NewSigned's\n%s", what, d, want)
			}
		case membertag.RoundOf(mt) != wantRound || !m.CheckTag(fixedKey(f.Epoch, wantRound)):
			t.Errorf("%s: got a tag of round %d that checks %v, want round %d's", what, membertag.RoundOf(mt), m.CheckTag(fixedKey(f.Epoch, wantRound)), wantRound)
		}
	}
	check("no key yet", tf, 0, false)
	check("no key yet, clone", clone, 0, false)
	send.StoreTag(keys, fixedKey(f.Epoch, 0))
	check("round 0's key", tf, 0, true)
	check("round 0's key, clone", clone, 0, true)
	send.StoreTag(keys, fixedKey(f.Epoch, 1))
	check("round 1's key", tf, 1, true)
	check("round 1's key, clone made before", clone, 1, true)
	check("round 1's key, clone made after", tf.Clone(), 1, true)
	// The switch goes by sequence number: a frame numbered before the
	// round's last seed datagram keeps the previous key, however late it
	// is framed; one numbered after takes the new one.
	send.StoreTagFrom(keys, fixedKey(f.Epoch, 2), f.Seq+1)
	check("round 2's key, a frame numbered before its seeds", tf, 1, true)
	check("round 2's key, a frame numbered before its seeds, clone", clone, 1, true)
	f.Seq++
	check("round 2's key, a frame numbered after its seeds", tf, 2, true)
	f.Seq--
	send.StoreTag(keys, fixedKey(f.Epoch-1, 7))
	check("a key of another epoch", tf, 0, false)
}

// TestTaggedFramerAllocs pins tagging at no allocation per frame once the
// framer has its own copy of the round's key.
func TestTaggedFramerAllocs(t *testing.T) {
	keys := new(send.TagKey)
	tf := send.NewTagged(signer(t), keys)
	f := frame.Frame{Source: "a.example.org", Epoch: 1764547200000, Seq: 3, Time: 1764547200005, Data: input(512)}
	send.StoreTag(keys, fixedKey(f.Epoch, 0))
	dst := make([]byte, 0, tf.Len(f.Source, 512))
	tf.Frame(dst, &f) // the framer's scratch buffer and key clone
	if got := testing.AllocsPerRun(100, func() { f.Seq++; dst = tf.Frame(dst, &f) }); got != 0 {
		t.Errorf("got %v allocations per tagged frame, want 0", got)
	}
}

// TestTagsNeedBoth checks that New refuses a framer and seeds that would
// not tag with the same key.
func TestTagsNeedBoth(t *testing.T) {
	s := signer(t)
	keys := new(send.TagKey)
	for _, c := range []struct {
		framer send.Framer
		tags   *send.TagKey
	}{{send.NewSigned(s), keys}, {send.NewTagged(s, keys), nil}, {send.NewTagged(s, keys), new(send.TagKey)}} {
		_, err := send.New(send.Config{Input: bytes.NewReader(nil), Conn: new(lockedConn), Framer: c.framer, Size: 1,
			Seeds: &send.Seeds{Signer: s, Tags: c.tags}})
		if err == nil {
			t.Errorf("framer and seeds with different TagKeys: got nil, want an error")
		}
	}
}

// TestMemberTagsRoundTrip runs send --members end to end: round R's seed
// datagrams carry the tag of round R-1's member key (round 0's none), and
// each frame exactly the tag of the newest round whose key has taken over
// (TagDelay numbers after the round's last seed datagram, however far
// ahead the workers framed it), under the key a member opens from its own
// entry; every datagram still verifies, and a tagged frame verifies
// with go-jose too.
func TestMemberTagsRoundTrip(t *testing.T) {
	s := signer(t)
	hosts, ms := hostKeys(t, 7, 9, sign.Validity{}) // 2 seed datagrams a round
	member := hosts[6]
	keys := new(send.TagKey)
	c := new(lockedConn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rounds := 0
	// A round every 300 ms, 600 frames between: each round's key takes
	// over TagDelay numbers after the round's last seed datagram.
	l, err := send.New(send.Config{Input: new(endless), Conn: c, Framer: send.NewTagged(s, keys), Source: "x", Size: 16, Rate: 16 * 2000, Workers: 2,
		Seeds: &send.Seeds{Signer: s, Members: members(t, ms...), Interval: 300 * time.Millisecond, Tags: keys,
			Observe: func(send.SeedRound) {
				if rounds++; rounds == 4 {
					cancel()
				}
			}}})
	if err != nil {
		t.Fatal(err)
	}
	if l.PerDatagram() != 5 {
		t.Errorf("got %d entries per seed datagram, want 5 (1232 bytes, room for a member key and a tag)", l.PerDatagram())
	}
	if err := l.Run(ctx); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	opened := map[uint64]*membertag.Key{} // the member's keys, by round
	seedsSent := map[uint64]int{}         // seed datagrams sent, by round
	var firsts, lasts []uint64            // by round: its first and last seed datagram's n
	type frameTag struct {
		seq   uint64
		round int64 // -1 untagged
	}
	var tags []frameTag
	framesTagged := map[int64]int{} // frames by the round of their tag, -1 untagged
	var jose0 []byte                // a tagged frame, for go-jose
	for i, d := range c.all() {
		m, refusal := ring.Check(d)
		if refusal.Err() != nil {
			t.Fatalf("datagram %d: %v", i, refusal.Err())
		}
		if err := m.Verify(); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		mt, tagged := m.MemberTag()
		var payload []byte
		if payload, err = base64.RawURLEncoding.DecodeString(strings.Split(string(d), ".")[1]); err != nil {
			t.Fatal(err)
		}
		if seedwire.IsSeed(d) {
			p, err := seedwire.Parse(payload)
			if err != nil {
				t.Fatal(err)
			}
			switch r := p.Round; {
			case r == 0 && tagged:
				t.Errorf("seed datagram %d of round 0: tagged (round %d), want untagged", i, membertag.RoundOf(mt))
			case r > 0 && (!tagged || opened[r-1] == nil || !m.CheckTag(opened[r-1])):
				t.Errorf("seed datagram %d of round %d: tagged %v, want the tag of round %d's key", i, r, tagged, r-1)
			}
			if pt, err := member.Open(&p, s.KeyID()); err == nil {
				if !pt.HasMemberKey {
					t.Fatalf("round %d: the member's entry holds no member key", p.Round)
				}
				opened[p.Round] = membertag.NewKey(&pt.MemberKey, p.Epoch, p.Round)
			} else if err != seal.ErrNoEntry {
				t.Fatal(err)
			}
			if seedsSent[p.Round]++; seedsSent[p.Round] == 1 {
				firsts = append(firsts, p.Seq)
			} else if seedsSent[p.Round] == 2 {
				lasts = append(lasts, p.Seq)
			}
			continue
		}
		f, err := frame.Parse(payload)
		if err != nil {
			t.Fatal(err)
		}
		r := int64(-1)
		if tagged {
			r = int64(membertag.RoundOf(mt))
		}
		tags = append(tags, frameTag{f.Seq, r})
		framesTagged[r]++
		switch {
		case r < 0:
			continue
		case !m.CheckTag(opened[uint64(r)]):
		case !m.CheckTag(opened[uint64(r)]):
			t.Errorf("frame n %d: its tag does not check under round %d's key, as the member opened it", f.Seq, r)
		}
		jose0 = d
	}
	// docs/protocol.md §10.2: round 0's key tags right after its last seed
	// datagram, a later round's TagDelay numbers after, or from the next
	// round's first seed datagram if that comes sooner; before its switch,
	// no frame carries a round's key.
	switches := make([]uint64, len(lasts))
	for r, last := range lasts {
		switches[r] = last + 1
		if r > 0 {
			switches[r] += send.TagDelay
		}
		if r+1 < len(firsts) {
			switches[r] = min(switches[r], firsts[r+1])
		}
	}
	for _, f := range tags {
		want := int64(-1)
		for r, from := range switches {
			if f.seq >= from {
				want = int64(r)
			}
		}
		// A frame made before its round's key was stored (the workers frame
		// ahead) carries the key before it, which members also hold.
		if f.round != want && f.round != want-1 {
			t.Errorf("frame n %d: tagged with round %d's key, want round %d's or %d's (-1: untagged; switches at %v)", f.seq, f.round, want, want-1, switches)
		}
	}
	if len(opened) != 4 || framesTagged[0] == 0 || framesTagged[1] == 0 || framesTagged[2] == 0 {
		t.Errorf("got member keys of %d rounds and frames by tag round %v; want 4 keys and frames tagged with rounds 0, 1 and 2", len(opened), framesTagged)
	}
	if opened[0] != nil && opened[1] != nil && opened[0].Secret() == opened[1].Secret() {
		t.Errorf("rounds 0 and 1 have the same member key")
	}
	obj, err := jose.ParseSigned(string(jose0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Verify(s.Public()); err != nil {
		t.Errorf("go-jose: a tagged frame does not verify: %v", err)
	}
}
