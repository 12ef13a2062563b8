package receive_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// benchDataLen is the entropy bytes per frame of the benchmarks: the
// default frame size in a 1232-byte budget (docs/protocol.md §2).
const benchDataLen = 512

// benchFrame is a producer's frame of benchDataLen bytes.
func benchFrame(seq uint64, ms int64) frame.Frame {
	return frame.Frame{Source: hostileSource, Epoch: hostileEpoch, Seq: seq, Time: ms, Data: hostileData(benchDataLen)}
}

// benchPipeline returns a Pipeline made at hostileNow, whose clock stays
// there, trusting the producer's key and writing to io.Discard.
func benchPipeline(b *testing.B) *receive.Pipeline {
	b.Helper()
	now := time.UnixMilli(hostileNow)
	p, err := receive.New(receive.Config{Trust: hostileTrust(b), Output: io.Discard, MaxDatagram: hostileMaxDatagram, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReject measures what a datagram that is dropped costs, per
// reason (docs/protocol.md §5: only bad_signature should cost an Ed25519
// verification). The bytes per second are of datagrams.
func BenchmarkReject(b *testing.B) {
	now := hostileNow
	good := hostileSign(b, benchFrame(hostileSeq, now))
	payload := hostilePayload(b, benchFrame(hostileSeq, now))
	attackerKid := hostileSigner(b, hostileAttacker).KeyID()
	producerKid := hostileSigner(b, hostileProducer).KeyID()

	garbage := make([]byte, len(good))
	rng := rand.NewChaCha8([32]byte{'s', 's', 'm'})
	_, _ = rng.Read(garbage)

	cases := []struct {
		want     receive.Reason
		before   string // forwarded first
		datagram string
	}{
		{receive.TooBig, "", strings.Repeat("A", hostileMaxDatagram+1)},
		{receive.Malformed, "", string(garbage)},
		{receive.BadAlg, "", hostileJWS(hostileAttacker, `{"alg":"none","kid":"`+producerKid+`"}`, payload)},
		{receive.UnknownKey, "", hostileJWS(hostileAttacker, hostileHeader(attackerKid), payload)},
		{receive.Stale, "", hostileSign(b, benchFrame(hostileSeq, now-31000))},
		{receive.Future, "", hostileSign(b, benchFrame(hostileSeq, now+6000))},
		{receive.Replay, good, good},
		{receive.BadSignature, "", hostileJWS(hostileAttacker, hostileHeader(producerKid), payload)},
	}
	for _, c := range cases {
		b.Run(c.want.String(), func(b *testing.B) {
			p := benchPipeline(b)
			var frames uint64
			if c.before != "" {
				frames = 1
				if v, _ := p.Handle([]byte(c.before)); v.Reason != receive.None {
					b.Fatalf("before: got %v, want forwarded", v.Reason)
				}
			}
			d := []byte(c.datagram)
			if v, err := p.Handle(d); err != nil || v.Reason != c.want {
				b.Fatalf("got (%v, %v), want (%v, nil)", v.Reason, err, c.want)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			b.ResetTimer()
			for range b.N {
				p.Handle(d)
			}
			b.StopTimer()
			if st := p.Stats(); st.Frames != frames || st.Dropped[c.want] != uint64(b.N)+1 {
				b.Fatalf("Stats: got %d frames, %d %v; want %d, %d", st.Frames, st.Dropped[c.want], c.want, frames, b.N+1)
			}
		})
	}
}

// BenchmarkGood measures a good frame of 512 bytes, fresh and unseen,
// through every check and one Ed25519 verification. Each iteration gets a
// new frame (the replay window refuses a frame seen before), signed
// before the timer starts. The bytes per second are of datagrams.
func BenchmarkGood(b *testing.B) {
	b.Run("512", func(b *testing.B) {
		s := hostileSigner(b, hostileProducer)
		f := benchFrame(0, hostileNow)
		size := s.Len(frame.MaxLen(f.Source, len(f.Data)))
		buf := make([]byte, 0, b.N*size)
		frames := make([][]byte, b.N)
		var payload []byte
		for i := range frames {
			f.Seq = uint64(i)
			payload = f.Append(payload[:0])
			start := len(buf)
			buf = s.Append(buf, payload)
			frames[i] = buf[start:len(buf):len(buf)]
		}
		p := benchPipeline(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(frames[0])))
		b.ResetTimer()
		for _, d := range frames {
			if v, err := p.Handle(d); err != nil || v.Reason != receive.None {
				b.Fatalf("got (%v, %v), want (forwarded, nil)", v.Reason, err)
			}
		}
	})
}

// BenchmarkEd25519Verify measures ed25519.Verify alone on the signing
// input of a BenchmarkGood frame, the floor under BenchmarkGood and
// BenchmarkReject/bad_signature. The bytes per second are of the datagram
// the input comes from.
func BenchmarkEd25519Verify(b *testing.B) {
	b.Run("512", func(b *testing.B) {
		d := hostileSign(b, benchFrame(hostileSeq, hostileNow))
		i := strings.LastIndexByte(d, '.')
		input := []byte(d[:i])
		sig, err := base64.RawURLEncoding.DecodeString(d[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		pub := hostileProducer.Public().(ed25519.PublicKey)
		if !ed25519.Verify(pub, input, sig) {
			b.Fatal("ed25519.Verify: got false, want true")
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(d)))
		b.ResetTimer()
		for range b.N {
			ed25519.Verify(pub, input, sig)
		}
	})
}
