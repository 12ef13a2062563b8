package keyfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/keyfile"
)

// TestWrite: the mode asked for, whatever the umask; no overwrite
// without replace, and then nothing left behind; replace replaces.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.jwk")
	if err := keyfile.Write(p, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %v, %v; want mode 0600", fi, err)
	}
	err := keyfile.Write(p, []byte("two"), 0o600, false)
	var ee *keyfile.ExistsError
	if !errors.Is(err, fs.ErrExist) || !errors.As(err, &ee) || ee.Path != p || err.Error() != p+" exists; not overwriting it" {
		t.Fatalf("got %v, want an ExistsError for %s", err, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("got %q after a refused write, want %q", b, "one")
	}
	if err := keyfile.Write(p, []byte("three"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Errorf("got %q after replacing, want %q", b, "three")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("got mode %04o, want 0644", fi.Mode().Perm())
	}
	if err := keyfile.Write(filepath.Join(dir, "missing", "k.jwk"), nil, 0o600, false); err == nil || errors.Is(err, fs.ErrExist) {
		t.Errorf("got %v, want an error for a missing folder", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("got %d files, want 1: a temporary file was left behind", len(entries))
	}
}

// TestRead: a file of up to MaxSize bytes; a folder, a FIFO and a bigger
// file refused, the FIFO without hanging.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.jwk")
	if err := os.WriteFile(p, bytes.Repeat([]byte(" "), keyfile.MaxSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, fi, err := keyfile.Read(p); err != nil || len(b) != keyfile.MaxSize || fi.Size() != keyfile.MaxSize {
		t.Errorf("got %d bytes, %v; want %d, nil", len(b), err, keyfile.MaxSize)
	}
	big := filepath.Join(dir, "big.jwk")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), keyfile.MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keyfile.Read(big); !errors.Is(err, keyfile.ErrTooBig) {
		t.Errorf("got %v, want ErrTooBig", err)
	}
	if _, _, err := keyfile.Read(dir); !errors.Is(err, keyfile.ErrNotRegular) {
		t.Errorf("folder: got %v, want ErrNotRegular", err)
	}
	fifo := filepath.Join(dir, "fifo.jwk")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, _, err := keyfile.Read(fifo); !errors.Is(err, keyfile.ErrNotRegular) {
		t.Errorf("FIFO: got %v, want ErrNotRegular", err)
	}
	if _, _, err := keyfile.Read(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: got %v, want fs.ErrNotExist", err)
	}
}

// TestCheckPrivate refuses a private key that group or others may read.
func TestCheckPrivate(t *testing.T) {
	errPerm := errors.New("readable")
	p := filepath.Join(t.TempDir(), "k.jwk")
	for mode, bad := range map[os.FileMode]bool{0o600: false, 0o400: false, 0o640: true, 0o604: true} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := keyfile.CheckPrivate(p, fi, errPerm); errors.Is(err, errPerm) != bad {
			t.Errorf("mode %04o: got %v, want refused %v", mode, err, bad)
		}
		os.Remove(p)
	}
}

// TestList: a file is itself; a folder its .jwk and .json files, in name
// order, without dot files or folders; a missing path an error.
func TestList(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.jwk", "a.json", ".hidden.jwk", "notes.txt", "c.pub.jwk"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.jwk"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := keyfile.List(dir)
	want := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.jwk"), filepath.Join(dir, "c.pub.jwk")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	one := filepath.Join(dir, "notes.txt")
	if got, err := keyfile.List(one); err != nil || !slices.Equal(got, []string{one}) {
		t.Errorf("a file: got %q, %v; want itself", got, err)
	}
	if _, err := keyfile.List(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: got %v, want fs.ErrNotExist", err)
	}
}
