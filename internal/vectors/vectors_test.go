package vectors_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nordunet/ssmrandom/internal/vectors"
)

func TestParse(t *testing.T) {
	in := "# a comment\n\nexpect: bad signature\nnow:1700000000000\nbefore: a\nbefore: b\ndatagram: \n# key: not a field\nlast: x: y\n"
	got, err := vectors.Parse("v.txt", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []vectors.Field{
		{Key: "expect", Value: "bad signature", Line: 3},
		{Key: "now", Value: "1700000000000", Line: 4},
		{Key: "before", Value: "a", Line: 5},
		{Key: "before", Value: "b", Line: 6},
		{Key: "datagram", Value: "", Line: 7},
		{Key: "last", Value: "x: y", Line: 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if pos := got[1].Pos("v.txt"); pos != "v.txt:4" {
		t.Errorf("Pos: got %q, want v.txt:4", pos)
	}
}

func TestParseLongLine(t *testing.T) {
	long := strings.Repeat("ab", 200_000)
	got, err := vectors.Parse("v.txt", []byte("datagram-hex: "+long+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != long {
		t.Errorf("got %d fields, want one with the %d-byte value", len(got), len(long))
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"expect: ok\nno colon here\n", `v.txt:2: got "no colon here", want a "key: value" line`},
		{": no key\n", `v.txt:1: got ": no key", want a "key: value" line`},
		{"two words: x\n", `v.txt:1: got "two words: x", want a "key: value" line`},
		{"k: " + strings.Repeat("x", 2<<20) + "\n", "v.txt: bufio.Scanner: token too long"},
	} {
		_, err := vectors.Parse("v.txt", []byte(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%.30q): got error %v, want %s", c.in, err, c.want)
		}
	}
}

func TestUnique(t *testing.T) {
	fields, err := vectors.Parse("v.txt", []byte("a: 1\nb: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := vectors.Unique("v.txt", fields)
	if err != nil || !reflect.DeepEqual(m, map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("got %v, %v, want map[a:1 b:2], nil", m, err)
	}
	fields, err = vectors.Parse("v.txt", []byte("a: 1\nb: 2\n\na: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vectors.Unique("v.txt", fields); err == nil || err.Error() != `v.txt:4: key "a" given twice` {
		t.Errorf("got error %v, want v.txt:4: key \"a\" given twice", err)
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.txt")
	if err := os.WriteFile(path, []byte("expect: ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := vectors.Read(path)
	if err != nil || len(got) != 1 || got[0] != (vectors.Field{Key: "expect", Value: "ok", Line: 1}) {
		t.Errorf("got %+v, %v, want one field expect: ok", got, err)
	}
	if _, err := vectors.Read(filepath.Join(t.TempDir(), "missing.txt")); !os.IsNotExist(err) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
}
