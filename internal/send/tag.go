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
// is sent; every datagram framed after that carries its tag. Its zero value
// holds no key and is ready to use; it is safe for concurrent use.
type TagKey struct {
	p atomic.Pointer[membertag.Key]
}

// load returns the key to tag with now, or nil. The Key is shared: clone
// it before making a tag with it (a Key is not safe for concurrent use).
func (t *TagKey) load() *membertag.Key { return t.p.Load() }

// store makes k the key to tag with from the next datagram on.
func (t *TagKey) store(k *membertag.Key) { t.p.Store(k) }

// tagger is one goroutine's view of a [TagKey]: its own clone of the key
// the TagKey holds, made again when that key changes (once a seed round),
// so that tagging a datagram allocates nothing.
type tagger struct {
	keys *TagKey        // nil: never tags
	seen *membertag.Key // what keys held at the last call
	own  *membertag.Key // seen's clone, this goroutine's own
}

// key returns the key to tag a datagram of epoch epoch with, or nil for an
// untagged datagram: a key is only ever used in its own epoch.
func (t *tagger) key(epoch uint64) *membertag.Key {
	if t.keys == nil {
		return nil
	}
	if k := t.keys.load(); k != t.seen {
		t.seen, t.own = k, nil
		if k != nil {
			t.own = k.Clone()
		}
	}
	if t.own == nil || t.own.Epoch() != epoch {
		return nil
	}
	return t.own
}
