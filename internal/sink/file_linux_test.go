package sink_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nordunet/ssmrandom/internal/sink"
)

// fullDiskEnv names the directory the child of TestFileFullDisk mounts a
// small tmpfs on, in its own mount namespace.
const fullDiskEnv = "SSMRANDOM_SINK_TEST_FULL_DISK"

// TestFileFullDisk is issue 14's item 7: a file output on a full disk got
// part of a frame before recv exited, against docs/protocol.md §5's "not
// one of its bytes". It writes frames of 1000 bytes to a file on a tmpfs
// of 16 KiB: 16 fit, the 17th fits in part (384 bytes), and must leave
// the file as it was, 16 whole frames. The tmpfs is mounted by a child
// process of the test in a mount namespace of its own (as root), so
// nothing is mounted on the host, and it goes with the child.
func TestFileFullDisk(t *testing.T) {
	if dir := os.Getenv(fullDiskEnv); dir != "" {
		fullDisk(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		cannotRun(t, "mounting a small tmpfs in a private mount namespace needs root")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileFullDisk$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), fullDiskEnv+"="+dir)
	// os/exec makes the new namespace's mounts private before the exec, so
	// the tmpfs never appears outside it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child in its own mount namespace: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestFileFullDisk")) {
		t.Fatalf("child did not run the test:\n%s", out)
	}
}

// fullDisk is TestFileFullDisk in the child: it mounts a tmpfs of 16 KiB
// on dir and fills it with frames through a file sink.
func fullDisk(t *testing.T, dir string) {
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16k,mode=0700"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	defer unix.Unmount(dir, 0)
	path := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const frame = 1000
	var want []byte
	for i := range 100 { // the disk is full long before 100 frames
		p := stream(i*frame, frame)
		n, err := s.Write(p)
		if err == nil {
			if n != frame {
				t.Fatalf("frame %d: Write: got %d, nil; want %d, nil", i, n, frame)
			}
			want = append(want, p...)
			continue
		}
		if n != 0 || !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("frame %d: Write: got %d, %v; want 0 and ENOSPC", i, n, err)
		}
		break
	}
	if len(want) != 16*frame {
		t.Fatalf("wrote %d whole frames before the disk was full, want 16 (the 17th in part)", len(want)/frame)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want the %d of the whole frames written (%d left of a partial one)", len(got), len(want), len(got)-len(want))
	}
	// Room for a smaller frame: written whole, right after the others.
	p := stream(0, 300)
	if n, err := s.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write(300 bytes) after the failure: got %d, %v; want 300, nil", n, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, append(want, p...)) {
		t.Errorf("after a frame that fits: file holds %d bytes, want %d", len(got), len(want)+len(p))
	}
}
