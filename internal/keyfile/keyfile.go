// Package keyfile reads and writes key files the way ssh and age-keygen
// do: a write goes through a temporary file created with O_EXCL and mode
// 0600, then is linked into place (never overwriting without being told
// to), so that no half-written file and no moment of a readable private
// key exist; a read takes only a regular file of bounded size, and a
// private key that group or others may read is refused. It knows files
// and the JSON that JWK files share (a strict object, a JWK Set, the
// bounds of "nbf" and "exp"), not keys: internal/sign and internal/seal
// parse the keys.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MaxSize is the largest key or JWK Set file read, in bytes.
const MaxSize = 1 << 20

var (
	// ErrNotRegular is [Read]'s error for a path that is not a regular
	// file (a folder, a FIFO, a device).
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooBig is [Read]'s error for a file over [MaxSize] bytes.
	ErrTooBig = fmt.Errorf("over %d bytes; not a key file", MaxSize)
)

// ExistsError is [Write]'s error for a file that exists and is not to be
// replaced. It matches [fs.ErrExist] with errors.Is.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string { return e.Path + " exists; not overwriting it" }

// Is reports whether target is [fs.ErrExist].
func (e *ExistsError) Is(target error) bool { return target == fs.ErrExist }

// Write writes b to path with mode, through a temporary file in the same
// folder, created with O_EXCL and mode 0600 and synced before it takes
// the name. With replace it renames the file over path; without, it links
// it there, and fails with an [*ExistsError] if path exists, even if it
// appeared meanwhile. On failure nothing is left behind.
func Write(path string, b []byte, mode fs.FileMode, replace bool) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil { // CreateTemp uses O_EXCL and mode 0600
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else if err = os.Link(tmp.Name(), path); err == nil {
		os.Remove(tmp.Name())
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &ExistsError{Path: path}
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Read reads the regular file path, of at most [MaxSize] bytes, and
// returns it with its FileInfo, for [CheckPrivate]. Its errors are those
// of the open (an [*fs.PathError]), [ErrNotRegular] and [ErrTooBig]. It
// opens without blocking, so that a FIFO named like a key file cannot
// hang it.
func Read(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, ErrNotRegular
	}
	if fi.Size() > MaxSize {
		return nil, nil, ErrTooBig
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && len(b) > 0 {
		return nil, nil, err
	}
	return b, fi, nil
}

// CheckPrivate returns an error wrapping errPerm, the caller's sentinel,
// if group or others may read the private key file path that fi
// describes, the way ssh refuses such a key; nil otherwise.
func CheckPrivate(path string, fi fs.FileInfo, errPerm error) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; want 0600 (chmod 600 %s)", errPerm, path, perm, path)
	}
	return nil
}

// List returns the key files path names: path itself if it is not a
// folder, else the files in it whose names end in .jwk or .json and do
// not start with ".", in name order. Its errors are those of the stat and
// of reading the folder.
func List(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries { // in name order
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".jwk") || strings.HasSuffix(name, ".json")) && !strings.HasPrefix(name, ".") {
			files = append(files, filepath.Join(path, name))
		}
	}
	return files, nil
}

// Each calls load for each key file of path, as [List] names them, and
// returns the errors of the files load refused, in file order, so that one
// bad file does not take away the keys of the others. err is [List]'s,
// for a path that cannot be read at all.
func Each(path string, load func(file string) error) (skipped []error, err error) {
	files, err := List(path)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := load(f); err != nil {
			skipped = append(skipped, err)
		}
	}
	return skipped, nil
}

// Load is a first load of the keys at path, which unlike reload (a
// running daemon's) passes over no file: reload's result, or the first
// file error reload returned in skipped, or, if no key loaded, an error
// with the text none.
func Load[S interface{ Len() int }, W any](path string, reload func(path string) (S, []W, []error, error), none string) (S, []W, error) {
	var zero S
	s, warnings, skipped, err := reload(path)
	switch {
	case err != nil:
		return zero, nil, err
	case len(skipped) > 0:
		return zero, nil, skipped[0]
	case s.Len() == 0:
		return zero, nil, errors.New(none)
	}
	return s, warnings, nil
}

// WritePair writes a key pair's two files as [Write] does: the private
// key priv to privPath with mode 0600, then the public key pub to pubPath
// with mode 0644. Without force it writes nothing if either file exists
// (an [*ExistsError]); if the second write fails, the first file is
// removed.
func WritePair(privPath string, priv []byte, pubPath string, pub []byte, force bool) error {
	if !force {
		for _, p := range []string{privPath, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				return &ExistsError{Path: p}
			}
		}
	}
	if err := Write(privPath, priv, 0o600, force); err != nil {
		return err
	}
	if err := Write(pubPath, pub, 0o644, force); err != nil {
		os.Remove(privPath)
		return err
	}
	return nil
}
