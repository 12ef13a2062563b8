//go:build linux

// Package harness runs ssmrandom and its helpers as processes for the
// end-to-end tests (e2e) and benchmarks (bench/e2e): start one, in a
// network namespace or not, collect its output line by line, wait for a
// line or its exit with a bound, stop it, and read the JSON summary line
// send and recv log when they stop. Every wait is bounded; a process
// started here dies with its parent (SIGKILL as parent-death signal) and
// with the context it was started under.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lines collects what a process writes, line by line. Its zero value
// keeps every line; it is safe for concurrent use.
type Lines struct {
	// Max, if not 0, is how many lines are kept: the oldest go first.
	Max int

	mu      sync.Mutex
	partial []byte
	lines   []string
	at      []time.Time // when each line was complete
}

// Write adds the complete lines of b; a partial line waits for the rest.
func (l *Lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if l.Max > 0 && len(l.lines) >= l.Max {
			l.lines = slices.Delete(l.lines, 0, 1)
			l.at = slices.Delete(l.at, 0, 1)
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.at = append(l.at, time.Now())
		l.partial = l.partial[i+1:]
	}
}

// All returns a copy of the complete lines so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Len returns how many complete lines there are so far.
func (l *Lines) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// String returns the complete lines so far, each ended by a newline.
func (l *Lines) String() string {
	var b strings.Builder
	for _, line := range l.All() {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// Find returns the first line that contains substr.
func (l *Lines) Find(substr string) (string, bool) {
	line, _, ok := l.FindTime(substr)
	return line, ok
}

// FindTime returns the first line that contains substr, and when it was
// written.
func (l *Lines) FindTime(substr string) (string, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, line := range l.lines {
		if strings.Contains(line, substr) {
			return line, l.at[i], true
		}
	}
	return "", time.Time{}, false
}

// Build compiles the ssmrandom command of the module the current
// directory is in (./cmd/ssmrandom, with the go command on PATH) into the
// file bin, with the further go build flags. The error wraps
// [exec.ErrNotFound] if there is no go command.
func Build(ctx context.Context, bin string, flags ...string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("needs the go command to build ssmrandom: %w", err)
	}
	gomod, err := exec.CommandContext(ctx, goCmd, "env", "GOMOD").Output()
	root := string(bytes.TrimSpace(gomod))
	if err != nil || root == "" || root == os.DevNull {
		return fmt.Errorf("go env GOMOD: not inside the ssmrandom module (%v)", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	args := append(append([]string{"build", "-o", bin}, flags...), "./cmd/ssmrandom")
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = filepath.Dir(root)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, out)
	}
	return nil
}

// UDPCounters returns the counters of the Udp lines of /proc/net/snmp,
// given as snmp: InDatagrams, RcvbufErrors and so on.
func UDPCounters(snmp string) map[string]uint64 {
	var names, values []string
	for _, line := range strings.Split(snmp, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "Udp:" {
			if names == nil {
				names = f[1:]
			} else {
				values = f[1:]
			}
		}
	}
	m := make(map[string]uint64, len(names))
	for i, n := range names {
		if i < len(values) {
			if v, err := strconv.ParseUint(values[i], 10, 64); err == nil {
				m[n] = v
			}
		}
	}
	return m
}

// Options say how [Start] runs a process.
type Options struct {
	// Netns, if not "", is the network namespace to run in ("ip netns
	// exec", which execs the command in its place).
	Netns string
	// Dir is the working directory ("" for this process's).
	Dir string
	// Group puts the process in a process group of its own: signals and
	// the kill at the end reach the whole group.
	Group bool
	// Combined sends stderr to Stdout too, in the order written.
	Combined bool
	// Stdin makes a pipe for the process's standard input (Proc.Stdin);
	// without it the process reads from /dev/null.
	Stdin bool
	// MaxLines, if not 0, caps the lines kept of each output.
	MaxLines int
}

// Proc is a started process. Its fields are set by [Start]; the exit
// status is read with Err once Done is closed.
type Proc struct {
	Name           string
	Cmd            *exec.Cmd
	Stdin          io.WriteCloser // nil unless Options.Stdin
	Stdout, Stderr *Lines         // the same Lines with Options.Combined
	Started        time.Time

	group bool
	done  chan struct{}
	ended time.Time // set before done is closed
	err   error     // set before done is closed
}

// Start runs argv under ctx: cancelling ctx kills the process (its group,
// with Options.Group), and so does the death of this process.
func Start(ctx context.Context, name string, opt Options, argv ...string) (*Proc, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s: no command", name)
	}
	if opt.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", opt.Netns}, argv...)
	}
	p := &Proc{Name: name, group: opt.Group, done: make(chan struct{}),
		Stdout: &Lines{Max: opt.MaxLines}}
	p.Stderr = &Lines{Max: opt.MaxLines}
	if opt.Combined {
		p.Stderr = p.Stdout
	}
	p.Cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	p.Cmd.Dir = opt.Dir
	p.Cmd.Stdout, p.Cmd.Stderr = p.Stdout, p.Stderr
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: opt.Group, Pdeathsig: syscall.SIGKILL}
	p.Cmd.Cancel = func() error { return p.signal(syscall.SIGKILL) }
	p.Cmd.WaitDelay = 5 * time.Second
	if opt.Stdin {
		var err error
		if p.Stdin, err = p.Cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
	}
	p.Started = time.Now()
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		err := p.Cmd.Wait()
		p.ended, p.err = time.Now(), err
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited and its output is complete.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Err returns the exit status from Wait: nil for exit 0, and nil while
// the process runs.
func (p *Proc) Err() error {
	if p.Running() {
		return nil
	}
	return p.err
}

// Ended returns when the process exited; only once Done is closed.
func (p *Proc) Ended() time.Time {
	<-p.done
	return p.ended
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// signal sends sig to the process, or to its group; nothing once it has
// exited, so that never someone else's process gets it.
func (p *Proc) signal(sig syscall.Signal) error {
	if !p.Running() {
		return nil
	}
	if p.group {
		return syscall.Kill(-p.Cmd.Process.Pid, sig)
	}
	return p.Cmd.Process.Signal(sig)
}

// Signal sends sig to the process (its group, with Options.Group) if it
// is still running.
func (p *Proc) Signal(sig syscall.Signal) error { return p.signal(sig) }

// Kill kills the process (its group) if still running, and waits up to
// timeout for it to exit.
func (p *Proc) Kill(timeout time.Duration) error {
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d): still running %v after SIGKILL", p.Name, p.Pid(), timeout)
	}
}

// ErrTimeout is what the waits return when their time is up.
var ErrTimeout = errors.New("timed out")

// Wait waits up to timeout for the process to exit. It returns an error
// unless it exited 0; when the time is up it sends SIGTERM (send and recv
// then log their summary, which says why), kills it 3 seconds later if
// need be, and returns an error that wraps [ErrTimeout].
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			p.Kill(5 * time.Second)
		}
		return fmt.Errorf("%s: still running after %v; stopped: %w", p.Name, timeout, ErrTimeout)
	}
	return p.exitError()
}

// Stop sends sig and waits up to timeout for the process to exit; past
// that it kills it. It returns an error unless the process exited 0.
func (p *Proc) Stop(sig syscall.Signal, timeout time.Duration) error {
	p.signal(sig)
	select {
	case <-p.done:
		return p.exitError()
	case <-time.After(timeout):
		p.Kill(5 * time.Second)
		return fmt.Errorf("%s: did not exit within %v of %v: %w", p.Name, timeout, sig, ErrTimeout)
	}
}

// exitError describes an exit other than 0, once done.
func (p *Proc) exitError() error {
	if p.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.ExitCode() == 66 {
		return fmt.Errorf("%s: %w (the race detector found a data race; see its output)", p.Name, p.err)
	}
	return fmt.Errorf("%s: %w", p.Name, p.err)
}

// WaitLine waits up to timeout for a line of l (p's Stdout or Stderr)
// that contains substr, and returns it. It fails at once if the process
// exits without writing one.
func (p *Proc) WaitLine(l *Lines, substr string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if line, ok := l.Find(substr); ok {
			return line, nil
		}
		select {
		case <-p.done:
			// Its output is complete once Wait returned: look once more.
			if line, ok := l.Find(substr); ok {
				return line, nil
			}
			return "", fmt.Errorf("%s exited (%v) without writing %q", p.Name, p.err, substr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: no %q within %v: %w", p.Name, substr, timeout, ErrTimeout)
		}
	}
}

// Tail returns the last n lines of p's output, stdout then stderr, each
// prefixed with the process's name and the stream, with a note of how
// many were left out.
func (p *Proc) Tail(n int) []string {
	var out []string
	streams := []struct {
		name string
		l    *Lines
	}{{"stdout", p.Stdout}, {"stderr", p.Stderr}}
	if p.Stderr == p.Stdout {
		streams = streams[:1]
	}
	for _, s := range streams {
		lines := s.l.All()
		if len(lines) > n {
			out = append(out, fmt.Sprintf("%s %s: (%d lines omitted)", p.Name, s.name, len(lines)-n))
			lines = lines[len(lines)-n:]
		}
		for _, line := range lines {
			out = append(out, fmt.Sprintf("%s %s: %s", p.Name, s.name, line))
		}
	}
	return out
}

// Usage is an exited process's resource use.
type Usage struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // KiB (getrusage ru_maxrss)
	Life   time.Duration // start to exit, wall clock
}

// Usage returns the process's resource use; it waits for the exit.
func (p *Proc) Usage() Usage {
	<-p.done
	st := p.Cmd.ProcessState
	u := Usage{CPU: st.UserTime() + st.SystemTime(), Life: p.ended.Sub(p.Started)}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSS = ru.Maxrss
	}
	return u
}

// Summary is the final JSON log line of send ("sent ...") or recv
// ("stopped: ..."); the fields one of them does not log stay zero.
type Summary struct {
	Message    string            `json:"message"`
	Datagrams  uint64            `json:"datagrams"`
	Frames     uint64            `json:"frames"`
	Bytes      uint64            `json:"bytes"`
	Rejected   uint64            `json:"rejected"`
	Dropped    map[string]uint64 `json:"dropped"`
	Foreign    uint64            `json:"foreign_source"`
	SendErrors uint64            `json:"send_errors"`
	Producers  []Producer        `json:"producers"`
}

// Producer is one producer key's part of recv's summary.
type Producer struct {
	Kid       string  `json:"kid"`
	Trusted   bool    `json:"trusted"`
	Verified  uint64  `json:"verified"`
	Forwarded uint64  `json:"forwarded"`
	Bytes     uint64  `json:"bytes"`
	LastAge   float64 `json:"last_frame_age_s"`
}

// FindSummary returns the last of lines that is a JSON object whose
// "message" starts with prefix ("stopped: " for recv, "sent " for send).
func FindSummary(lines []string, prefix string) (Summary, error) {
	for i := len(lines) - 1; i >= 0; i-- {
		var s Summary
		if json.Unmarshal([]byte(lines[i]), &s) == nil && strings.HasPrefix(s.Message, prefix) {
			return s, nil
		}
	}
	return Summary{}, fmt.Errorf("no log line whose message starts with %q", prefix)
}

// Summary returns p's summary line (see [FindSummary]) from its stderr,
// waiting up to timeout for it.
func (p *Proc) Summary(prefix string, timeout time.Duration) (Summary, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := FindSummary(p.Stderr.All(), prefix)
		if err == nil {
			return s, nil
		}
		if !p.Running() {
			if s, err = FindSummary(p.Stderr.All(), prefix); err == nil {
				return s, nil
			}
		}
		if !p.Running() || time.Now().After(deadline) {
			return Summary{}, fmt.Errorf("%s: %w", p.Name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
