package seal_test

import (
	"bytes"
	"testing"

	"github.com/nordunet/ssmrandom/internal/seal"
)

// TestDiff counts the members added and removed between two sets.
func TestDiff(t *testing.T) {
	var ms []seal.Member
	for i := range 3 {
		k, err := seal.NewHostKey(bytes.Repeat([]byte{byte(i + 1)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, k.Public())
	}
	set := func(ms ...seal.Member) *seal.Members {
		s, err := seal.NewMembers(ms...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name                   string
		prev, next             *seal.Members
		wantAdded, wantRemoved int
	}{
		{"same", set(ms[0], ms[1]), set(ms[1], ms[0]), 0, 0},
		{"one in, one out", set(ms[0], ms[1]), set(ms[1], ms[2]), 1, 1},
		{"all gone", set(ms...), &seal.Members{}, 0, 3},
		{"from none", &seal.Members{}, set(ms...), 3, 0},
	} {
		added, removed := seal.Diff(c.prev, c.next)
		if added != c.wantAdded || removed != c.wantRemoved {
			t.Errorf("%s: got %d added, %d removed; want %d, %d", c.name, added, removed, c.wantAdded, c.wantRemoved)
		}
	}
}
