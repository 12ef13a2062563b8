package sign_test

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// batchFrames returns n datagrams signed by priv and the keyring of priv
// and testKey(2).
func batchFrames(t testing.TB, priv ed25519.PrivateKey, n int) [][]byte {
	t.Helper()
	s := mustSigner(t, priv)
	out := make([][]byte, n)
	for i := range out {
		out[i] = mustSign(t, s, []byte(fmt.Sprintf("frame %d of a batch", i)))
	}
	return out
}

// corrupt returns d with a bit of its signature flipped (while keeping
// the base64url canonical) or of its payload.
func corrupt(d []byte, r *rand.Rand) []byte {
	c := append([]byte{}, d...)
	// Characters well inside the signature part, away from its last one,
	// whose low bits are unused, and from the header.
	i := len(c) - 2 - r.IntN(80)
	if c[i] == 'A' {
		c[i] = 'B'
	} else {
		c[i] = 'A'
	}
	return c
}

func mustParse(t testing.TB, ring *sign.Keyring, d []byte) sign.JWS {
	t.Helper()
	m, err := ring.Parse(nil, d)
	if err != nil {
		t.Fatalf("Parse: got error %v, want nil", err)
	}
	return m
}

func TestBatchEmpty(t *testing.T) {
	var b sign.Batch
	if got := b.Verify(nil); len(got) != 0 {
		t.Errorf("Verify of an empty batch: got %v, want []", got)
	}
	if b.Len() != 0 {
		t.Errorf("Len: got %d, want 0", b.Len())
	}
}

// TestBatchGood verifies batches of good signatures from two keys with the
// zero value and after Reset.
func TestBatchGood(t *testing.T) {
	ring := ringOf(testKey(1), testKey(2))
	frames := append(batchFrames(t, testKey(1), 60), batchFrames(t, testKey(2), 4)...)
	var b sign.Batch
	var ok []bool
	for _, n := range []int{1, 2, 8, 64, 3} {
		b.Reset()
		for _, d := range frames[len(frames)-n:] {
			m := mustParse(t, ring, d)
			b.Add(&m)
		}
		if b.Len() != n {
			t.Fatalf("Len: got %d, want %d", b.Len(), n)
		}
		ok = b.Verify(ok)
		if len(ok) != n {
			t.Fatalf("Verify: got %d verdicts, want %d", len(ok), n)
		}
		for i, v := range ok {
			if !v {
				t.Errorf("batch of %d: signature %d: got bad, want ok", n, i)
			}
		}
	}
}

// TestBatchMatchesSingle holds Batch.Verify to JWS.Verify on batches
// with random bad signatures among good ones, from none bad to all bad,
// reusing one Batch, so that the fallback and the backoff run too.
func TestBatchMatchesSingle(t *testing.T) {
	ring := ringOf(testKey(1), testKey(2))
	good := append(batchFrames(t, testKey(1), 48), batchFrames(t, testKey(2), 16)...)
	r := rand.New(rand.NewPCG(1, 2))
	var b sign.Batch
	var ok []bool
	for round := range 60 {
		n := 1 + r.IntN(64)
		bad := 0
		switch round % 4 {
		case 1:
			bad = 1
		case 2:
			bad = r.IntN(n + 1)
		case 3:
			bad = n
		}
		b.Reset()
		var want []bool
		perm := r.Perm(n) // signature i is bad if perm[i] < bad
		for i := range n {
			d := good[r.IntN(len(good))]
			if perm[i] < bad {
				d = corrupt(d, r)
			}
			m, err := ring.Parse(nil, d)
			if err != nil {
				t.Fatalf("Parse: got %v, want nil", err)
			}
			want = append(want, m.Verify() == nil)
			b.Add(&m)
		}
		ok = b.Verify(ok)
		for i := range want {
			if ok[i] != want[i] {
				t.Fatalf("round %d, %d of %d bad: signature %d: got %v, want %v (JWS.Verify)", round, bad, n, i, ok[i], want[i])
			}
		}
	}
}

// TestBatchZeroSigned checks that a zero JWS, which JWS.Verify
// rejects, is rejected in a batch too.
func TestBatchZeroSigned(t *testing.T) {
	ring := ringOf(testKey(1))
	var b sign.Batch
	for _, d := range batchFrames(t, testKey(1), 3) {
		m := mustParse(t, ring, d)
		b.Add(&m)
	}
	b.Add(&sign.JWS{})
	ok := b.Verify(nil)
	if want := []bool{true, true, true, false}; fmt.Sprint(ok) != fmt.Sprint(want) {
		t.Errorf("Verify: got %v, want %v", ok, want)
	}
}

// TestBatchAllocs pins the allocations of a reused Batch of 64 good
// signatures: the two tables of the multi-scalar multiplication.
func TestBatchAllocs(t *testing.T) {
	if batchRace {
		t.Skip("the race detector adds allocations")
	}
	ring := ringOf(testKey(1))
	var ms []sign.JWS
	for _, d := range batchFrames(t, testKey(1), 64) {
		ms = append(ms, mustParse(t, ring, d))
	}
	var b sign.Batch
	ok := make([]bool, 0, 64)
	run := func() {
		b.Reset()
		for i := range ms {
			b.Add(&ms[i])
		}
		ok = b.Verify(ok)
	}
	run()
	if got := testing.AllocsPerRun(20, run); got > 2 {
		t.Errorf("allocations per Verify of 64: got %v, want at most 2", got)
	}
	for i, v := range ok {
		if !v {
			t.Fatalf("signature %d: got bad, want ok", i)
		}
	}
}
