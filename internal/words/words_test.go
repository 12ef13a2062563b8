package words_test

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/words"
)

func TestPlural(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 frames", 1: "1 frame", 2: "2 frames"} {
		if got := words.Plural(n, "frame"); got != want {
			t.Errorf("Plural(%d): got %q, want %q", n, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3 * time.Second:             "3s ago",
		-2 * time.Second:            "in 2s",
		2*time.Hour + 5*time.Minute: "2h5m0s ago",
		(9*24 + 4) * time.Hour:      "9d4h ago",
	} {
		if got := words.Ago(d); got != want {
			t.Errorf("Ago(%v): got %q, want %q", d, got, want)
		}
	}
}

func TestValidity(t *testing.T) {
	a, b := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2027, 1, 2, 3, 4, 5, 500e6, time.UTC)
	for _, c := range []struct {
		nbf, naf time.Time
		want     string
	}{
		{time.Time{}, time.Time{}, "at all times"},
		{a, time.Time{}, "from 2026-01-02T03:04:05Z on"},
		{time.Time{}, b, "until 2027-01-02T03:04:05.5Z"},
		{a, b, "from 2026-01-02T03:04:05Z until 2027-01-02T03:04:05.5Z"},
	} {
		if got := words.Validity(c.nbf, c.naf); got != c.want {
			t.Errorf("Validity(%v, %v): got %q, want %q", c.nbf, c.naf, got, c.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got, want := words.Escape("a\x00b\xffc\n"), `a\x00b\xffc\x0a`; got != want {
		t.Errorf("Escape: got %q, want %q", got, want)
	}
}

// TestError checks that an error line names no internal package and
// words a file error as the path and its cause (issue 14, item 13).
func TestError(t *testing.T) {
	stat := &fs.PathError{Op: "stat", Path: "keys", Err: syscall.ENOENT}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("sign: trust: %w", stat), "keys: no such file or directory"},
		{errors.New("mcast: source \"x\": sink: y"), "source \"x\": y"},
		{errors.New("x.jws does not verify: bad_signature: sign: bad signature"), "x.jws does not verify: bad_signature: bad signature"},
		{errors.New("signature: fine"), "signature: fine"},
	} {
		if got := words.Error(c.err); got != c.want {
			t.Errorf("Error(%q): got %q, want %q", c.err, got, c.want)
		}
	}
}
