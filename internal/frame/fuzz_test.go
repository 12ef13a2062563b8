package frame_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// maxSeed is the longest seed given to the fuzzer: the 87 kB payloads at
// MaxData only slow the mutator down.
const maxSeed = 4096

// fuzzSeeds returns the corpus FuzzParse starts from: the valid payloads of
// the round trip test and every entry of the rejection table, but for the
// ones over maxSeed bytes.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, p := range validPayloads(t) {
		if len(p) <= maxSeed {
			seeds = append(seeds, p)
		}
	}
	for _, r := range rejections {
		if len(r.in) <= maxSeed {
			seeds = append(seeds, []byte(r.in))
		}
	}
	return seeds
}

// FuzzParse checks that Parse never panics and that the payloads it accepts
// are canonical: encoding the frame again gives back exactly the input, so
// every frame has one encoding.
func FuzzParse(f *testing.F) {
	seeds := fuzzSeeds(f)
	if len(seeds) == 0 {
		f.Fatal("FuzzParse: got no seeds, want the valid payloads and the rejection table")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := frame.Parse(in)
		if err != nil {
			var pe *frame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): got error %T %v, want a *frame.ParseError", in, err, err)
			}
			return
		}
		if err := fr.Check(); err != nil {
			t.Fatalf("Parse(%q) accepted a frame that Check refuses: %v", in, err)
		}
		if out := fr.Append(nil); !bytes.Equal(out, in) {
			t.Fatalf("Parse accepted a non-canonical payload:\ngot  %q\nwant %q (Append of the parsed frame)", in, out)
		}
		if out, err := fr.Marshal(); err != nil || !bytes.Equal(out, in) {
			t.Fatalf("Marshal of the parsed frame: got (%q, %v), want (%q, nil)", out, err, in)
		}
	})
}
