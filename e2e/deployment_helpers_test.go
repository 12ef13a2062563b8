//go:build linux

package e2e

// The machinery of TestDeploymentWalkthrough: reading the walk-through out
// of docs/deployment.md, running its commands on the hosts of a test
// network (netns_helpers_test.go), and matching their output against what
// the document shows.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// The walk-through is the part of the document between these two lines.
const (
	walkBegin = "<!-- walkthrough: begin -->"
	walkEnd   = "<!-- walkthrough: end -->"
)

// walkPaths are the folders the walk-through's commands name. Each host
// gets a folder of its own, root, standing in for /, and every occurrence
// of these in a command becomes root + path; in the output, root + path
// becomes path again. So the hosts share no files, as two machines would
// not, and the host's real /etc is never touched.
var walkPaths = []string{"/etc/ssmrandom", "/var/lib/ssmrandom", "/run/ssmrandom"}

// walkStep is one command of the walk-through and the output the
// document shows under it.
type walkStep struct {
	line int    // line number in the document
	host string // the prompt's host name
	cmd  string // the command, without the prompt
	want []string
}

func (s walkStep) String() string {
	return fmt.Sprintf("deployment.md:%d: %s# %s", s.line, s.host, s.cmd)
}

// parseWalkthrough returns the commands of the walk-through in doc: every
// line of a ```console block between walkBegin and walkEnd that starts
// with a prompt "HOST# " for one of hosts, with the lines below it up to
// the next prompt or the end of the block as its output.
func parseWalkthrough(doc string, hosts []string) ([]walkStep, error) {
	lines := strings.Split(doc, "\n")
	var steps []walkStep
	in, fenced, began := false, false, false
	for i, line := range lines {
		n := i + 1
		switch {
		case strings.TrimSpace(line) == walkBegin:
			if began {
				return nil, fmt.Errorf("deployment.md:%d: a second %s", n, walkBegin)
			}
			in, began = true, true
			continue
		case strings.TrimSpace(line) == walkEnd:
			if !in || fenced {
				return nil, fmt.Errorf("deployment.md:%d: %s outside the walk-through or inside a block", n, walkEnd)
			}
			in = false
			continue
		case !in:
			continue
		case fenced && strings.HasPrefix(line, "```"):
			fenced = false
			continue
		case !fenced && line == "```console":
			fenced = true
			if i+1 < len(lines) && !hasPrompt(lines[i+1], hosts) {
				return nil, fmt.Errorf("deployment.md:%d: a console block that does not start with a prompt", n+1)
			}
			continue
		case !fenced:
			continue
		}
		if host, cmd, ok := cutPrompt(line, hosts); ok {
			steps = append(steps, walkStep{line: n, host: host, cmd: cmd})
			continue
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
	}
	switch {
	case !began:
		return nil, fmt.Errorf("deployment.md: no line %s", walkBegin)
	case in || fenced:
		return nil, fmt.Errorf("deployment.md: the walk-through or a block in it does not end")
	case len(steps) == 0:
		return nil, fmt.Errorf("deployment.md: no commands in the walk-through")
	}
	return steps, nil
}

// cutPrompt splits a line "HOST# COMMAND" for one of hosts.
func cutPrompt(line string, hosts []string) (host, cmd string, ok bool) {
	for _, h := range hosts {
		if cmd, ok := strings.CutPrefix(line, h+"# "); ok {
			return h, strings.TrimSpace(cmd), true
		}
	}
	return "", "", false
}

func hasPrompt(line string, hosts []string) bool {
	_, _, ok := cutPrompt(line, hosts)
	return ok
}

// kidPattern is what <kid> in an expected line matches: a key id, the
// 43 base64url characters of an RFC 7638 thumbprint.
const kidPattern = `([A-Za-z0-9_-]{43})`

// matchLine reports whether got matches the expected line want, given the
// key id bound so far (kid, "" for none), and returns the binding after
// it. Runs of white space compare equal to one space, and white space at
// either end is ignored; "..." matches any text, and "<kid>" a key id,
// the same one everywhere.
func matchLine(want, got, kid string) (string, bool) {
	want, got = strings.Join(strings.Fields(want), " "), strings.Join(strings.Fields(got), " ")
	var re strings.Builder
	re.WriteString("^")
	for rest := want; rest != ""; {
		i, j := strings.Index(rest, "..."), strings.Index(rest, "<kid>")
		switch {
		case i < 0 && j < 0:
			re.WriteString(regexp.QuoteMeta(rest))
			rest = ""
		case j < 0 || (i >= 0 && i < j):
			re.WriteString(regexp.QuoteMeta(rest[:i]) + ".*")
			rest = rest[i+3:]
		default:
			re.WriteString(regexp.QuoteMeta(rest[:j]) + kidPattern)
			rest = rest[j+5:]
		}
	}
	re.WriteString("$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(got)
	if m == nil {
		return kid, false
	}
	for _, k := range m[1:] {
		if kid != "" && k != kid {
			return kid, false
		}
		kid = k
	}
	return kid, true
}

// matchLines reports whether got matches want line for line (see
// matchLine), where a line of want that is only "..." matches any number
// of lines, and returns the key id binding after it.
func matchLines(want, got []string, kid string) (string, bool) {
	if len(want) == 0 {
		return kid, len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for i := 0; i <= len(got); i++ {
			if k, ok := matchLines(want[1:], got[i:], kid); ok {
				return k, true
			}
		}
		return kid, false
	}
	if len(got) == 0 {
		return kid, false
	}
	k, ok := matchLine(want[0], got[0], kid)
	if !ok {
		return kid, false
	}
	return matchLines(want[1:], got[1:], k)
}

// walk runs a walk-through's commands on the hosts of a test network.
type walk struct {
	ctx   context.Context
	net   *testNet
	path  string            // PATH for the commands: the folder of the ssmrandom under test first
	roots map[string]string // host → the folder standing in for its /
	addrs map[string]string // address → host, for scp
	jobs  map[string][]*walkJob
	kid   string // what <kid> stands for, once bound
}

// walkJob is a command started in the background ("... &").
type walkJob struct {
	step walkStep
	p    *harness.Proc
	seen int // lines of its output already matched
}

// newWalk prepares a walk-through on n with the ssmrandom command bin.
// addrs maps each address of a host (as the document names it) to the
// host.
func newWalk(t *testing.T, ctx context.Context, n *testNet, bin string, addrs map[string]string) *walk {
	t.Helper()
	w := &walk{ctx: ctx, net: n, path: filepath.Dir(bin) + ":" + os.Getenv("PATH"),
		roots: map[string]string{}, addrs: addrs, jobs: map[string][]*walkJob{}}
	dir := t.TempDir()
	for role := range n.hosts {
		w.roots[role] = filepath.Join(dir, role)
		if err := os.Mkdir(w.roots[role], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// onHost rewrites the walk-through's paths in s to those of host.
func (w *walk) onHost(host, s string) string {
	for _, p := range walkPaths {
		s = strings.ReplaceAll(s, p, w.roots[host]+p)
	}
	return s
}

// ansi matches the colour codes of the console log format.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// output returns the lines of p's output as the document shows them:
// without colour codes, and with the host's paths as the document names
// them.
func (w *walk) output(host string, p *harness.Proc) []string {
	lines := p.Stdout.All()
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(ansi.ReplaceAllString(l, ""), w.roots[host]+"/", "/")
	}
	return lines
}

// check fails t unless got matches want (see matchLines), for step s.
func (w *walk) check(t *testing.T, s walkStep, what string, want, got []string) {
	t.Helper()
	kid, ok := matchLines(want, got, w.kid)
	if !ok {
		t.Fatalf("%s: %s does not match the document\n--- the document shows:\n%s\n--- got:\n%s",
			s, what, strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	w.kid = kid
}

// run runs one step: a command on its host, waiting for it to end and
// checking its output, or in the background if it ends in " &", checking
// the first lines of its output once they come. Two commands are not run
// but done by the walk: "wait" waits for the host's background commands
// and checks the rest of their output, and "scp" copies a file from one
// host's folders to another's, as scp would over the network.
func (w *walk) run(t *testing.T, s walkStep) {
	t.Helper()
	cmd, background := strings.CutSuffix(s.cmd, " &")
	// No shell runs the commands: they must not need one.
	if i := strings.IndexAny(cmd, "|<>;&$`'\"*?(){}\\"); i >= 0 {
		t.Fatalf("%s: %q needs a shell; the walk-through runs each command without one", s, cmd[i])
	}
	words := strings.Fields(cmd)
	if len(words) == 0 {
		t.Fatalf("%s: a prompt without a command", s)
	}
	switch words[0] {
	case "wait":
		w.wait(t, s, words[1:])
		return
	case "scp":
		w.scp(t, s, words[1:])
		return
	}
	argv := strings.Fields(w.onHost(s.host, cmd))
	ns := w.net.hosts[s.host].ns
	// sh only joins stderr to stdout, in the order the command writes
	// them, as a terminal shows them, and execs the command in its place.
	p := startProc(t, w.ctx, ns, s.String(), append([]string{"env", "PATH=" + w.path, "sh", "-c", `exec "$@" 2>&1`, "sh"}, argv...)...)
	p.Stdin.Close()
	if background {
		for _, l := range s.want {
			if strings.TrimSpace(l) == "..." {
				t.Fatalf("%s: under a command run in the background, every line stands for one line of output; no line of just ...", s)
			}
		}
		w.jobs[s.host] = append(w.jobs[s.host], &walkJob{step: s, p: p, seen: len(s.want)})
		w.waitLines(t, s, p, len(s.want), 10*time.Second)
		got := w.output(s.host, p)
		w.check(t, s, "the first lines of its output", s.want, got[:min(len(got), len(s.want))])
		return
	}
	waitExit(t, p, 20*time.Second)
	w.check(t, s, "its output", s.want, w.output(s.host, p))
}

// waitLines waits up to timeout for n lines of p's output, or for p to end.
func (w *walk) waitLines(t *testing.T, s walkStep, p *harness.Proc, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for p.Stdout.Len() < n {
		select {
		case <-p.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d lines of output within %v, want %d:\n%s", s, p.Stdout.Len(), timeout, n, strings.Join(w.output(s.host, p), "\n"))
		}
	}
}

// wait waits for the background commands of the step's host, in the
// order they were started, and checks the rest of their output, one
// after another, against the lines under "wait".
func (w *walk) wait(t *testing.T, s walkStep, args []string) {
	t.Helper()
	if len(args) != 0 {
		t.Fatalf("%s: the walk-through's wait takes no arguments", s)
	}
	jobs := w.jobs[s.host]
	if len(jobs) == 0 {
		t.Fatalf("%s: nothing runs in the background on %s", s, s.host)
	}
	var got []string
	for _, j := range jobs {
		waitExit(t, j.p, 20*time.Second)
		got = append(got, w.output(s.host, j.p)[j.seen:]...)
	}
	w.jobs[s.host] = nil
	w.check(t, s, "the rest of the output of "+jobs[0].step.cmd, s.want, got)
}

// scp copies HOST:PATH to PATH on the step's host, or PATH there to
// HOST:PATH, where HOST is an IPv4 address of a host of the network. A
// destination ending in / is a folder.
func (w *walk) scp(t *testing.T, s walkStep, args []string) {
	t.Helper()
	if len(args) != 2 {
		t.Fatalf("%s: the walk-through's scp takes SOURCE and DESTINATION", s)
	}
	// remote returns the path of HOST:PATH in its host's folder, or
	// reports that arg is local.
	remote := func(arg string) (string, bool) {
		addr, path, ok := strings.Cut(arg, ":")
		if !ok || strings.HasPrefix(arg, "/") {
			return "", false
		}
		host, known := w.addrs[addr]
		if !known {
			t.Fatalf("%s: %s is no host of the walk-through", s, addr)
		}
		return w.onHost(host, path), true
	}
	src, srcRemote := remote(args[0])
	dst, dstRemote := remote(args[1])
	switch {
	case srcRemote == dstRemote:
		t.Fatalf("%s: scp copies between this host and another", s)
	case !srcRemote:
		src = w.onHost(s.host, args[0])
	case !dstRemote:
		dst = w.onHost(s.host, args[1])
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	if strings.HasSuffix(dst, "/") {
		dst += filepath.Base(src)
	}
	// A copy of a public key: scp keeps the mode, 0644 here.
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	if len(s.want) != 0 {
		t.Fatalf("%s: the document shows output; the walk-through's scp prints none", s)
	}
}

// finish fails t if a background command was never waited for.
func (w *walk) finish(t *testing.T) {
	t.Helper()
	for host, jobs := range w.jobs {
		for _, j := range jobs {
			t.Errorf("%s: still running at the end of the walk-through; add %s# wait", j.step, host)
		}
	}
}

// addIPv6 gives each host of n its IPv6 address (host → address) on eth0,
// a /64 usable at once, and waits until the host can receive IPv6
// multicast (see net6).
func addIPv6(t *testing.T, n *testNet, addrs map[string]string) {
	t.Helper()
	for role, addr := range addrs {
		ns := n.hosts[role].ns
		harness.IP(t, "-n", ns, "addr", "add", addr+"/64", "dev", "eth0", "nodad")
		net6.ready(t, role, ns, addr)
	}
}
