package sign

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/nordunet/ssmrandom/internal/keyfile"
)

// Suffixes of the two files [WriteKeyPair] writes.
const (
	PrivateSuffix = ".jwk"
	PublicSuffix  = ".pub.jwk"
)

// MaxKeyFile is the largest key or JWK Set file read, in bytes.
const MaxKeyFile = keyfile.MaxSize

// ErrPermissions reports a private key file that group or others may read.
var ErrPermissions = errors.New("sign: private key is readable by group or others")

// WriteKeyPair writes priv to prefix+[PrivateSuffix] (mode 0600) and its
// public key to prefix+[PublicSuffix] (mode 0644), both with the validity
// period valid, and returns the two
// paths. Each file is written under a temporary name created with mode
// 0600 and O_EXCL, then moved into place, so the private key is never
// readable by others and no half-written file is left behind. Without
// force, WriteKeyPair writes nothing if either file exists, and returns
// an error matching [fs.ErrExist].
func WriteKeyPair(prefix string, priv ed25519.PrivateKey, valid Validity, force bool) (privPath, pubPath string, err error) {
	privPath, pubPath = prefix+PrivateSuffix, prefix+PublicSuffix
	if len(priv) != ed25519.PrivateKeySize {
		return "", "", fmt.Errorf("sign: Ed25519 private key of %d bytes; want %d", len(priv), ed25519.PrivateKeySize)
	}
	privJWK, err := MarshalPrivateValid(priv, valid)
	if err != nil {
		return "", "", err
	}
	pubJWK, err := MarshalPublicValid(priv.Public().(ed25519.PublicKey), valid)
	if err != nil {
		return "", "", err
	}
	if err := keyfile.WritePair(privPath, privJWK, pubPath, pubJWK, force); err != nil {
		return "", "", fmt.Errorf("sign: %w", err)
	}
	return privPath, pubPath, nil
}

// readKeyFile reads a key file of at most [MaxKeyFile] bytes.
func readKeyFile(path string) ([]byte, os.FileInfo, error) {
	b, fi, err := keyfile.Read(path)
	switch {
	case errors.Is(err, keyfile.ErrNotRegular), errors.Is(err, keyfile.ErrTooBig):
		return nil, nil, fmt.Errorf("sign: %s is %w", path, err)
	case err != nil:
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	return b, fi, nil
}

// LoadSigner reads a private JWK file and returns a [Signer] for it. Like
// ssh, it refuses a file that group or others may read ([ErrPermissions]).
func LoadSigner(path string) (*Signer, error) {
	b, fi, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	_, priv, valid, err := parseJWK(b)
	if err != nil {
		return nil, fmt.Errorf("sign: %s: %w", path, err)
	}
	if priv == nil {
		return nil, fmt.Errorf("sign: %s: %w: it is a public key; signing needs the private key", path, ErrKey)
	}
	if err := keyfile.CheckPrivate(path, fi, ErrPermissions); err != nil {
		return nil, err
	}
	s, err := NewSigner(priv)
	if err != nil {
		return nil, err
	}
	s.valid = valid
	return s, nil
}

// Warning is something about keys that loaded which their owner should
// hear of: a private key among trusted keys, or one key in two files with
// different validity periods. The caller words it.
type Warning struct {
	// File is the file it is about: the private key, or the first file
	// (in name order) that holds KeyID.
	File string
	// Private says File is a private key, of which only the public half
	// is trusted.
	Private bool
	// KeyID, if not "", is a key that File holds valid Valid and Other
	// holds valid OtherValid; it is trusted only when both say it is
	// valid.
	KeyID      string
	Valid      Validity
	Other      string
	OtherValid Validity
}

// LoadTrust reads trusted public keys from path: a folder of JWK files
// (every file whose name ends in .jwk or .json; others are passed over), a
// single JWK file, or a JWK Set file ({"keys":[...]}). A private JWK adds
// its public half, with a [Warning] saying so. Any file that does not
// parse is an error, and so is a path with no key.
func LoadTrust(path string) (ring *Keyring, warnings []Warning, err error) {
	return keyfile.Load(path, ReloadTrust, "sign: trust: no Ed25519 key in "+path)
}

// ReloadTrust reads path as [LoadTrust] does, for a receiver that is
// already running: a file that does not parse is passed over, and its
// error returned in skipped, so that one bad file does not take away the
// keys that still load. The keyring may be empty. err is only for a path
// that cannot be read at all.
func ReloadTrust(path string) (ring *Keyring, warnings []Warning, skipped []error, err error) {
	var keys []Key
	first := make(map[string]Key) // each kid's first copy, for the warning below
	skipped, err = keyfile.Each(path, func(f string) error {
		k, w, err := loadTrustFile(f)
		if err != nil {
			return err
		}
		warnings = append(warnings, w...)
		for _, key := range k {
			if prev, dup := first[key.ID]; !dup {
				first[key.ID] = key
			} else if prev.Valid != key.Valid {
				warnings = append(warnings, Warning{File: prev.File, KeyID: key.ID, Valid: prev.Valid, Other: key.File, OtherValid: key.Valid})
			}
		}
		keys = append(keys, k...)
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sign: trust: %w", err)
	}
	ring, err = NewKeyring(keys...)
	if err != nil { // not reached: loadTrustFile computes each ID
		return nil, nil, nil, err
	}
	return ring, warnings, skipped, nil
}

// loadTrustFile reads one JWK or JWK Set file.
func loadTrustFile(path string) ([]Key, []Warning, error) {
	b, _, err := readKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	jwks, set, err := keyfile.JWKs(b)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %s: %w: %v", path, ErrKey, err)
	}
	var keys []Key
	var warnings []Warning
	for i, raw := range jwks {
		pub, priv, valid, err := parseJWK(raw)
		if err != nil {
			if set {
				return nil, nil, fmt.Errorf("sign: %s: key %d: %w", path, i, err)
			}
			return nil, nil, fmt.Errorf("sign: %s: %w", path, err)
		}
		if priv != nil {
			warnings = append(warnings, Warning{File: path, Private: true})
		}
		keys = append(keys, Key{ID: KeyID(pub), Public: pub, File: path, Valid: valid})
	}
	return keys, warnings, nil
}
