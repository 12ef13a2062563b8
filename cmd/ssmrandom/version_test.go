package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionPlainGoBuild builds ssmrandom with a plain go build in a git
// repository of its own (a copy of this module, committed) and checks that
// --version names that commit, as a user who built from a clone would
// report it.
func TestVersionPlainGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssmrandom: not with -short")
	}
	for _, tool := range []string{"git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	repo := t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "cmd", "internal"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("..", "..", p), repo).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", p, err, out)
		}
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "test")
	rev := git("rev-parse", "--short=12", "HEAD")

	bin := filepath.Join(t.TempDir(), "ssmrandom")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ssmrandom")
	build.Dir = repo
	// This machine's go env may say -buildvcs=false; a user's default is auto.
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("ssmrandom --version: %v", err)
	}
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "ssmrandom version ") || !strings.Contains(got, rev) || strings.Contains(got, "+dirty") {
		t.Errorf("got %q, want \"ssmrandom version\" and a version naming commit %s, not dirty", got, rev)
	}
}
