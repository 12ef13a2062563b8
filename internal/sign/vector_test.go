package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

var update = flag.Bool("update", false, "rewrite testdata/vector-ok.txt from the code instead of checking it")

const vectorFile = "testdata/vector-ok.txt"

// vectorFields are the header keys of a vector file, in order.
var vectorFields = []string{"seed", "kid", "source", "epoch", "seq", "time", "data", "payload", "datagram"}

// readVector parses a file of "key: value" lines, each key once; "#"
// lines are comments.
func readVector(t testing.TB, path string) map[string]string {
	t.Helper()
	fields, err := vectors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vectors.Unique(path, fields)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range vectorFields {
		if _, ok := v[k]; !ok {
			t.Fatalf("%s: got no %q line, want one", path, k)
		}
	}
	return v
}

func mustHex(t *testing.T, name, s string, n int) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		t.Fatalf("%s: got %q, want %d bytes in hex", name, s, n)
	}
	return b
}

func mustUint(t *testing.T, name, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s: got %q, want a decimal integer", name, s)
	}
	return n
}

func writeVector(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	data := make([]byte, 32)
	for i := range data {
		data[i] = 0xa0 + byte(i)
	}
	f := frame.Frame{Source: "producer.example.org", Epoch: 1764000000000, Seq: 7, Time: 1764000012345, Data: data}
	payload, err := f.Append(nil), f.Check()
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, ed25519.NewKeyFromSeed(seed))
	datagram := mustSign(t, s, payload)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ssmrandom protocol test vector, docs/protocol.md section 6\n")
	fmt.Fprintf(&b, "seed: %x\nkid: %s\nsource: %s\nepoch: %d\nseq: %d\ntime: %d\ndata: %x\npayload: %s\ndatagram: %s\n",
		seed, s.KeyID(), f.Source, f.Epoch, f.Seq, f.Time, f.Data, payload, datagram)
	if err := os.WriteFile(vectorFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVector rebuilds the datagram of testdata/vector-ok.txt byte for byte
// from its seed and frame fields, and verifies it back to the same fields.
// Run with -update to rewrite the file after a deliberate protocol change.
func TestVector(t *testing.T) {
	if *update {
		writeVector(t)
	}
	v := readVector(t, vectorFile)
	seed := mustHex(t, "seed", v["seed"], ed25519.SeedSize)
	want := frame.Frame{
		Source: v["source"],
		Epoch:  mustUint(t, "epoch", v["epoch"]),
		Seq:    mustUint(t, "seq", v["seq"]),
		Time:   int64(mustUint(t, "time", v["time"])),
		Data:   mustHex(t, "data", v["data"], 32),
	}

	// Producer side: frame, then sign.
	payload, err := want.Append(nil), want.Check()
	if err != nil {
		t.Fatalf("Marshal: got error %v, want nil", err)
	}
	if string(payload) != v["payload"] {
		t.Errorf("payload:\ngot  %s\nwant %s", payload, v["payload"])
	}
	s := mustSigner(t, ed25519.NewKeyFromSeed(seed))
	if s.KeyID() != v["kid"] {
		t.Errorf("kid: got %s, want %s", s.KeyID(), v["kid"])
	}
	datagram := mustSign(t, s, payload)
	if string(datagram) != v["datagram"] {
		t.Errorf("datagram:\ngot  %s\nwant %s", datagram, v["datagram"])
	}
	if got := s.Len(frame.MaxLen(want.Source, len(want.Data))); len(datagram) > got {
		t.Errorf("datagram length: got %d, want at most Signer.Len(MaxLen) = %d", len(datagram), got)
	}

	// Receiver side: the file's datagram, verified and parsed.
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	got, kid, err := ring.Verify([]byte(v["datagram"]))
	if err != nil {
		t.Fatalf("Verify(vector datagram): got error %v, want nil", err)
	}
	if kid != v["kid"] {
		t.Errorf("Verify: got kid %s, want %s", kid, v["kid"])
	}
	if string(got) != v["payload"] {
		t.Errorf("Verify: got payload %s, want %s", got, v["payload"])
	}
	f, err := frame.Parse(got)
	if err != nil {
		t.Fatalf("Parse(verified payload): got error %v, want nil", err)
	}
	if f.Source != want.Source || f.Epoch != want.Epoch || f.Seq != want.Seq || f.Time != want.Time || !bytes.Equal(f.Data, want.Data) {
		t.Errorf("Parse(verified payload): got %+v, want %+v", f, want)
	}
}
