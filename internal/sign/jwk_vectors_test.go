package sign_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

// TestJWKVectors loads each file of testdata/jwk, one JWK or JWK Set with
// at most one thing wrong (docs/protocol.md §7), as a trust file:
// "expect: ok" loads the RFC 8037 Appendix A key, "expect: refused" is an
// error matching ErrKey.
func TestJWKVectors(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "jwk", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("got %d vectors in testdata/jwk, want at least 10", len(paths))
	}
	const kid = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
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
			ring, _, err := sign.LoadTrust(file)
			switch v["expect"] {
			case "ok":
				if err != nil {
					t.Fatalf("LoadTrust: %v", err)
				}
				if _, ok := ring.Lookup(kid); !ok || ring.Len() != 1 {
					t.Errorf("LoadTrust: got %d keys, want the one of kid %s", ring.Len(), kid)
				}
			case "refused":
				if !errors.Is(err, sign.ErrKey) {
					t.Errorf("LoadTrust: got error %v, want one matching ErrKey", err)
				}
			default:
				t.Fatalf("expect: got %q, want ok or refused", v["expect"])
			}
		})
	}
}
