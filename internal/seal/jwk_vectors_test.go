package seal_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

// TestJWKVectors loads each file of testdata/jwk, one host JWK or JWK
// Set with at most one thing wrong, as a members file: "expect: ok"
// loads one member, "expect: refused" is an error matching ErrKey.
func TestJWKVectors(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "jwk", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 6 {
		t.Fatalf("got %d vectors in testdata/jwk, want at least 6", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fields, err := vectors.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := vectors.Unique(path, fields)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "k.jwk")
			if err := os.WriteFile(file, []byte(v["file"]), 0o644); err != nil {
				t.Fatal(err)
			}
			set, _, err := seal.LoadMembers(file)
			switch v["expect"] {
			case "ok":
				if err != nil {
					t.Fatalf("LoadMembers: %v", err)
				}
				if n := set.Len(); n != 1 {
					t.Errorf("LoadMembers: got %d members, want 1", n)
				}
			case "refused":
				if !errors.Is(err, seal.ErrKey) {
					t.Errorf("LoadMembers: got error %v, want one matching ErrKey", err)
				}
			default:
				t.Fatalf("expect: got %q, want ok or refused", v["expect"])
			}
		})
	}
}
