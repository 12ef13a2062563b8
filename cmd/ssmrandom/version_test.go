package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeVersion(t *testing.T) {
	vcs := func(rev, when, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "6fd7812ad7bf79f4d1f16cbd4cf4eb5c129d6da1"
	for _, tc := range []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"make build wins", "v1.2.0-3-g6fd7812", &debug.BuildInfo{Main: debug.Module{Version: "v1.1.0"}}, "v1.2.0-3-g6fd7812"},
		{"no build info", "", nil, "dev"},
		{"go install module@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.1.0"}}, "v1.1.0"},
		{"go build in a clone", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261124205024-6fd7812ad7bf+dirty"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "true")}, "v0.0.0-20261124205024-6fd7812ad7bf+dirty"},
		{"devel with vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "false")}, "devel-20261124205024-6fd7812ad7bf"},
		{"devel with vcs, modified", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "true")}, "devel-20261124205024-6fd7812ad7bf+dirty"},
		{"devel without vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := describeVersion(tc.linked, tc.info); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

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
