package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// NeedNetns skips t, with the reason, when it cannot create network
// namespaces (not root, or no ip command); when CI is set it fails
// instead.
func NeedNetns(t testing.TB) {
	t.Helper()
	switch {
	case os.Geteuid() != 0:
		CannotRun(t, "needs root to create network namespaces")
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			CannotRun(t, "needs the ip command (iproute2) to create network namespaces")
		}
	}
}

// CannotRun skips t with reason, or fails it when the environment
// variable CI is set: under CI a test that skips is a failure.
func CannotRun(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (not skipping: CI is set)", reason)
	}
	t.Skip(reason)
}

// IP runs ip with args and returns its output, failing t on error.
func IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := TryIP(args...)
	if err != nil {
		t.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TryIP runs ip with args, bounded to 10 seconds, and returns its output.
func TryIP(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// WaitUntil polls cond every 20ms for up to 10 seconds, failing t if it
// never holds.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
	}
}
