// Package watch calls a reload function when a file or folder on disk
// changes, and on demand ([Watcher.Trigger], for SIGHUP). It waits for
// changes to settle, but never longer than [MaxDelay], and it follows
// symbolic links the way a Kubernetes secret or config map volume swaps
// them (a `..data` link replaced atomically). It knows paths and
// fsnotify, not what the files hold, and never logs: problems with the
// watch itself are reported on [Watcher.Errors].
package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// Settle is how long the watched files must stay unchanged before a
	// reload: a copy shows up as several events, and loading halfway
	// through would only find a half-written file.
	Settle = 250 * time.Millisecond
	// MaxDelay bounds the wait for changes to settle: a reload starts at
	// most MaxDelay after the first change it follows, however often
	// something else keeps changing (an editor's swap file, a file
	// appended to in the same folder), so a removed key cannot be kept
	// trusted by a stream of unrelated events.
	MaxDelay = time.Second
)

// Changed is the why given to the reload function when a change on disk
// started the reload.
const Changed = "file change"

// errorBuffer is how many errors [Watcher.Errors] holds for a reader
// that is late; the watcher drops errors beyond it rather than wait.
const errorBuffer = 8

// Watcher watches one path, a folder or a file, and calls its reload
// function, one call at a time and never concurrently, in three cases:
//
//   - A file in the folder, or the file, is created, written, removed
//     or renamed (permission changes alone are ignored): once no such
//     event came for [Settle], and at most [MaxDelay] after the first.
//   - The path resolves to something else: the path, or a symbolic link
//     on the way to it in the folder that holds it, was replaced. After
//     each event the path is resolved again and the folders watched
//     follow: the folder that holds the path, and what the path resolves
//     to (a folder) or the folder that holds it (a file).
//   - [Watcher.Trigger] is called: at once, without settling.
//
// Make one with [New]; the zero value is not usable. Its methods are
// safe for concurrent use.
type Watcher struct {
	path   string // absolute
	reload func(why string)
	fs     *fsnotify.Watcher // nil if inotify could not start

	trigger chan string
	errs    chan error
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// Owned by the loop goroutine (and New, before it starts).
	parent  string          // the folder that holds path, resolved
	target  string          // what path resolves to, "" if it does not
	isDir   bool            // whether target is a folder
	watched map[string]bool // folders added to fs
	failed  map[string]bool // folders that could not be added, reported once
}

// New watches path and calls reload as [Watcher] describes, until
// [Watcher.Close]. The watch is in place when New returns. If it cannot
// be set up, in whole or in part (no inotify, its limits reached, a
// folder that cannot be read), the error is on [Watcher.Errors] and
// [Watcher.Trigger] still reloads. reload must not call Trigger or Close.
func New(path string, reload func(why string)) *Watcher {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	w := &Watcher{
		path:    abs,
		reload:  reload,
		trigger: make(chan string),
		errs:    make(chan error, errorBuffer),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		watched: map[string]bool{},
		failed:  map[string]bool{},
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.report(fmt.Errorf("watch: cannot watch %s for changes: %w", abs, err))
	} else {
		w.fs = fw
		w.resolve()
	}
	go w.loop()
	return w
}

// Errors returns the channel on which the watcher reports what keeps it
// from seeing changes: a folder it cannot watch, events the kernel lost
// (it reloads then, to be safe). It holds a few errors for a reader that
// is late and drops the rest; it is never closed.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Trigger asks for a reload now, with why passed to the reload function.
// It returns once that reload has started (so the reload reads the path
// as it is at the call or later), or at once if the watcher is closed.
func (w *Watcher) Trigger(why string) {
	select {
	case w.trigger <- why:
	case <-w.done:
	}
}

// Close stops the watch and waits for a reload in progress to end. No
// reload starts after Close returns. It returns nil; a second call does
// nothing.
func (w *Watcher) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// loop runs the reloads until Close.
func (w *Watcher) loop() {
	defer close(w.done)
	var events <-chan fsnotify.Event
	var fsErrs <-chan error
	if w.fs != nil {
		defer w.fs.Close()
		events, fsErrs = w.fs.Events, w.fs.Errors
	}
	var timer *time.Timer
	var fire <-chan time.Time
	var first time.Time // of the changes the pending reload follows
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// pending schedules a reload Settle from now, but no later than
	// MaxDelay after the first change since the last reload.
	pending := func() {
		now := time.Now()
		if fire == nil {
			first = now
		}
		d := min(Settle, first.Add(MaxDelay).Sub(now))
		if timer != nil {
			timer.Stop()
		}
		timer = time.NewTimer(max(d, 0))
		fire = timer.C
	}
	for {
		select {
		case <-w.stop:
			return
		case why := <-w.trigger:
			w.reload(why)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if w.relevant(ev) {
				pending()
			}
		case err, ok := <-fsErrs:
			if !ok {
				fsErrs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Changes were lost: look again, and reload to be safe.
				w.resolve()
				pending()
			}
			w.report(fmt.Errorf("watch: %s: %w", w.path, err))
		case <-fire:
			fire = nil
			w.reload(Changed)
		}
	}
}

// relevant reports whether ev calls for a reload: it touches the file or
// a file in the folder, or the path itself, or after it the path
// resolves to something else. It resolves the path again and moves the
// watches to follow.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	if ev.Has(fsnotify.Remove|fsnotify.Rename) && w.watched[ev.Name] {
		// A watched folder went away, and its watch with it: resolve
		// adds one again if the folder is back or moved.
		_ = w.fs.Remove(ev.Name)
		delete(w.watched, ev.Name)
	}
	hit := false
	if ev.Op != fsnotify.Chmod {
		switch {
		case w.target != "" && ev.Name == w.target:
			hit = true
		case w.target != "" && w.isDir && dir == w.target:
			hit = true
		case w.target != "" && !w.isDir && dir == filepath.Dir(w.target) && name == filepath.Base(w.target):
			hit = true
		case dir == w.parent && name == filepath.Base(w.path):
			hit = true
		}
	}
	if w.resolve() {
		hit = true
	}
	return hit
}

// resolve resolves the path again, watches the folders that now matter
// and no others, and reports whether the path resolves to something else
// than before.
func (w *Watcher) resolve() (changed bool) {
	parent := filepath.Dir(w.path)
	if p, err := filepath.EvalSymlinks(parent); err == nil {
		parent = p
	}
	target, isDir := "", false
	if t, err := filepath.EvalSymlinks(w.path); err == nil {
		if fi, err := os.Stat(t); err == nil {
			target, isDir = t, fi.IsDir()
		}
	}
	changed = target != w.target || isDir != w.isDir
	w.parent, w.target, w.isDir = parent, target, isDir

	want := map[string]bool{parent: true}
	switch {
	case target != "" && isDir:
		want[target] = true
	case target != "":
		want[filepath.Dir(target)] = true
	}
	if w.fs == nil {
		return changed
	}
	for d := range w.watched {
		if !want[d] {
			_ = w.fs.Remove(d) // fails if d is gone, and then its watch is too
			delete(w.watched, d)
		}
	}
	for d := range w.failed {
		if !want[d] {
			delete(w.failed, d)
		}
	}
	for d := range want {
		if w.watched[d] {
			continue
		}
		if err := w.fs.Add(d); err != nil {
			if !w.failed[d] {
				w.failed[d] = true
				w.report(fmt.Errorf("watch: cannot watch %s for changes: %w", d, err))
			}
			continue
		}
		delete(w.failed, d)
		w.watched[d] = true
	}
	return changed
}
