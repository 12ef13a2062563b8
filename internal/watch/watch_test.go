package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/watch"
)

// wait is the generous bound on anything the tests wait for; the
// watcher's own bound is watch.MaxDelay.
const wait = 10 * time.Second

// reloads returns a reload function that reads path (a file, or every
// file in a folder, sorted by name, "name=content" joined by ",") and
// sends what it found on the channel, "gone" if path does not resolve.
func reloads(path string) (func(string), <-chan string) {
	c := make(chan string, 1000)
	return func(why string) {
		c <- why + ":" + read(path)
	}, c
}

func read(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "gone"
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return "gone"
		}
		return string(b)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "gone"
	}
	var parts []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			continue
		}
		parts = append(parts, e.Name()+"="+string(b))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// await waits up to wait for a reload that found want, and fails the
// test if none came.
func await(t *testing.T, c <-chan string, want string) {
	t.Helper()
	deadline := time.After(wait)
	var got []string
	for {
		select {
		case s := <-c:
			if s == want {
				return
			}
			got = append(got, s)
		case <-deadline:
			t.Fatalf("no reload within %v: got %q, want %q", wait, got, want)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFolder: a file added, changed or removed in the folder reloads it,
// a file renamed into it too; a permission change alone does not.
func TestFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "1")
	reload, c := reloads(dir)
	w := watch.New(dir, reload)
	defer w.Close()

	write(t, filepath.Join(dir, "b"), "2")
	await(t, c, "file change:a=1,b=2")
	if err := os.Remove(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:b=2")
	tmp := filepath.Join(t.TempDir(), "c")
	write(t, tmp, "3")
	if err := os.Rename(tmp, filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:b=2,c=3")
}

// TestFile: a single file written in place or replaced by a rename (as
// editors save) reloads it.
func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	write(t, path, "1")
	reload, c := reloads(path)
	w := watch.New(path, reload)
	defer w.Close()

	write(t, path, "2")
	await(t, c, "file change:2")
	write(t, filepath.Join(dir, "other"), "x")
	write(t, filepath.Join(dir, "keys.json.tmp"), "3")
	if err := os.Rename(filepath.Join(dir, "keys.json.tmp"), path); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:3")
}

// TestBoundedDelay (issue 14 item 4): a file removed while another file
// in the folder is written every 50 ms, for longer than the test waits,
// is reloaded within MaxDelay, not once the writes stop. Before, every
// event restarted the settle timer and the reload never came.
func TestBoundedDelay(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "1")
	write(t, filepath.Join(dir, "b"), "2")
	noise := filepath.Join(dir, ".b.swp")
	reload, c := reloads(dir)
	w := watch.New(dir, reload)
	defer w.Close()

	stop := make(chan struct{})
	done := make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		f, err := os.OpenFile(noise, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < int(2*wait/(50*time.Millisecond)); i++ { // outlasts await
			select {
			case <-stop:
				return
			case <-tick.C:
				fmt.Fprintln(f, i)
			}
		}
	}()
	time.Sleep(3 * watch.Settle) // the writes are going on
	if err := os.Remove(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:b=2")
}

// swap replaces the files of a Kubernetes-style volume at dir the way
// the kubelet's atomic writer does: the files go into a new timestamped
// folder, a "..data_tmp" link to it is renamed over "..data", the
// visible links "NAME -> ..data/NAME" are added for new top-level names
// and removed for names that are gone, and the old folder is removed.
func swap(t *testing.T, dir string, gen int, files map[string]string) {
	t.Helper()
	ts := fmt.Sprintf("..2026_12_03_00_00_%02d.000000001", gen)
	top := map[string]bool{}
	for name, content := range files {
		p := filepath.Join(dir, ts, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, p, content)
		top[strings.Split(name, "/")[0]] = true
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKubernetesFile (issue 14 item 5): a single file in a Kubernetes
// volume, a link through "..data" to the timestamped folder, is reloaded
// each time the volume is updated. Before, only events naming the file
// counted, and the swap renames "..data", so no reload came.
func TestKubernetesFile(t *testing.T) {
	dir := t.TempDir()
	swap(t, dir, 1, map[string]string{"keys.json": "a,b"})
	path := filepath.Join(dir, "keys.json")
	reload, c := reloads(path)
	w := watch.New(path, reload)
	defer w.Close()

	swap(t, dir, 2, map[string]string{"keys.json": "b"})
	await(t, c, "file change:b")
	swap(t, dir, 3, map[string]string{"keys.json": "b,c"})
	await(t, c, "file change:b,c")
}

// TestKubernetesFolder (issue 14 item 5): a folder in a Kubernetes
// volume ("trust -> ..data/trust") is reloaded each time the volume is
// updated, and so is the volume's top folder, whose files are links.
// Before, the watch stayed on the first timestamped folder, which the
// first update removes, and later updates were never seen.
func TestKubernetesFolder(t *testing.T) {
	t.Run("sub-folder", func(t *testing.T) {
		dir := t.TempDir()
		swap(t, dir, 1, map[string]string{"trust/a": "1", "trust/b": "2"})
		path := filepath.Join(dir, "trust")
		reload, c := reloads(path)
		w := watch.New(path, reload)
		defer w.Close()

		swap(t, dir, 2, map[string]string{"trust/b": "2"})
		await(t, c, "file change:b=2")
		swap(t, dir, 3, map[string]string{"trust/b": "2", "trust/c": "3"})
		await(t, c, "file change:b=2,c=3")
		swap(t, dir, 4, map[string]string{"trust/c": "3"})
		await(t, c, "file change:c=3")
	})
	t.Run("volume", func(t *testing.T) {
		dir := t.TempDir()
		swap(t, dir, 1, map[string]string{"a": "1", "b": "2"})
		reload, c := reloads(dir)
		w := watch.New(dir, reload)
		defer w.Close()

		swap(t, dir, 2, map[string]string{"b": "2"})
		await(t, c, "file change:b=2")
		swap(t, dir, 3, map[string]string{"b": "4"})
		await(t, c, "file change:b=4")
	})
}

// TestGone: a folder removed reloads (and the reload finds it gone); put
// back, it is watched and reloaded again.
func TestGone(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "trust")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a"), "1")
	reload, c := reloads(dir)
	w := watch.New(dir, reload)
	defer w.Close()

	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:gone")
	if err := os.Rename(dir+".old", dir); err != nil {
		t.Fatal(err)
	}
	await(t, c, "file change:a=1")
	write(t, filepath.Join(dir, "b"), "2")
	await(t, c, "file change:a=1,b=2")
}

// TestTrigger: Trigger reloads at once with its why, even when the path
// cannot be watched; after Close it does nothing and no reload comes.
func TestTrigger(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "1")
	reload, c := reloads(dir)
	w := watch.New(dir, reload)
	w.Trigger("SIGHUP")
	await(t, c, "SIGHUP:a=1")
	if err := w.Close(); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
	w.Trigger("SIGHUP")
	write(t, filepath.Join(dir, "b"), "2")
	time.Sleep(2 * watch.MaxDelay)
	select {
	case s := <-c:
		t.Errorf("after Close: got a reload that read %q, want none", s)
	default:
	}
	w.Close()

	// A path whose folder does not exist: the error is reported, and
	// Trigger still reloads.
	missing := filepath.Join(dir, "no", "such", "folder")
	reload, c = reloads(missing)
	w = watch.New(missing, reload)
	defer w.Close()
	select {
	case err := <-w.Errors():
		if !strings.Contains(err.Error(), "cannot watch") {
			t.Errorf("got error %q, want one saying it cannot watch", err)
		}
	case <-time.After(wait):
		t.Errorf("no error within %v for a folder that does not exist", wait)
	}
	w.Trigger("SIGHUP")
	await(t, c, "SIGHUP:gone")
}
