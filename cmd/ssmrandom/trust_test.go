package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// TestTrustReload drives trustReloader.reload directly: a validity change
// is reported and takes effect, a folder that is gone trusts nothing until
// it is back, and an emptied folder trusts nothing.
func TestTrustReload(t *testing.T) {
	dir := t.TempDir()
	key := func(i byte) ed25519.PublicKey {
		return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{i}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	}
	write := func(name string, pub ed25519.PublicKey, v sign.Validity) {
		b, err := sign.MarshalPublicValid(pub, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.pub.jwk", key(1), sign.Validity{})
	write("b.pub.jwk", key(2), sign.Validity{})
	ring, _, err := sign.LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := receive.New(receive.Config{Trust: ring, Output: io.Discard, MaxDatagram: 1472})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var reports []bool
	r := &trustReloader{path: dir, log: zerolog.New(&logs), pipe: pipe, report: func(_ int, err error) { reports = append(reports, err == nil) }}

	// b gets an end date: the same keys, one changed.
	end := time.Unix(2000000000, 0).UTC()
	write("b.pub.jwk", key(2), sign.Validity{NotAfter: end})
	r.reload("test")
	if k, ok := pipe.Trust().Lookup(sign.KeyID(key(2))); !ok || !k.Valid.NotAfter.Equal(end) {
		t.Errorf("after a validity change: got key %+v (found %v), want NotAfter %s", k, ok, end)
	}
	if !strings.Contains(logs.String(), `"validity_changed":["`+sign.KeyID(key(2))+`"]`) {
		t.Errorf("log: got %s, want the changed kid listed", logs.String())
	}

	// The folder is gone: nothing is trusted until it is back.
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	r.reload("test")
	if n := pipe.Trust().Len(); n != 0 {
		t.Errorf("after the folder went away: got %d keys, want 0", n)
	}
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	r.reload("test")
	if n := pipe.Trust().Len(); n != 2 {
		t.Errorf("after the folder came back: got %d keys, want 2", n)
	}

	// Every key file removed: nothing is trusted.
	for _, f := range []string{"a.pub.jwk", "b.pub.jwk"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	r.reload("test")
	if n := pipe.Trust().Len(); n != 0 {
		t.Errorf("after every key file was removed: got %d keys, want 0", n)
	}
	if !strings.Contains(logs.String(), "no trusted key left") {
		t.Errorf("log: got %s, want a line saying no key is trusted", logs.String())
	}
	if want := []bool{true, false, true, true}; !slices.Equal(reports, want) {
		t.Errorf("reports: got %v, want %v", reports, want)
	}
}

// TestTrustSIGHUP: once start returns, a SIGHUP reloads --trust (and does
// not kill the process), and the reloader stops with its context.
func TestTrustSIGHUP(t *testing.T) {
	dir := t.TempDir()
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	b, err := sign.MarshalPublicValid(pub, sign.Validity{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.pub.jwk"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ring, _, err := sign.LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := receive.New(receive.Config{Trust: ring, Output: io.Discard, MaxDatagram: 1472})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	reloaded := make(chan struct{}, 1)
	r := &trustReloader{path: dir, log: zerolog.New(&logs), pipe: pipe, report: func(int, error) { reloaded <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wait := r.start(ctx, hup)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s of SIGHUP")
	}
	cancel()
	wait()
	if !strings.Contains(logs.String(), `"trigger":"SIGHUP"`) {
		t.Errorf("log: got %s, want a reload triggered by SIGHUP", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTrustWarnings checks the words of sign's trust warnings, which
// recv, inspect and keys print.
func TestTrustWarnings(t *testing.T) {
	end := time.Unix(1600000000, 0).UTC()
	got := report.TrustWarnings([]sign.Warning{
		{File: "trust/private.jwk", Private: true},
		{File: "trust/a.jwk", KeyID: "KID", Valid: sign.Validity{NotAfter: end}, Other: "trust/b.jwk"},
	})
	want := []string{
		"trust/private.jwk is a private key; trusting only its public half (keep private keys out of trust folders)",
		"key KID is in trust/a.jwk (valid " + sign.Validity{NotAfter: end}.String() + ") and in trust/b.jwk (valid " + sign.Validity{}.String() + "); trusting it only when both say it is valid",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
