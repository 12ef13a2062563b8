package sink_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sink"
)

func TestOpenStdout(t *testing.T) {
	// Not parallel: swaps the global os.Stdout.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	old := os.Stdout
	os.Stdout = w
	s, err := sink.Open("-")
	os.Stdout = old
	if err != nil {
		t.Fatalf("Open(%q): %v", "-", err)
	}
	if got, want := s.String(), "stdout"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if n, err := s.Write([]byte("entropy")); n != 7 || err != nil {
		t.Fatalf("Write: got %d, %v, want 7, nil", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: got %v, want os.ErrClosed", err)
	}
	// Close must leave the process's standard output open.
	if _, err := w.Write([]byte("!")); err != nil {
		t.Fatalf("standard output closed by Close: %v", err)
	}
	w.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := "entropy!"; string(got) != want {
		t.Errorf("stdout got %q, want %q", got, want)
	}
}

func TestOpenRegularFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sink.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got, want := s.String(), `file "`+path+`"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, p := range []string{"one\n", "two\n", "\x00\xff\n"} {
		if n, err := s.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q): got %d, %v, want %d, nil", p, n, err, len(p))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Write([]byte("late")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: got %v, want os.ErrClosed", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "old\none\ntwo\n\x00\xff\n"; string(got) != want {
		t.Errorf("file got %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("got mode %v, want a regular file still", fi.Mode())
	}
}

func TestOpenCharDevice(t *testing.T) {
	const path = "/dev/null"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	s, err := sink.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got, want := s.String(), `device "/dev/null"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	p := make([]byte, 2*sink.PipeBuf)
	if n, err := s.Write(p); n != len(p) || err != nil {
		t.Errorf("Write: got %d, %v, want %d, nil", n, err, len(p))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Write(p); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: got %v, want os.ErrClosed", err)
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := sink.Open(dir)
	if err == nil {
		s.Close()
		t.Fatalf("Open(directory): got nil error, want one")
	}
	if !errors.Is(err, syscall.EISDIR) {
		t.Errorf("got %v, want syscall.EISDIR", err)
	}
	checkNamesPath(t, err, dir)
}

func TestOpenSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("cannot make a unix socket: %v", err)
	}
	defer l.Close()
	s, err := sink.Open(path)
	if err == nil {
		s.Close()
		t.Fatalf("Open(socket): got nil error, want one")
	}
	checkNamesPath(t, err, path)
	if !strings.Contains(err.Error(), "socket") {
		t.Errorf("got %q, want it to say socket", err)
	}
}

func TestOpenParentUnderRegularFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "run", "rnd-pipe")
	s, err := sink.Open(path)
	if err == nil {
		s.Close()
		t.Fatalf("Open(%q): got nil error, want one", path)
	}
	checkNamesPath(t, err, path)
}

func TestOpenEmptyPath(t *testing.T) {
	s, err := sink.Open("")
	if err == nil {
		s.Close()
		t.Fatal(`Open(""): got nil error, want one`)
	}
}

func TestErrorsStartWithPackage(t *testing.T) {
	if got := sink.ErrFull.Error(); !strings.HasPrefix(got, "sink: ") {
		t.Errorf("ErrFull = %q, want prefix %q", got, "sink: ")
	}
}

// checkNamesPath fails t unless err is a sink error that quotes path.
func checkNamesPath(t *testing.T, err error, path string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "sink: open ") {
		t.Errorf("got %q, want prefix %q", msg, "sink: open ")
	}
	if q := `"` + path + `"`; !strings.Contains(msg, q) {
		t.Errorf("got %q, want it to name %s", msg, q)
	}
	if errors.Is(err, sink.ErrFull) {
		t.Errorf("got %v, which matches ErrFull, want an open error", err)
	}
}

func TestWriteEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil): got %d, %v, want 0, nil", n, err)
	}
}

// TestErrFullFull checks the method by which package receive, which does
// not import sink, tells ErrFull from other write errors.
func TestErrFullFull(t *testing.T) {
	var full interface{ Full() bool }
	err := fmt.Errorf("sink: fifo %q: %w", "rnd-pipe", sink.ErrFull)
	if !errors.As(err, &full) || !full.Full() || !errors.Is(err, sink.ErrFull) {
		t.Errorf("%v: got no Full() true, want it (and errors.Is ErrFull)", err)
	}
}

func TestWriteNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seed")
	want := []byte("0123456789abcdef0123456789abcdef")
	if err := sink.WriteNewFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back: got %q, %v, want %q", got, err, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, %v, want 0600", fi.Mode().Perm(), err)
	}
	// It never replaces a file, nor writes through a link.
	if err := sink.WriteNewFile(path, []byte("other")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("existing file: got %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("existing file changed to %q", got)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteNewFile(link, want); !errors.Is(err, fs.ErrExist) {
		t.Errorf("dangling link: got %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "target")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link's target was made: %v", err)
	}
	// A folder that does not exist is an error.
	if err := sink.WriteNewFile(filepath.Join(dir, "no", "seed"), want); err == nil {
		t.Error("missing folder: got nil error")
	}
}
