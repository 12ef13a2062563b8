package receive_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/replay"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// fuzzMinSeeds is how many corpus datagrams FuzzHandle wants to start from.
const fuzzMinSeeds = 10

// fuzzStreamID is a frame's replay identity: (kid, e, n).
type fuzzStreamID struct {
	kid        string
	epoch, seq uint64
}

// FuzzHandle feeds a pair of datagrams, before and then datagram twice,
// to a Pipeline whose clock reads hostileNow, and checks against a
// reference (sign.Keyring.Verify and frame.Parse, the slow path) that
//
//   - Handle never panics and never returns an error (the output takes
//     everything);
//   - the output gets bytes only for a Forwarded verdict, and then one
//     write of exactly the data of a frame that verifies, fits the size
//     limit and is fresh (docs/protocol.md §5, §5.1);
//   - no (kid, e, n) is forwarded twice (§5.2), so no datagram either;
//   - a datagram that the reference accepts and that is fresh is forwarded
//     by a fresh Pipeline, which Explain agrees with; one the reference
//     refuses before the signature is refused for the same reason, but
//     in §5's order: the reference decodes the payload before it checks
//     the signature, the Pipeline after (so a payload part that is not
//     canonical past its first fields, under a bad signature, is a bad
//     signature to the Pipeline).
//
// It is seeded from every datagram of testdata/hostile.
func FuzzHandle(f *testing.F) {
	seeds := 0
	for _, h := range hostileCorpus(f) {
		if len(h.datagram) > hostileMaxSeed {
			continue
		}
		var before []byte
		if len(h.before) > 0 {
			before = h.before[len(h.before)-1]
			f.Add([]byte(nil), before)
		}
		f.Add(before, h.datagram)
		seeds++
	}
	if seeds < fuzzMinSeeds {
		f.Fatalf("FuzzHandle: got %d seeds from %s, want at least %d", seeds, hostileDir, fuzzMinSeeds)
	}
	ring := hostileTrust(f)
	f.Fuzz(func(t *testing.T, before, datagram []byte) {
		p, rec := hostilePipeline(t, hostileNow, hostileNow)
		forwarded := map[fuzzStreamID]bool{}
		for i, in := range [][]byte{before, datagram, datagram} {
			writes := len(rec.writes)
			v, err := p.Handle(in)
			if err != nil {
				t.Fatalf("input %d: Handle: got error %v, want nil", i, err)
			}
			if v.Reason != receive.None {
				if n := len(rec.writes) - writes; n != 0 {
					t.Fatalf("input %d: %v, but the output got %d writes, want none", i, v.Reason, n)
				}
				if v.KeyID != "" {
					t.Fatalf("input %d: %v with KeyID %q, want none", i, v.Reason, v.KeyID)
				}
				continue
			}
			kid, fr, err := hostileReference(ring, in)
			switch {
			case err != nil:
				t.Fatalf("input %d: forwarded, but the reference refuses it: %v\n%q", i, err, in)
			case len(in) > hostileMaxDatagram:
				t.Fatalf("input %d: forwarded a datagram of %d bytes, over the limit", i, len(in))
			case !fuzzFresh(fr.Time, hostileNow):
				t.Fatalf("input %d: forwarded a frame of time %d, not fresh at %d", i, fr.Time, hostileNow)
			case v.KeyID != kid:
				t.Fatalf("input %d: Verdict.KeyID %q, want %q", i, v.KeyID, kid)
			case len(rec.writes) != writes+1 || !bytes.Equal(rec.writes[writes], fr.Data):
				t.Fatalf("input %d: forwarded; output got %d writes, want 1 of exactly the frame's %d bytes", i, len(rec.writes)-writes, len(fr.Data))
			}
			id := fuzzStreamID{kid, fr.Epoch, fr.Seq}
			if forwarded[id] {
				t.Fatalf("input %d: forwarded (kid %s, e %d, n %d) twice", i, id.kid, id.epoch, id.seq)
			}
			forwarded[id] = true
		}

		// Completeness and agreement with the reference, on a fresh
		// Pipeline that has seen nothing.
		fresh, rec := hostilePipeline(t, hostileNow, hostileNow)
		explained := fresh.Explain(datagram)
		v, err := fresh.Handle(datagram)
		if err != nil {
			t.Fatalf("fresh Handle: got error %v, want nil", err)
		}
		if (explained == nil) != (v.Reason == receive.None) {
			t.Fatalf("fresh Pipeline: Explain says %v, Handle %v", explained, v.Reason)
		}
		if v.Reason != receive.None && len(rec.writes) != 0 {
			t.Fatalf("fresh Pipeline: %v, but the output got %d writes", v.Reason, len(rec.writes))
		}
		if len(datagram) > hostileMaxDatagram {
			if v.Reason != receive.TooBig {
				t.Fatalf("fresh Pipeline: %d bytes got %v, want too_big", len(datagram), v.Reason)
			}
			return
		}
		_, fr, err := hostileReference(ring, datagram)
		var want receive.Reason
		switch {
		case err == nil && fuzzFresh(fr.Time, hostileNow):
			want = receive.None
		case errors.Is(err, sign.ErrMalformed):
			want = receive.Malformed
			// §5 reads the payload's first fields (check 6), judges
			// freshness (check 8) and verifies the signature (check 12)
			// before it decodes the whole payload (check 13). So a
			// datagram that passes the checks before the payload's (the
			// reference refuses it for its payload part only) and
			// whose first fields parse is stale or future if they say
			// so, else bad_signature if its signature does not verify,
			// else malformed.
			if _, refused := ring.Check(datagram); refused.Err() == nil && !seedwire.IsSeed(datagram) {
				if ms, ok := fuzzHeadTime(datagram); ok {
					switch {
					case !fuzzFresh(ms, hostileNow) && ms < hostileNow:
						want = receive.Stale
					case !fuzzFresh(ms, hostileNow):
						want = receive.Future
					case !fuzzSignatureOK(datagram):
						want = receive.BadSignature
					}
				}
			} else if ms, ok := fuzzHeadTime(datagram); ok && !fuzzFresh(ms, hostileNow) && (v.Reason == receive.Stale || v.Reason == receive.Future) {
				// Malformed before the payload (header, signature
				// part) yet stale or future: the two refusals are
				// told apart by a mutation's place, which this model
				// does not follow; either is a drop.
				want = v.Reason
			}
			// A seed datagram is told from a frame (check 6, its
			// payload part's first characters) before any payload is
			// decoded: recv skips it, unverified, whatever follows.
			if seedwire.IsSeed(datagram) && v.Reason == receive.Seed {
				want = receive.Seed
			}
		case errors.Is(err, sign.ErrBadAlg):
			want = receive.BadAlg
		case errors.Is(err, sign.ErrUnknownKey):
			want = receive.UnknownKey
		default:
			// A stale or future frame, a payload that is not a frame, or a
			// bad signature: the Pipeline reads the payload's first
			// fields before the signature and the rest after it (§5), so
			// any of those may be the reason, but only those.
			switch {
			case v.Reason == receive.Malformed, v.Reason == receive.Stale, v.Reason == receive.Future, v.Reason == receive.BadSignature:
			case v.Reason == receive.Seed && seedwire.IsSeed(datagram):
			default:
				t.Fatalf("fresh Pipeline: got %v, want malformed, stale, future, bad_signature or, for a seed datagram, seed (reference: %v)", v.Reason, err)
			}
			return
		}
		if v.Reason != want {
			t.Fatalf("fresh Pipeline: got %v (%v), want %v (reference: %v)\n%q", v.Reason, v.Err, want, err, datagram)
		}
	})
}

// fuzzFresh reports whether a frame of time ms is fresh at now (§5.1) to a
// receiver started at now with the default limits.
func fuzzFresh(ms, now int64) bool {
	return ms >= now && ms >= now-replay.DefaultMaxAge.Milliseconds() && ms <= now+replay.DefaultMaxSkew.Milliseconds()
}

// fuzzSignatureOK reports whether the last part of datagram is the
// producer's Ed25519 signature of the rest, checked with crypto/ed25519
// alone.
func fuzzSignatureOK(datagram []byte) bool {
	dot := bytes.LastIndexByte(datagram, '.')
	if dot < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(string(datagram[dot+1:]))
	return err == nil && len(sig) == ed25519.SignatureSize &&
		ed25519.Verify(hostileProducer.Public().(ed25519.PublicKey), datagram[:dot], sig)
}

// fuzzHeadTime returns the time of the frame whose first fields (`v` to
// `t`) open the payload part of datagram, as §5's check 6 reads them:
// from the first bytes of the payload only, whatever follows them. It
// reports false if there is no payload part or its first fields do not
// parse.
func fuzzHeadTime(datagram []byte) (int64, bool) {
	parts := bytes.Split(datagram, []byte("."))
	if len(parts) != 3 {
		return 0, false
	}
	p := parts[1]
	p = p[:min(len(p), (frame.MaxHead+2)/3*4)]
	head, err := base64.RawURLEncoding.Strict().DecodeString(string(p))
	if err != nil {
		return 0, false
	}
	_, _, ms, err := frame.ParseHead(head)
	return ms, err == nil
}
