package send

import (
	"context"

	"github.com/nordunet/ssmrandom/internal/membertag"
)

// SetFirstSeq makes l number its first frame seq instead of 0, so that a
// test reaches the end of an epoch without sending 10¹² frames.
func SetFirstSeq(l *Loop, seq uint64) { l.seq.next = seq }

// RunSeedRound runs one seed round of l, unpaced, as Run would at its start:
// the sealing and sending cost without the waits between datagrams.
func RunSeedRound(l *Loop, round uint64) SeedRound {
	l.seeds.unpaced = true
	return l.seeds.round(context.Background(), l, round, l.seq.epoch)
}

// StoreTag makes k the key t holds, as a seed round does once its last
// datagram is sent.
func StoreTag(t *TagKey, k *membertag.Key) { t.store(k, 0) }

// StoreTagFrom is StoreTag for datagrams numbered from on.
func StoreTagFrom(t *TagKey, k *membertag.Key, from uint64) { t.store(k, from) }
