//go:build linux

package pidfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/nordunet/ssmrandom/internal/pidfile"
)

// readPid returns the pidfile's text, or "(none)".
func readPid(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "(none)"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPidfile(t *testing.T) {
	self := os.Getpid()
	mine := strconv.Itoa(self) + "\n"
	cases := []struct {
		name     string
		before   *string // the file's content before, nil for none
		dir      bool    // a folder at the path instead
		want     error   // nil, pidfile.ErrRunning or pidfile.ErrNotPidfile
		wantPid  int     // the stale process id reported
		wantText string  // the file's content after a refusal
	}{
		{name: "no file"},
		{name: "empty file", before: ptr("")},
		{name: "a dead process", before: ptr("999999999\n"), wantPid: 999999999},
		{name: "a dead process, no newline", before: ptr("  999999998"), wantPid: 999999998},
		{name: "this process (a restart in a container)", before: ptr(mine), wantPid: self},
		{name: "a running process", before: ptr(strconv.Itoa(os.Getppid()) + "\n"), want: pidfile.ErrRunning},
		{name: "not a process id", before: ptr("root:x:0:0:root:/root:/bin/bash\n"), want: pidfile.ErrNotPidfile},
		{name: "a negative number", before: ptr("-1\n"), want: pidfile.ErrNotPidfile},
		{name: "a folder", dir: true, want: pidfile.ErrNotPidfile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ssmrandom.pid")
			if c.before != nil {
				if err := os.WriteFile(path, []byte(*c.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.dir {
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			p, stale, err := pidfile.Open(path, self)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("Open: got error %v, want %v", err, c.want)
				}
				if c.before != nil {
					if got := readPid(t, path); got != *c.before {
						t.Errorf("after a refusal the file holds %q, want %q as before", got, *c.before)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: got error %v, want nil", err)
			}
			if stale != c.wantPid {
				t.Errorf("stale pid: got %d, want %d", stale, c.wantPid)
			}
			if got := readPid(t, path); got != mine {
				t.Errorf("pidfile holds %q, want %q", got, mine)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("pidfile mode: got %v (%v), want 0644", fi.Mode().Perm(), err)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("Close: got error %v, want nil", err)
			}
			if got := readPid(t, path); got != "(none)" {
				t.Errorf("after Close the pidfile holds %q, want it removed", got)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ssmrandom.pid.*")); len(left) > 0 {
				t.Errorf("temporary files left behind: %q", left)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestPidfileLocked checks that a pidfile held by another open file's
// lock is refused even when it names a process that is gone, as a second
// ssmrandom process finds the first one's, and that Close leaves alone a
// pidfile that is no longer this one.
func TestPidfileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recv.pid")
	p, _, err := pidfile.Open(path, 999999999) // a process id that cannot run
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pidfile.Open(path, os.Getpid()); !errors.Is(err, pidfile.ErrRunning) {
		t.Errorf("second Open: got error %v, want pidfile.ErrRunning (the file is locked)", err)
	}
	// Someone replaces the file; Close must not remove theirs.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readPid(t, path); got != "12345\n" {
		t.Errorf("after Close the file holds %q, want the other process's \"12345\\n\"", got)
	}
}

// TestPidfileRace starts several takers of one pidfile at once, with no
// file and with a stale one: exactly one wins, and the file holds its id.
func TestPidfileRace(t *testing.T) {
	for _, before := range []string{"", "999999999\n"} {
		path := filepath.Join(t.TempDir(), "race.pid")
		if before != "" {
			if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		const n = 16
		type result struct {
			pid int
			p   *pidfile.File
			err error
		}
		results := make(chan result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				pid := 999999000 + i // ids of no running process
				p, _, err := pidfile.Open(path, pid)
				results <- result{pid, p, err}
			}()
		}
		close(start)
		wg.Wait()
		close(results)
		var won []result
		for r := range results {
			switch {
			case r.err == nil:
				won = append(won, r)
			case !errors.Is(r.err, pidfile.ErrRunning):
				t.Errorf("pid %d: got error %v, want nil or pidfile.ErrRunning", r.pid, r.err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("before %q: %d takers won, want exactly 1", before, len(won))
		}
		if got, want := readPid(t, path), strconv.Itoa(won[0].pid)+"\n"; got != want {
			t.Errorf("before %q: pidfile holds %q, want the winner's %q", before, got, want)
		}
		won[0].p.Close()
	}
}

// TestPidfileNoFolder checks that a pidfile in a missing folder is a
// plain error, not a refusal.
func TestPidfileNoFolder(t *testing.T) {
	_, _, err := pidfile.Open(filepath.Join(t.TempDir(), "missing", "x.pid"), os.Getpid())
	if err == nil || errors.Is(err, pidfile.ErrRunning) || errors.Is(err, pidfile.ErrNotPidfile) {
		t.Errorf("Open in a missing folder: got %v, want another error", err)
	}
}
