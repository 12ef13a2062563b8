package seedwire_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/seedwire"
)

// corpusDatagrams returns the datagrams of the seed corpus
// (../seal/testdata/seeds, docs/protocol.md §9.8).
func corpusDatagrams(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../seal/testdata/seeds/*.txt")
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

// FuzzParse checks that Parse and Scan never panic, that a payload Parse
// accepts encodes back to exactly itself (one encoding per payload), and
// that Scan, on the payload in a JWS, agrees with Parse about whether it is
// well formed and where the host ids are. It starts from the corpus's
// payloads and the rejection table.
func FuzzParse(f *testing.F) {
	var seeds [][]byte
	for _, d := range corpusDatagrams(f) {
		parts := bytes.Split(d, []byte("."))
		if len(parts) == 3 {
			if p, err := base64.RawURLEncoding.DecodeString(string(parts[1])); err == nil {
				seeds = append(seeds, p)
			}
		}
	}
	if len(seeds) == 0 {
		f.Fatal("FuzzParse: got no seeds from ../seal/testdata/seeds, want the seed corpus")
	}
	for _, r := range rejections {
		seeds = append(seeds, r.in)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := seedwire.Parse(in)
		var id seedwire.HostID
		if len(in) > seedwire.HeaderSize+seedwire.HostIDSize {
			copy(id[:], in[seedwire.HeaderSize:])
		}
		found, serr := seedwire.Scan(jws(in), id)
		if err != nil {
			var pe *seedwire.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: got error %T %v, want a *seedwire.ParseError", err, err)
			}
			if serr == nil && bytes.HasPrefix(in, []byte(seedwire.Magic)) {
				t.Fatalf("Scan accepted a payload Parse refuses (%v)", err)
			}
			return
		}
		if serr != nil || !found {
			t.Fatalf("Scan of a payload Parse accepts, for its first host id: got (%v, %v), want (true, nil)", found, serr)
		}
		out := p.Header.Append(nil)
		for i := 0; i < p.Count; i++ {
			e := p.Entry(i)
			out = seedwire.AppendEntry(out, e.Host, e.Sealed)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("Parse accepted a non-canonical payload:\ngot  %x\nwant %x", in, out)
		}
		if err := p.Header.Check(); err != nil {
			t.Fatalf("Parse accepted a header Check refuses: %v", err)
		}
	})
}

// FuzzParsePlaintext checks that ParsePlaintext never panics and that what
// it accepts with no unknown field encodes back to itself.
func FuzzParsePlaintext(f *testing.F) {
	var pt seedwire.Plaintext
	f.Add(pt.Append(nil))
	pt.HasMemberKey = true
	f.Add(pt.Append(nil))
	f.Add(append(pt.Append(nil), 9, 1, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := seedwire.ParsePlaintext(in)
		if err != nil {
			var pe *seedwire.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got error %T %v, want a *seedwire.ParseError", err, err)
			}
			return
		}
		if out := pt.Append(nil); len(out) == len(in) && !bytes.Equal(out, in) {
			t.Fatalf("ParsePlaintext accepted %x, which encodes back as %x", in, out)
		}
	})
}
