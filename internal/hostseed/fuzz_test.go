package hostseed_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
)

// corpusDatagrams returns every datagram of the seed corpus.
func corpusDatagrams(t testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(seedsDir, "*.txt"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			for _, key := range []string{"datagram: ", "before: "} {
				if d, ok := strings.CutPrefix(sc.Text(), key); ok {
					out = append(out, []byte(d))
				}
			}
		}
	}
	return out
}

// FuzzHandle feeds a datagram to a fresh Taker of corpus host 0 that
// trusts the corpus's two producers, at the corpus's time, and checks it
// against a reference made of the packages' own calls: Handle never
// panics; a seed is taken only from a datagram that verifies under a
// trusted key and whose entry for the host opens, and the seed is that
// entry's, combined; anything else takes nothing; and the same datagram
// again is refused for the same reason, or as a replay once its signature
// verified (no other check changes state).
func FuzzHandle(f *testing.F) {
	seeds := corpusDatagrams(f)
	if len(seeds) == 0 {
		f.Fatal("FuzzHandle: got no seeds from the seed corpus")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ring := keyring(f, producer(f, 0), producer(f, 64))
	k := hostKey(f, 0)
	f.Fuzz(func(t *testing.T, dg []byte) {
		clk := &clock{ms: vecNow}
		tk, err := hostseed.New(hostseed.Config{Trust: ring, Key: k, Need: 1, MaxDatagram: 1232, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		v := tk.Handle(dg)
		if v.Reason < 0 || int(v.Reason) >= len(hostseed.Reasons()) {
			t.Fatalf("reason %d out of range", v.Reason)
		}
		if (v.Why() == nil) != (v.Reason == hostseed.Taken) || (v.Err == nil) != (v.Reason == hostseed.Taken) {
			t.Fatalf("%s: Why %v, Err %v", v.Reason, v.Why(), v.Err)
		}
		if tk.Done() != (v.Reason == hostseed.Taken) {
			t.Fatalf("%s: Done %v", v.Reason, tk.Done())
		}
		seed, err := tk.Seed()
		if v.Reason != hostseed.Taken {
			if !errors.Is(err, hostseed.ErrNotDone) {
				t.Fatalf("%s: Seed: got %v, want ErrNotDone", v.Reason, err)
			}
		} else {
			// The reference: the whole JWS verifies, the payload parses,
			// the host's entry opens.
			payload, kid, err := ring.Verify(dg)
			if err != nil {
				t.Fatalf("taken, but the reference refuses the signature: %v", err)
			}
			p, err := seedwire.Parse(payload)
			if err != nil {
				t.Fatalf("taken, but the reference refuses the payload: %v", err)
			}
			pt, err := k.Open(&p, kid)
			if err != nil {
				t.Fatalf("taken, but the reference does not open the entry: %v", err)
			}
			want, err := seal.Combine([]seal.Contribution{{Producer: kid, Seed: pt.Seed}})
			if err != nil || seed != want {
				t.Fatalf("seed: got %x, %v; want the entry's seed combined, %x", seed, err, want)
			}
		}
		again := v.Reason
		if v.Reason == hostseed.Taken || v.Reason == hostseed.OpenFailed || v.Reason == hostseed.Malformed && v.Facts.KeyID != "" && isPlaintextError(v.Err) {
			again = hostseed.Replay
		}
		if v2 := tk.Handle(dg); v2.Reason != again {
			t.Fatalf("again: got %s (%v), want %s after %s", v2.Reason, v2.Why(), again, v.Reason)
		}
	})
}

// isPlaintextError reports whether err is about a member plaintext, which
// is read only after the signature verified.
func isPlaintextError(err error) bool {
	var pe *seedwire.ParseError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Field, "plaintext")
}
