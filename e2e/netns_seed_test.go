//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// testSeed: sealed per-host seeds (docs/protocol.md §9) across the
// family's network. Every receiving host makes a host key with keygen
// --host; the producer seals a seed to each of them every second with
// send --members, besides its frames; each host's ssmrandom seed, joined
// to the producer, takes its own and exits 0 with one line. The seeds are
// 32 bytes, mode 0600, and differ from host to host, and no host's log
// holds its seed.
func (e *netnsEnv) testSeed(t *testing.T, ctx context.Context) {
	port := strconv.Itoa(e.fam.port + 5)
	prod := e.net.hosts[e.fam.prod]
	members := filepath.Join(e.dir, "members")
	if err := os.Mkdir(members, 0o755); err != nil {
		t.Fatal(err)
	}
	type host struct {
		role, seed string
		p          *harness.Proc
	}
	var hosts []host
	for _, role := range e.fam.receivers {
		prefix := filepath.Join(e.dir, "host-"+role)
		kg := startProc(t, ctx, e.net.hosts[role].ns, "keygen-"+role, e.bin, "keygen", "--host", "-o", prefix)
		waitExit(t, kg, 15*time.Second)
		pub, err := os.ReadFile(prefix + ".pub.jwk")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(members, role+".pub.jwk"), pub, 0o644)
	}
	for _, role := range e.fam.receivers {
		out := filepath.Join(e.dir, "seed-"+role+".bin")
		argv := []string{e.bin, "seed", "--trust", e.trust, "--host-key", filepath.Join(e.dir, "host-"+role+".jwk"), "-o", out,
			"-g", e.fam.group, "-p", port, "-i", "eth0", "--timeout", "25s", "--log-format", "json", "-L", "debug", prod.addr}
		p := startProc(t, ctx, e.net.hosts[role].ns, "seed-"+role, argv...)
		waitLine(t, p, p.Stderr, `"message":"waiting for seeds"`, 10*time.Second)
		hosts = append(hosts, host{role: role, seed: out, p: p})
	}
	input := filepath.Join(e.dir, "seed-input.bin")
	writeFile(t, input, netnsData(e.fam.seed+9, 64<<10), 0o644)
	// -s 256: with --members frames have room for a member tag, and a
	// tagged 512-byte frame is over the default --max-datagram.
	args := append([]string{"--members", members, "--seed-interval", "1s", "-s", "256", "--rate", "4096"}, e.budgetArgs()...)
	send := e.send(t, ctx, e.fam.prod, "send-seeds", e.key, input, e.fam.port+5, args...)
	line := regexp.MustCompile(`^seed: wrote the seed to \S+ from 1 producer keys \([A-Za-z0-9_-]{43}\) after [0-9.]+ s$`)
	var seeds [][]byte
	for _, h := range hosts {
		p := h.p
		if err := p.Wait(25 * time.Second); err != nil {
			t.Fatalf("seed on %s: %v", h.role, err)
		}
		if got := p.Stdout.All(); len(got) != 1 || !line.MatchString(got[0]) {
			t.Errorf("seed on %s: stdout %q; want one line matching %s", h.role, got, line)
		} else {
			t.Logf("seed on %s: %s", h.role, got[0])
		}
		b, err := os.ReadFile(h.seed)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(h.seed)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 32 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %04o; want 32 bytes, mode 0600", h.seed, len(b), fi.Mode().Perm())
		}
		if log := strings.ToLower(p.Stderr.String()); strings.Contains(log, string(b)) || strings.Contains(log, hex.EncodeToString(b)) ||
			strings.Contains(p.Stderr.String(), base64.RawStdEncoding.EncodeToString(b)[:40]) || strings.Contains(p.Stderr.String(), base64.RawURLEncoding.EncodeToString(b)[:40]) {
			t.Errorf("seed on %s: its log holds the seed", h.role)
		}
		for _, s := range seeds {
			if bytes.Equal(s, b) {
				t.Errorf("two hosts took the same seed")
			}
		}
		seeds = append(seeds, b)
	}
	if err := send.Kill(10 * time.Second); err != nil {
		t.Error(err)
	}
}
