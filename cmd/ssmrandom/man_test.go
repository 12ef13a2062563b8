package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// manPage returns the output of ssmrandom man.
func manPage(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"ssmrandom", "man"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("ssmrandom man: exit status %d: %s", code, stderr.String())
	}
	return stdout.String()
}

func TestManSections(t *testing.T) {
	page := manPage(t)
	var got []string
	for _, l := range strings.Split(page, "\n") {
		if s, ok := strings.CutPrefix(l, ".SH "); ok {
			got = append(got, s)
		}
	}
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "SIGNALS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"}
	if !slices.Equal(got, want) {
		t.Errorf("got sections %q, want %q", got, want)
	}
	if strings.Contains(page, `=""`) || strings.Contains(page, `="`) {
		t.Errorf("the page has flag values in quotes (=\"...\"):\n%s", page)
	}
	app := newApp(nil, nil, nil)
	app.Setup()
	for _, c := range app.VisibleCommands() {
		if c.Name == "help" {
			continue
		}
		if !strings.Contains(page, ".SS ssmrandom "+c.Name+" ") && !strings.HasSuffix(page, ".SS ssmrandom "+c.Name+"\n") {
			t.Errorf("no .SS for command %s", c.Name)
		}
		for _, f := range c.VisibleFlags() {
			for _, n := range f.Names() {
				dashes := `\-\-`
				if len(n) == 1 {
					dashes = `\-`
				}
				if name := `\fB` + dashes + strings.ReplaceAll(n, "-", `\-`) + `\fR`; !strings.Contains(page, name) {
					t.Errorf("command %s: flag %s not on the page", c.Name, name)
				}
			}
		}
	}
}

// TestManExamples checks that each example command line of the page uses
// a command that exists and only flags that command has.
func TestManExamples(t *testing.T) {
	app := newApp(nil, nil, nil)
	app.Setup()
	n := 0
	for _, s := range manSections {
		for _, l := range strings.Split(s.Body, "\n") {
			line, ok := strings.CutPrefix(l, "$ ")
			if !ok || strings.HasPrefix(line, "source ") {
				continue
			}
			n++
			words := strings.Fields(line)
			if len(words) < 2 || words[0] != "ssmrandom" {
				t.Errorf("example %q: want ssmrandom COMMAND ...", line)
				continue
			}
			c := app.Command(words[1])
			if c == nil {
				t.Errorf("example %q: no command %s", line, words[1])
				continue
			}
			for _, w := range words[2:] {
				name := strings.TrimLeft(w, "-")
				if name == w {
					continue
				}
				found := false
				for _, f := range c.Flags {
					found = found || slices.Contains(f.Names(), name)
				}
				if !found {
					t.Errorf("example %q: %s has no flag %s", line, c.Name, w)
				}
			}
		}
	}
	if n < 4 {
		t.Errorf("got %d example command lines, want at least 4", n)
	}
}

// TestManDocs checks that the docs the page and --help name are the files
// of docs/, all of them, and that the Debian package installs each
// (make deb-check's exact list of the package's contents names them).
func TestManDocs(t *testing.T) {
	page := manPage(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	var docs []string
	for _, f := range files {
		docs = append(docs, filepath.Base(f))
	}
	var listed []string
	for _, d := range manDocs {
		listed = append(listed, d.File)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, docs) {
		t.Errorf("SEE ALSO lists docs %q, docs/ has %q", listed, docs)
	}
	for _, m := range regexp.MustCompile(`docs/([a-z0-9-]+)\.md`).FindAllStringSubmatch(page, -1) {
		if !slices.Contains(docs, m[1]+".md") {
			t.Errorf("the page names %s, which is not in docs/", m[0])
		}
	}
	checkDeb, err := os.ReadFile(filepath.Join("..", "..", "scripts", "check-deb.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if !bytes.Contains(checkDeb, []byte(" ./usr/share/doc/ssmrandom/"+d+"\n")) {
			t.Errorf("scripts/check-deb.sh does not expect /usr/share/doc/ssmrandom/%s in the package", d)
		}
	}
}

// TestManRenders renders the page with man-db, as make deb-check does:
// no warning allowed.
func TestManRenders(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skipf("man not found (Debian package man-db): %v", err)
	}
	f := filepath.Join(t.TempDir(), "ssmrandom.8")
	if err := os.WriteFile(f, []byte(manPage(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings", "-l", f)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("man --warnings -l: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"EXIT STATUS", "SIGNALS", "FILES", "EXAMPLES", "SEE ALSO", "--trust PATH", "ssmrandom recv [options] PRODUCER..."} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}
