package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestForger checks the paced flood's datagrams against a genuine one: the
// same header, source and epoch, a sequence number of their own each, a
// fresh time, and a signature the keyring refuses as bad, not as anything
// cheaper.
func TestForger(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	signer, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, err := sign.WriteKeyPair(filepath.Join(dir, "p"), priv, sign.Validity{}, false); err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "p.pub.jwk")
	now := time.Now().UnixMilli()
	genuine := frame.Frame{Source: "producer", Epoch: uint64(now - 1000), Seq: 41, Time: now, Data: bytes.Repeat([]byte{1}, frameSize)}
	d, err := signer.Sign(genuine.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := parseCapture(d)
	if !ok {
		t.Fatal("parseCapture refused a genuine frame")
	}
	fg, err := newForger(c)
	if err != nil {
		t.Fatal(err)
	}
	first := fg.datagram()
	if err := checkForged(first, trust, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(first, d[:bytes.IndexByte(d, '.')+1]) {
		t.Errorf("got header %.40q, want the genuine one %.40q", first, d)
	}
	seen := map[uint64]bool{}
	dg := bytes.Clone(first)
	for i := range 2000 {
		if i > 0 {
			fg.next(dg)
		}
		u, err := sign.Inspect(dg)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		f, err := frame.Parse(u.Payload)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if f.Source != genuine.Source || f.Epoch != genuine.Epoch || f.Time < now || seen[f.Seq] || f.Seq < forgedSeqBase {
			t.Fatalf("datagram %d: got source %q epoch %d seq %d time %d, want %q, %d, a new seq from %d, time from %d",
				i, f.Source, f.Epoch, f.Seq, f.Time, genuine.Source, genuine.Epoch, uint64(forgedSeqBase), now)
		}
		seen[f.Seq] = true
	}
	ring, _, err := sign.LoadTrust(trust)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ring.Verify(dg); !errors.Is(err, sign.ErrBadSignature) {
		t.Errorf("last datagram: got %v, want %v", err, sign.ErrBadSignature)
	}
}

// TestForgerTag checks that a copied member tag keeps its round and loses
// its tag.
func TestForgerTag(t *testing.T) {
	mt := make([]byte, 24)
	mt[7] = 5 // round 5
	for i := 8; i < 24; i++ {
		mt[i] = byte(i)
	}
	enc := base64.RawURLEncoding.EncodeToString(mt)
	c := capture{
		header: []byte(`{"alg":"EdDSA","kid":"K","mt":"` + enc + `"}`), mt: enc,
		frame: frame.Frame{Source: "p", Epoch: 1, Seq: 1, Time: 1, Data: []byte{1}},
		sig:   make([]byte, ed25519.SignatureSize),
	}
	fg, err := newForger(c)
	if err != nil {
		t.Fatal(err)
	}
	u, err := sign.Inspect(fg.datagram())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 24)
	copy(want, mt)
	for i := 8; i < 24; i++ {
		want[i] ^= 0xff
	}
	if wantH := `{"alg":"EdDSA","kid":"K","mt":"` + base64.RawURLEncoding.EncodeToString(want) + `"}`; string(u.Header) != wantH {
		t.Errorf("got header %s, want %s", u.Header, wantH)
	}
}
