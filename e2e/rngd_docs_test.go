//go:build linux

package e2e

// Every rngd command line the README, the docs and the packaging show is
// run here, as written but for the FIFO's path, and must keep draining a
// FIFO fed the way recv feeds it (held open read-write, so rngd never sees
// end-of-file). On a CPU with RDRAND, rngd 5 left with its RDRAND source
// on reads about 5.6 KB of the FIFO and then spins on RDRAND, so a line
// without -d 1 fails here.

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rngdDocs are the files whose rngd command lines are run; each must show
// at least one.
var rngdDocs = []string{
	"../README.md",
	"../packaging/README.md",
	"../packaging/examples/rngd-ssmrandom.conf",
	"../docs/migration.md",
	"../docs/deployment.md",
	"../docs/research.md",
	"../bench/rngd/README.md",
}

// rngdLine matches an rngd command line: rngd (or /usr/sbin/rngd), then
// flags and their values, up to the end of the line, a backquote or a #.
var rngdLine = regexp.MustCompile("(?:/usr/sbin/)?\\brngd((?: +-[^\\s`#]+(?: +[^-\\s`#][^\\s`#]*)?)+)")

// rngdCommands returns the rngd command lines in doc that read a source
// (-r or --rng-device), as argument lists without the program name.
func rngdCommands(doc string) [][]string {
	var out [][]string
	for _, m := range rngdLine.FindAllStringSubmatch(doc, -1) {
		args := strings.Fields(m[1])
		if slices.ContainsFunc(args, func(a string) bool { return a == "-r" || strings.HasPrefix(a, "--rng-device") }) {
			out = append(out, args)
		}
	}
	return out
}

func TestRngdCommandsParse(t *testing.T) {
	doc := "    rngd -f -r /run/ssmrandom/rnd-pipe -d 1 -n 1 -o /dev/urandom     # rng-tools5\n" +
		"| `rngd -f -r PIPE -o /dev/urandom` | x |\nExecStart=/usr/sbin/rngd -f -r /x -d 1\n" +
		"`rngd -V` and `go run ./bench/rngd -only bias51`, rngd's `-o`\n"
	got := rngdCommands(doc)
	want := [][]string{
		{"-f", "-r", "/run/ssmrandom/rnd-pipe", "-d", "1", "-n", "1", "-o", "/dev/urandom"},
		{"-f", "-r", "PIPE", "-o", "/dev/urandom"},
		{"-f", "-r", "/x", "-d", "1"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRngdDocumentedCommands runs each documented rngd command line.
func TestRngdDocumentedCommands(t *testing.T) {
	// Collect them first, so a doc without one fails without root too.
	lines := map[string][]string{} // the command line, FIFO as FIFO -> where shown
	for _, f := range rngdDocs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cmds := rngdCommands(string(b))
		for _, args := range cmds {
			key := strings.Join(withFIFO(args, "FIFO", "$DIR"), " ")
			lines[key] = append(lines[key], filepath.Base(f))
		}
		if len(cmds) == 0 && f != "../docs/migration.md" && f != "../docs/deployment.md" {
			t.Errorf("%s: no rngd command line found, want at least one", f)
		}
	}
	if len(lines) == 0 {
		t.Fatal("no rngd command lines found")
	}
	b, _ := os.ReadFile("/proc/cpuinfo")
	t.Logf("this CPU has RDRAND: %v", regexp.MustCompile(`(?m)^flags\s*:.*\brdrand\b`).Match(b))
	rngdPath, _ := needRngd(t)
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			t.Logf("shown in %s", strings.Join(slices.Compact(lines[k]), ", "))
			dir := t.TempDir()
			fifo := filepath.Join(dir, "rnd-pipe")
			args := withFIFO(strings.Fields(k), fifo, dir)
			checkDrains(t, rngdPath, fifo, args)
		})
	}
}

// withFIFO returns args with the value of -r (or --rng-device=) replaced
// by fifo and $DIR by dir.
func withFIFO(args []string, fifo, dir string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		switch {
		case a == "-r" && i+1 < len(out):
			out[i+1] = fifo
		case strings.HasPrefix(a, "--rng-device="):
			out[i] = "--rng-device=" + fifo
		}
	}
	for i := range out {
		if out[i] != fifo {
			out[i] = strings.ReplaceAll(out[i], "$DIR", dir)
		}
	}
	return out
}

// drainWant is how much of the FIFO rngd must read: far past the 5.6 KB
// an rngd spinning on RDRAND reads, and past one 64 KiB pipe buffer.
const drainWant = 256 << 10

// checkDrains makes the FIFO, holds it open read-write as recv does, starts
// rngd with args, writes random bytes and fails t unless rngd reads
// drainWant of them within rngdTimeout.
func checkDrains(t *testing.T, rngdPath, fifo string, args []string) {
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rngd := start(t, "rngd", rngdPath, args...)

	ctx, cancel := context.WithTimeout(context.Background(), rngdTimeout)
	defer cancel()
	written := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { written <- n }()
		buf := make([]byte, 4096)
		for ctx.Err() == nil {
			rand.Read(buf)
			f.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			w, _ := f.Write(buf)
			n += int64(w)
		}
	}()
	// What rngd read is what was written less what is still in the FIFO;
	// poll /proc's rchar meanwhile to stop early.
	for ctx.Err() == nil && rngd.Running() && rngd.rchar() < drainWant+64<<10 {
		time.Sleep(50 * time.Millisecond)
	}
	running := rngd.Running()
	cancel()
	n := <-written
	queued, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	drained := n - int64(queued)
	if !running {
		t.Fatalf("rngd %s exited: %v\n%s", strings.Join(args, " "), rngd.Err(), rngd.out())
	}
	if drained < drainWant {
		t.Errorf("rngd %s read %d bytes of the FIFO in %s, want at least %d (it stopped reading)", strings.Join(args, " "), drained, rngdTimeout, drainWant)
	} else {
		t.Logf("rngd read %d bytes of the FIFO", drained)
	}
	rngd.signal(syscall.SIGTERM)
}
