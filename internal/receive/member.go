package receive

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// A member (docs/protocol.md §10) is a receiver with a host key
// ([Config.Member]): it opens its own entries of its producers' seed
// datagrams, learns each producer's member keys from them, and from then
// on checks every datagram of that producer against them (check 10 of
// §5 and of §9.6) before it spends a signature verification on it.

// MemberEvent is a change of a producer's member state that a datagram
// caused, for the log; its zero value, [MemberSame], is none.
type MemberEvent uint8

// The member events.
const (
	MemberSame   MemberEvent = iota // no change
	KeyLearned                      // this host's entry of a seed datagram opened: a new member key
	KeysDropped                     // a probe verified: the producer's member keys were out of date and are dropped until the next one
	KeysExpired                     // no datagram of the producer passed the tag check for MaxAge: its member keys are dropped until the next one
	EntryRefused                    // this host's entry verified but did not open, or held no member key (Verdict.Err says which)
	SeedFailed                      // the entry opened, and Config.Seed failed (Verdict.Err)
)

// ProbeInterval is how often, at most, a datagram of a producer whose
// member keys this receiver holds goes on to the signature check although
// it is untagged or tagged under a round the receiver does not hold (the
// probe, §10.4): a member whose keys are out of date (the producer
// restarted, or the member missed rounds) finds out within about this
// time without a flood, and a flood of such datagrams costs at most one
// verification per interval and producer.
const ProbeInterval = time.Second

// CopiesSize is how many (e, n) a member remembers per producer of
// datagrams whose tag checked and whose signature failed: copies of
// genuine datagrams with a wrong signature (§10.4). A further copy of
// one of them is dropped as [BadSignature] without a verification.
const CopiesSize = 64

// Errors of check 10, each wrapping [ErrBadTag].
var (
	// ErrBadTag reports a datagram whose member tag a member refuses.
	ErrBadTag     = errors.New("receive: bad member tag")
	errTagWrong   = wrapTag("the tag does not check under the round's member key")
	errUntagged   = wrapTag("no member tag from a producer whose member key this host holds")
	errTagUnknown = wrapTag("tagged under a round whose member key this host does not hold")
	// errCopy reports a copy of a datagram whose tag checked and whose
	// signature failed before.
	errCopy = wrapBadSig("a copy of a datagram whose signature failed (not verified again)")
)

type wrapped struct {
	err  error
	text string
}

func (e *wrapped) Error() string { return e.err.Error() + ": " + e.text }
func (e *wrapped) Unwrap() error { return e.err }

func wrapTag(text string) error    { return &wrapped{ErrBadTag, text} }
func wrapBadSig(text string) error { return &wrapped{sign.ErrBadSignature, text} }

// MemberStats are a member's counters ([Config.Member]).
type MemberStats struct {
	Keys     uint64 // this host's entries opened: member keys learned
	Seeds    uint64 // seeds given to Config.Seed (with recv -o kernel, credited to the kernel)
	Tagged   uint64 // datagrams whose member tag checked
	Probes   uint64 // untagged or unknown-round datagrams let on to the signature check (ProbeInterval)
	KeyDrops uint64 // times a producer's member keys were dropped: a probe verified, or none passed for MaxAge
}

// sub returns s less an earlier snapshot t.
func (s MemberStats) sub(t MemberStats) MemberStats {
	return MemberStats{Keys: s.Keys - t.Keys, Seeds: s.Seeds - t.Seeds, Tagged: s.Tagged - t.Tagged,
		Probes: s.Probes - t.Probes, KeyDrops: s.KeyDrops - t.KeyDrops}
}

// memberCounters are the Pipeline's MemberStats.
type memberCounters struct {
	keys, seeds, tagged, probes, drops atomic.Uint64
}

func (c *memberCounters) load() MemberStats {
	return MemberStats{Keys: c.keys.Load(), Seeds: c.seeds.Load(), Tagged: c.tagged.Load(), Probes: c.probes.Load(), KeyDrops: c.drops.Load()}
}

// member is a producer's member state: the two newest member keys this
// host opened, and what check 10 needs besides. Its zero value holds no
// key. It is safe for concurrent use.
type member struct {
	held atomic.Bool // keys[0] != nil, for a check that takes no lock when there is no key

	mu     sync.Mutex
	keys   [2]*membertag.Key // the newest first; nil where none
	armed  bool              // a datagram's tag checked under keys since they were empty: the producer tags with them
	first  [2]uint64         // (epoch, n) of the datagram that armed it
	gen    uint64            // counts the changes of keys
	good   int64             // Unix ns: the last datagram whose tag checked, or the last key learned
	probe  int64             // Unix ns: the last probe
	copies [CopiesSize][2]uint64
	ncopy  int // entries of copies in use
	next   int // the entry of copies to write next
}

// tagState is how check 10 let a datagram on.
type tagState uint8

const (
	tagNone   tagState = iota // no check: no member key held (signature only)
	tagOK                     // its tag checked
	tagProbe                  // a probe: untagged or unknown round, let on to the signature
	tagBefore                 // a probe: untagged, numbered before the datagram that armed the member
)

// tagCheck is check 10 of docs/protocol.md §5 and §9.6 on a datagram m of
// epoch and seq from producer pr, at now (Unix ns): None to go on to the
// signature, or why to drop it. Until a datagram's tag checks under the
// keys held (since there were none), it refuses nothing. It notes in w how it let the datagram on
// (w.tag, for [producer.verified]), and in w.v a change of the member
// state. maxAge is Config.MaxAge.
func (pr *producer) tagCheck(w *work, m *sign.JWS, epoch, seq uint64, now int64, maxAge time.Duration) (Reason, error) {
	w.tag = tagNone
	ms := &pr.member
	if !ms.held.Load() {
		return None, nil
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.keys[0] == nil {
		return None, nil
	}
	w.tagGen = ms.gen
	err := errUntagged
	if mt, ok := m.MemberTag(); ok {
		err = errTagUnknown
		round := membertag.RoundOf(mt)
		for _, k := range ms.keys {
			if k == nil || k.Epoch() != epoch || k.Round() != round {
				continue
			}
			if !m.CheckTag(k) {
				err = errTagWrong
				break
			}
			if !ms.armed {
				ms.first = [2]uint64{epoch, seq}
			}
			ms.good, w.tag, ms.armed = now, tagOK, true
			for i := range ms.ncopy {
				if ms.copies[i] == [2]uint64{epoch, seq} {
					return BadSignature, errCopy
				}
			}
			return None, nil
		}
	}
	if !ms.armed {
		// The producer has not been seen to tag with these keys yet: at
		// the start of an epoch it sends untagged until round 0 is out,
		// and a member that joins mid-epoch holds round R's key while
		// the producer tags with R-1's until round R is out. Signature
		// only, as before the first key.
		return None, nil
	}
	if now-ms.good > int64(maxAge) {
		ms.drop()
		w.v.Member = KeysExpired
		return None, nil
	}
	if err != errTagWrong && now-ms.probe >= int64(ProbeInterval) {
		ms.probe, w.tag = now, tagProbe
		if err == errUntagged && epoch == ms.first[0] && seq < ms.first[1] {
			// Untagged and numbered before the first tagged datagram: one
			// the producer made before it began to tag, checked after it
			// here (parallel workers reorder). If it verifies, the keys
			// are not out of date.
			w.tag = tagBefore
		}
		return None, nil
	}
	return BadTag, err
}

// verified is told whether the signature of a datagram that tagCheck let
// on verified: a probe that verifies drops the producer's keys (unless a
// new one came meanwhile, or it is an untagged one from before the
// producer began to tag), and a datagram whose tag checked but whose
// signature failed goes into the copies table. It reports whether it
// dropped the keys.
func (pr *producer) verified(w *work, epoch, seq uint64, ok bool) bool {
	if w.tag == tagNone || w.tag == tagBefore || w.tag == tagOK && ok {
		return false
	}
	ms := &pr.member
	ms.mu.Lock()
	defer ms.mu.Unlock()
	switch {
	case w.tag == tagOK:
		ms.copies[ms.next] = [2]uint64{epoch, seq}
		ms.next = (ms.next + 1) % CopiesSize
		ms.ncopy = min(ms.ncopy+1, CopiesSize)
	case ok && ms.gen == w.tagGen && ms.keys[0] != nil:
		ms.drop()
		return true
	}
	return false
}

// drop forgets the keys: signature only until the next one. The caller
// holds ms.mu.
func (ms *member) drop() {
	ms.keys, ms.armed = [2]*membertag.Key{}, false
	ms.gen++
	ms.ncopy, ms.next = 0, 0
	ms.held.Store(false)
}

// learn keeps k if it is one of the two newest keys, by (epoch, round),
// and reports whether it did.
func (pr *producer) learn(k *membertag.Key, now int64) bool {
	newer := func(a, b *membertag.Key) bool {
		return a.Epoch() > b.Epoch() || a.Epoch() == b.Epoch() && a.Round() > b.Round()
	}
	ms := &pr.member
	ms.mu.Lock()
	defer ms.mu.Unlock()
	switch {
	case ms.keys[0] == nil || newer(k, ms.keys[0]):
		ms.keys[1], ms.keys[0] = ms.keys[0], k
	case newer(ms.keys[0], k) && (ms.keys[1] == nil || newer(k, ms.keys[1])):
		ms.keys[1] = k
	default:
		return false
	}
	ms.gen++
	ms.good = now
	ms.held.Store(true)
	return true
}

// memberCheck runs check 10 on the frame w holds, m, and counts it; it
// reports whether the frame goes on.
func (p *Pipeline) memberCheck(w *work, m *sign.JWS, epoch, seq uint64) bool {
	if !w.prod.member.held.Load() {
		w.tag = tagNone
		return true
	}
	r, err := w.prod.tagCheck(w, m, epoch, seq, p.now().UnixNano(), p.cfg.MaxAge)
	p.countTag(w)
	if r != None {
		w.v.reject(r, err, replayed)
		return false
	}
	return true
}

// countTag counts how check 10 let a datagram on, and a change of keys.
func (p *Pipeline) countTag(w *work) {
	switch w.tag {
	case tagOK:
		p.member.tagged.Add(1)
	case tagProbe, tagBefore:
		p.member.probes.Add(1)
	}
	if w.v.Member == KeysExpired {
		p.member.drops.Add(1)
	}
}

// afterVerify tells the producer of the frame w holds whether its
// signature verified.
func (p *Pipeline) afterVerify(w *work, ok bool) {
	if w.tag != tagNone && w.prod.verified(w, w.v.Facts.Epoch, w.v.Facts.Seq, ok) {
		w.v.Member = KeysDropped
		p.member.drops.Add(1)
	}
}

// memberTags is check 10 of §9.6 for the seed datagram w holds
// ([hostseed.Tags]).
type memberTags struct {
	p *Pipeline
	w *work
}

func (t *memberTags) CheckTag(m *sign.JWS, epoch, seq uint64) error {
	w := t.w
	w.v.Facts.Epoch, w.v.Facts.Seq = epoch, seq
	if !w.prod.member.held.Load() {
		w.tag = tagNone
		return nil
	}
	r, err := w.prod.tagCheck(w, m, epoch, seq, t.p.now().UnixNano(), t.p.cfg.MaxAge)
	t.p.countTag(w)
	if r != None {
		return err
	}
	return nil
}

func (t *memberTags) Verified(_ *sign.JWS, _, _ uint64, ok bool) { t.p.afterVerify(t.w, ok) }

// openSeed runs the host's checks of §9.6 on a seed datagram (w.prod is
// its producer's state) and, if this host's entry opens, learns its
// member key and gives its seed to Config.Seed. A seed datagram is never
// forwarded: its verdict is [Seed] (not a reject), unless a check of a
// datagram with an entry for this host refused it.
func (p *Pipeline) openSeed(w *work, datagram []byte) {
	v := &w.v
	w.tags = memberTags{p: p, w: w}
	p.seedMu.Lock()
	hv, pt := p.cfg.Member.Open(datagram, &w.tags)
	p.seedMu.Unlock()
	defer clear(pt.Seed[:])
	defer clear(pt.MemberKey[:])
	v.Facts.Epoch, v.Facts.Seq, v.Facts.Time = hv.Facts.Epoch, hv.Facts.Seq, hv.Facts.Time
	switch hv.Reason {
	case hostseed.Taken:
		p.member.keys.Add(1)
		v.reject(Seed, ErrSeed, plain)
		if !pt.HasMemberKey {
			v.Member, v.Err = EntryRefused, errNoMemberKey
		} else if w.prod.learn(membertag.NewKey(&pt.MemberKey, hv.Facts.Epoch, hv.Facts.Round), p.now().UnixNano()) {
			v.Member, v.Err = KeyLearned, errLearned
		}
		if p.cfg.Seed != nil {
			if err := p.cfg.Seed(pt.Seed[:]); err != nil {
				v.Member, v.Err = SeedFailed, err
			} else {
				p.member.seeds.Add(1)
			}
		}
		return
	case hostseed.OpenFailed:
		v.reject(Seed, hv.Why(), plain)
		v.Member = EntryRefused
		return
	}
	r, ok := seedReasons[hv.Reason]
	if !ok {
		r = Seed // for another host, of a suite not known here, or seen: not a reject
	}
	v.reject(r, hv.Why(), plain)
}

var (
	errLearned     = errors.New("receive: a seed datagram for this host: its entry opened, with a new member key")
	errNoMemberKey = errors.New("receive: a seed datagram for this host: its entry opened, but holds no member key")
)

// seedReasons are the rejects of a seed datagram with an entry for this
// host, by the hostseed reason.
var seedReasons = map[hostseed.Reason]Reason{
	hostseed.TooBig: TooBig, hostseed.Malformed: Malformed, hostseed.BadAlg: BadAlg, hostseed.UnknownKey: UnknownKey,
	hostseed.KeyNotValid: KeyNotValid, hostseed.Stale: Stale, hostseed.Future: Future, hostseed.Replay: Replay,
	hostseed.BadTag: BadTag, hostseed.BadSignature: BadSignature,
}
