package seal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/nordunet/ssmrandom/internal/keyfile"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// Suffixes of the two files [WriteHostKeyPair] writes: those of a
// producer key pair.
const (
	PrivateSuffix = sign.PrivateSuffix
	PublicSuffix  = sign.PublicSuffix
)

// ErrPermissions reports a private host key file that group or others
// may read.
var ErrPermissions = errors.New("seal: private key is readable by group or others")

// A FileError is a members file that was passed over: the file, the index
// of the key in a JWK Set (-1 for a file of one JWK or a file that does not
// parse) and the reason, which wraps [ErrKey] or an I/O error.
type FileError struct {
	File string
	Key  int
	Err  error
}

func (e *FileError) Error() string {
	if e.Key >= 0 {
		return fmt.Sprintf("seal: %s: key %d: %v", e.File, e.Key, e.Err)
	}
	return fmt.Sprintf("seal: %s: %v", e.File, e.Err)
}

// Unwrap returns the reason.
func (e *FileError) Unwrap() error { return e.Err }

// WriteHostKeyPair writes k to prefix+[PrivateSuffix] (mode 0600) and its
// public key to prefix+[PublicSuffix] (mode 0644), both with the validity
// period valid, and returns the two paths. Each file is written under a
// temporary name created with mode 0600 and O_EXCL, then moved into place,
// so the private key is never readable by others and no half-written file
// is left behind. Without force, WriteHostKeyPair writes nothing if either
// file exists.
func WriteHostKeyPair(prefix string, k *HostKey, valid sign.Validity, force bool) (privPath, pubPath string, err error) {
	privPath, pubPath = prefix+PrivateSuffix, prefix+PublicSuffix
	privJWK, err := MarshalPrivate(k, valid)
	if err != nil {
		return "", "", err
	}
	pubJWK, err := MarshalPublic(k.pub, valid)
	if err != nil {
		return "", "", err
	}
	if err := keyfile.WritePair(privPath, privJWK, pubPath, pubJWK, force); err != nil {
		return "", "", fmt.Errorf("seal: %w", err)
	}
	return privPath, pubPath, nil
}

// readKeyFile reads a key file of at most [keyfile.MaxSize] bytes.
func readKeyFile(path string) ([]byte, os.FileInfo, error) { return keyfile.Read(path) }

// LoadHostKey reads a private host key JWK file. Like ssh, it refuses a
// file that group or others may read ([ErrPermissions]).
func LoadHostKey(path string) (*HostKey, error) {
	b, fi, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: host key: %w", err)
	}
	if err := keyfile.CheckPrivate(path, fi, ErrPermissions); err != nil {
		return nil, err
	}
	_, k, err := parseJWK(b)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", path, err)
	}
	if k == nil {
		return nil, fmt.Errorf("seal: %s: %w: it is a public key; opening seeds needs the private key", path, ErrKey)
	}
	return k, nil
}

// Members is a producer's member set: the hosts it seals seeds to, sorted
// by host id, each host id once. It is not changed after it is made, so it
// is safe for concurrent use. The zero value is an empty set.
type Members struct {
	list []Member
}

// NewMembers returns the set of ms. A key given twice counts once, with
// the first one's File and the strictest validity of its copies. Two keys
// with the same host id are an error: the producer could not tell their
// entries apart (a chance of 2^-64 per pair, or a key made on purpose).
func NewMembers(ms ...Member) (*Members, error) {
	s, skipped := newMembers(ms)
	if len(skipped) > 0 {
		return nil, skipped[0]
	}
	return s, nil
}

func newMembers(ms []Member) (*Members, []error) {
	byID := make(map[seedwire.HostID]int)
	var list []Member
	var skipped []error
	for _, m := range ms {
		if m.hpke == nil { // not made by NewMember
			nm, err := NewMember(m.Public)
			if err != nil {
				skipped = append(skipped, &FileError{File: m.File, Key: -1, Err: err})
				continue
			}
			nm.File, nm.Valid = m.File, m.Valid
			m = nm
		}
		if i, dup := byID[m.HostID]; dup {
			if list[i].ID != m.ID {
				skipped = append(skipped, &FileError{File: m.File, Key: -1,
					Err: fmt.Errorf("%w: host id %x of key %s is also that of key %s in %s", ErrKey, m.HostID, m.ID, list[i].ID, list[i].File)})
				continue
			}
			list[i].Valid = intersect(list[i].Valid, m.Valid)
			continue
		}
		byID[m.HostID] = len(list)
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return bytes.Compare(list[i].HostID[:], list[j].HostID[:]) < 0 })
	return &Members{list: list}, skipped
}

// intersect returns the period in both v and w.
func intersect(v, w sign.Validity) sign.Validity {
	if v.NotBefore.IsZero() || w.NotBefore.After(v.NotBefore) {
		v.NotBefore = w.NotBefore
	}
	if v.NotAfter.IsZero() || !w.NotAfter.IsZero() && w.NotAfter.Before(v.NotAfter) {
		v.NotAfter = w.NotAfter
	}
	return v
}

// Len returns the number of members.
func (s *Members) Len() int { return len(s.list) }

// All returns the members sorted by host id. The caller must not change
// the slice.
func (s *Members) All() []Member { return s.list }

// ValidAt returns the members whose key is valid at t, sorted by host id:
// the members of a round made at t. A member outside its validity period
// gets no seed.
func (s *Members) ValidAt(t time.Time) []Member {
	out := make([]Member, 0, len(s.list))
	for _, m := range s.list {
		if m.Valid.Contains(t) {
			out = append(out, m)
		}
	}
	return out
}

// LoadMembers reads the host public keys of the files [keyfile.List]
// names for path; each is one JWK or a JWK Set. A private JWK adds its
// public half, with a notice in warnings. A file that does not parse is
// an error, and so is a path with no key.
func LoadMembers(path string) (set *Members, warnings []string, err error) {
	return keyfile.Load(path, ReloadMembers, "seal: members: no X25519 key in "+path)
}

// ReloadMembers is [LoadMembers] for a running producer: it passes over
// a file that does not parse and returns its *[FileError] in skipped. The
// set may be empty; err is for a path that cannot be read at all.
func ReloadMembers(path string) (set *Members, warnings []string, skipped []error, err error) {
	var all []Member
	skipped, err = keyfile.Each(path, func(f string) error {
		ms, w, err := loadMembersFile(f)
		if err != nil {
			return err
		}
		warnings = append(warnings, w...)
		all = append(all, ms...)
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("seal: members: %w", err)
	}
	set, dups := newMembers(all)
	return set, warnings, append(skipped, dups...), nil
}

// loadMembersFile reads one JWK or JWK Set file. Its error is a
// *[FileError].
func loadMembersFile(path string) ([]Member, []string, error) {
	b, _, err := readKeyFile(path)
	if err != nil {
		return nil, nil, &FileError{File: path, Key: -1, Err: err}
	}
	jwks, index, err := keyfile.JWKs(b)
	if err != nil {
		return nil, nil, &FileError{File: path, Key: -1, Err: fmt.Errorf("%w: %v", ErrKey, err)}
	}
	var ms []Member
	var warnings []string
	for i, raw := range jwks {
		m, priv, err := parseJWK(raw)
		if err != nil {
			if !index {
				i = -1
			}
			return nil, nil, &FileError{File: path, Key: i, Err: err}
		}
		if priv != nil {
			warnings = append(warnings, fmt.Sprintf("%s is a private key; using only its public half (keep host private keys out of members folders)", path))
		}
		m.File = path
		ms = append(ms, m)
	}
	return ms, warnings, nil
}
