// Command testsummary runs a go test command with -json and prints its
// results the way go test without -v would (the output of failed tests,
// a line per package), plus the names of skipped tests with their reason,
// and ends with one line counting the tests:
//
//	412 passed, 0 failed, 3 skipped
//
// Subtests count as tests. A test that started but never finished (the
// test binary crashed or timed out) counts as failed, and so does a
// package that failed with no failed test (a build error, a panic in
// TestMain). The exit status is the go command's, or 1 if any test
// failed: never 0 when something failed.
//
// Usage (make test):
//
//	go run ./scripts/testsummary go test -json -race -timeout 10m ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testsummary GO-TEST-COMMAND... (with -json)")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	var s summary
	readErr := s.read(out, os.Stdout)
	waitErr := cmd.Wait()
	fmt.Println(s.line())
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit):
		code = exit.ExitCode()
		if code <= 0 { // killed by a signal
			code = 1
		}
	case waitErr != nil:
		fmt.Fprintln(os.Stderr, "testsummary:", waitErr)
		code = 1
	}
	if readErr != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", readErr)
	}
	if code == 0 && (s.failed > 0 || readErr != nil || s.packages == 0) {
		code = 1
	}
	os.Exit(code)
}

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Output     string
}

// summary counts the tests of one go test -json stream. Its zero value is
// ready to use.
type summary struct {
	passed, failed, skipped int
	packages                int // packages that finished (pass, fail or skip)

	output  map[string][]string // buffered output of running tests, by package and test
	running map[string]bool     // tests started and not yet finished
	pkgFail map[string]int      // failed tests per package
}

// read reads the events from r and writes the readable report to w.
func (s *summary) read(r io.Reader, w io.Writer) error {
	s.output = map[string][]string{}
	s.running = map[string]bool{}
	s.pkgFail = map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		s.handle(e, w)
	}
	return sc.Err()
}

func key(pkg, test string) string { return pkg + "\x00" + test }

func (s *summary) handle(e event, w io.Writer) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(w, e.Output)
		return
	case "build-fail":
		return // the package's own fail event follows
	}
	k := key(e.Package, e.Test)
	if e.Test == "" { // the package
		switch e.Action {
		case "output":
			if !strings.HasPrefix(e.Output, "PASS\n") && !strings.HasPrefix(e.Output, "FAIL\n") {
				fmt.Fprint(w, e.Output) // "ok  pkg 1.2s", "FAIL pkg", panics, "? pkg [no test files]"
			}
		case "pass", "fail", "skip":
			s.packages++
			s.endPackage(e.Package, e.Action == "fail", w)
		}
		return
	}
	switch e.Action {
	case "run":
		s.running[k] = true
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "pass":
		s.passed++
		s.end(k)
	case "skip":
		s.skipped++
		s.print(k, w)
		s.end(k)
	case "fail":
		s.failed++
		s.pkgFail[e.Package]++
		s.print(k, w)
		s.end(k)
	}
}

// print writes the buffered output of a test, without its === lines.
func (s *summary) print(k string, w io.Writer) {
	for _, l := range s.output[k] {
		if strings.HasPrefix(l, "=== ") {
			continue
		}
		fmt.Fprint(w, l)
	}
}

func (s *summary) end(k string) {
	delete(s.output, k)
	delete(s.running, k)
}

// endPackage counts the tests of pkg that never finished as failed, and a
// failed package with no failed test as one failure.
func (s *summary) endPackage(pkg string, failed bool, w io.Writer) {
	var left []string
	for k := range s.running {
		if strings.HasPrefix(k, pkg+"\x00") {
			left = append(left, k)
		}
	}
	sort.Strings(left)
	for _, k := range left {
		s.failed++
		s.pkgFail[pkg]++
		fmt.Fprintf(w, "--- FAIL: %s (did not finish)\n", strings.TrimPrefix(k, pkg+"\x00"))
		s.print(k, w)
		s.end(k)
	}
	if failed && s.pkgFail[pkg] == 0 {
		s.failed++
	}
}

// line is the last line of the report.
func (s *summary) line() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", s.passed, s.failed, s.skipped)
}
