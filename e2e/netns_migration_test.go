//go:build linux

package e2e

// Replacing the original ssmrandom (issue 14 item 17), on two namespaces:
// a receiver started with --allow-unsigned and no --trust (the original's
// receivers replaced before any producer has a key) gets every frame of a
// producer that sends the original's unsigned frames from a secondary
// address with -i ADDRESS (the original's -i was the address to bind to).

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

func TestNetnsMigration(t *testing.T) {
	harness.NeedNetns(t)
	removeStale(t)
	id := lockRun(t)
	bin := ssmrandomBinary(t)
	const (
		main, service = "192.0.2.1", "192.0.2.2" // the producer's addresses
		group, port   = "232.0.1.131", "49131"
		frames, size  = 32, 512
	)
	n := newTestNet(t, id, [2]string{"producer", main}, [2]string{"receiver", "192.0.2.11"})
	prod, recvNS := n.hosts["producer"].ns, n.hosts["receiver"].ns
	harness.IP(t, "-n", prod, "addr", "add", service+"/24", "dev", "eth0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	writeFile(t, out, nil, 0o600)
	// The receiver joins the service address only.
	recv := startProc(t, ctx, recvNS, "recv", bin, "recv", "--allow-unsigned", "-o", out, "-g", group, "-p", port,
		"-i", "eth0", "--count", strconv.Itoa(frames), service)
	waitLine(t, recv, recv.Stderr, "receiving", 10*time.Second)
	for _, w := range []string{"no --trust", "UNSIGNED"} {
		if _, ok := recv.Stderr.Find(w); !ok {
			t.Errorf("recv without --trust: no warning with %q", w)
		}
	}

	data := make([]byte, frames*size)
	rand.Read(data)
	input := filepath.Join(dir, "input")
	writeFile(t, input, data, 0o600)
	send := startProc(t, ctx, prod, "send", bin, "send", "--unsigned", "-r", input, "-g", group, "-p", port,
		"-i", service, "-s", strconv.Itoa(size), "--rate", "0")
	waitExit(t, send, 20*time.Second)
	if line, _ := send.Stderr.Find(`"message":"sending"`); !strings.Contains(line, `"source_addr":"`+service+`"`) {
		t.Errorf("send -i %s: got start line %s, want source_addr %s", service, line, service)
	}
	waitExit(t, recv, 10*time.Second)
	sameBytes(t, out, data)
}
