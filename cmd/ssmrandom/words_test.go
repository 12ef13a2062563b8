package main

import (
	"errors"
	"fmt"
	"github.com/nordunet/ssmrandom/internal/words"
	"io/fs"
	"syscall"
	"testing"
)

func TestPlural(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 frames", 1: "1 frame", 2: "2 frames"} {
		if got := words.Plural(n, "frame"); got != want {
			t.Errorf("words.Plural(%d): got %q, want %q", n, got, want)
		}
	}
}

// TestPlainError checks that an error line names no internal package and
// words a file error as the path and its cause (issue 14, item 13).
func TestPlainError(t *testing.T) {
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
		if got := plainError(c.err); got != c.want {
			t.Errorf("plainError(%q): got %q, want %q", c.err, got, c.want)
		}
	}
}
