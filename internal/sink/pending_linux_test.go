package sink_test

import (
	"path/filepath"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sink"
)

// TestPending checks that a FIFO reports the bytes written and not read.
func TestPending(t *testing.T) {
	s, err := sink.Open(filepath.Join(t.TempDir(), "fifo"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, ok := s.(interface{ Pending() (int, error) })
	if !ok {
		t.Fatalf("%s has no Pending method", s)
	}
	if _, err := s.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Pending(); n != 100 || err != nil {
		t.Errorf("Pending: got %d, %v; want 100, nil", n, err)
	}
}
