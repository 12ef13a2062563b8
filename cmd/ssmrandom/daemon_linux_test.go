//go:build linux

package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a stand-in for systemd's notification socket: it sets
// NOTIFY_SOCKET for the test and calls got with each state received, in
// the reading goroutine, until the test ends.
func notifySocket(t *testing.T, got func(state string)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
}

// TestNotifyRecv runs recv as systemd would run a Type=notify service:
// READY=1 comes once the channel is joined (the kernel's mcfilter table
// has it when the notification arrives), a change of --trust is told as
// RELOADING=1 then READY=1, and SIGTERM as STOPPING=1.
func TestNotifyRecv(t *testing.T) {
	const group, port, source = "232.0.1.184", "49184", "127.0.0.1"
	// The kernel's mcfilter rows: addresses as host-order words in hex.
	wantJoin := []string{"0xe80001b8", "0x7f000001"}
	type note struct {
		state  string
		joined bool // the channel joined and recv receiving when it came
	}
	notes := make(chan note, 16)
	var stderr syncBuffer
	notifySocket(t, func(state string) {
		// recv logs "receiving" once joined, its output open: READY=1
		// must come after that line (and the kernel's join).
		notes <- note{state, joined("/proc/net/mcfilter", wantJoin) && strings.Contains(stderr.String(), `"message":"receiving"`)}
	})

	dir := t.TempDir()
	trust := filepath.Join(dir, "trust")
	if err := os.Mkdir(trust, 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, name := range []string{"a", "b"} {
		if code := run([]string{"ssmrandom", "keygen", "-o", filepath.Join(dir, name)}, nil, &out, &out); code != 0 {
			t.Fatalf("keygen: exit status %d\n%s", code, out.String())
		}
	}
	if err := os.Rename(filepath.Join(dir, "a.pub.jwk"), filepath.Join(trust, "a.pub.jwk")); err != nil {
		t.Fatal(err)
	}
	if joined("/proc/net/mcfilter", wantJoin) {
		t.Fatalf("(%s, %s) is joined before recv runs: another test uses this channel", source, group)
	}

	code := make(chan int, 1)
	go func() {
		code <- run([]string{"ssmrandom", "recv", "--trust", trust, "-o", filepath.Join(dir, "out"), "-g", group, "-p", port,
			"-i", "lo", "--stats-interval", "0", "--log-format", "json", source}, nil, &stderr, &stderr)
	}()
	next := func(want string) note {
		t.Helper()
		check := func(n note) note {
			t.Helper()
			if n.state != want {
				t.Fatalf("got notification %q, want %q; recv's log:\n%s", n.state, want, stderr.String())
			}
			return n
		}
		select {
		case n := <-notes:
			return check(n)
		case c := <-code:
			// A notification sent just before the exit may still be on
			// its way from the socket's reader.
			select {
			case n := <-notes:
				code <- c
				return check(n)
			case <-time.After(time.Second):
			}
			t.Fatalf("recv exited with status %d before notifying %q:\n%s", c, want, stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("no notification %q within 30 s; recv's log:\n%s", want, stderr.String())
		}
		return note{}
	}

	// Ready: only once the channel is joined.
	if n := next("READY=1"); !n.joined {
		t.Errorf("READY=1 came before (%s, %s) was joined and recv said it was receiving:\n%s", source, group, stderr.String())
	}
	// A key added to --trust: the watcher reloads it, as systemctl
	// reload (SIGHUP) would.
	if err := os.Rename(filepath.Join(dir, "b.pub.jwk"), filepath.Join(trust, "b.pub.jwk")); err != nil {
		t.Fatal(err)
	}
	next("RELOADING=1")
	next("READY=1")
	if !strings.Contains(stderr.String(), "trust reloaded: 2 keys") {
		t.Errorf("READY=1 after the reload, but recv logged no 'trust reloaded: 2 keys':\n%s", stderr.String())
	}
	// Stop: recv catches SIGTERM (this process's), says STOPPING=1 and
	// exits with status 0.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("recv: exit status %d after SIGTERM, want 0:\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("recv did not exit within 30 s of SIGTERM:\n%s", stderr.String())
	}
	select {
	case n := <-notes:
		t.Errorf("notification %q after STOPPING=1", n.state)
	default:
	}
}
