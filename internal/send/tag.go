package send

import (
	"sync/atomic"

	"github.com/nordunet/ssmrandom/internal/membertag"
)

// TagKey is the member key (docs/protocol.md §10) that a producer running
// with member keys tags its datagrams with: the key of the newest seed
// round it has sent completely, or none before the first round of an epoch
// ends. Give the same TagKey to the framer ([NewTagged]) and to the seeds
// ([Seeds.Tags]): the seed rounds make a fresh key each round, seal it to
// the members, and switch the TagKey to it once the round's last datagram
// is sent. The switch goes by sequence number, not by when a frame is
// made: a frame numbered [TagDelay] past the round's last seed datagram
// carries the new key's tag, one numbered before that the previous key's,
// so that on the wire (in the order of n, §9.2) no frame comes with a key
// before the seed datagram that carries it, however far ahead the workers
// frame. Its zero
// value holds no key and is ready to use; it is safe for concurrent use.
type TagKey struct {
	p atomic.Pointer[tagKeys]
}

// tagKeys is what a TagKey holds: the newest keys, newest first, each
// with the sequence number from which it tags.
type tagKeys [3]struct {
	k    *membertag.Key
	from uint64
}

// load returns the newest key, or nil. The Key is shared: clone it before
// making a tag with it (a Key is not safe for concurrent use).
func (t *TagKey) load() *membertag.Key {
	if k := t.p.Load(); k != nil {
		return k[0].k
	}
	return nil
}

// store makes k the key to tag datagrams numbered from on with; those
// numbered before keep the keys they had.
func (t *TagKey) store(k *membertag.Key, from uint64) {
	var n tagKeys
	if old := t.p.Load(); old != nil {
		copy(n[1:], old[:])
	}
	n[0].k, n[0].from = k, from
	t.p.Store(&n)
}

// bring makes the newest key tag from n on if it was to start later: the
// next seed round begins at n, and its datagrams, and every frame after
// them, carry the newest key at the latest (docs/protocol.md §10.2).
func (t *TagKey) bring(n uint64) {
	if old := t.p.Load(); old != nil && old[0].k != nil && old[0].from > n {
		c := *old
		c[0].from = n
		t.p.Store(&c)
	}
}

// at returns the key that tags the datagram numbered n, or nil: the newest
// whose numbers have begun. The Key is shared, as with load.
func (t *TagKey) at(n uint64) *membertag.Key {
	if k := t.p.Load(); k != nil {
		for _, o := range k {
			if o.k != nil && n >= o.from {
				return o.k
			}
		}
	}
	return nil
}

// tagger is one goroutine's view of a [TagKey]: its own clones of the keys
// the TagKey holds, made again when they change (once a seed round), so
// that tagging a datagram allocates nothing.
type tagger struct {
	keys *TagKey  // nil: never tags
	seen *tagKeys // what keys held at the last call
	own  tagKeys  // seen's clones
}

// key returns the key to tag the datagram (epoch, seq) with, or nil for an
// untagged datagram: the newest key whose sequence numbers have begun at
// seq, and only ever in its own epoch.
func (t *tagger) key(epoch, seq uint64) *membertag.Key {
	if t.keys == nil {
		return nil
	}
	if k := t.keys.p.Load(); k != t.seen {
		t.seen, t.own = k, tagKeys{}
		if k != nil {
			for i := range k {
				t.own[i].k, t.own[i].from = clone(k[i].k), k[i].from
			}
		}
	}
	for _, o := range t.own {
		if o.k != nil && seq >= o.from {
			if o.k.Epoch() != epoch {
				return nil
			}
			return o.k
		}
	}
	return nil
}

// clone returns a clone of k, or nil.
func clone(k *membertag.Key) *membertag.Key {
	if k == nil {
		return nil
	}
	return k.Clone()
}
