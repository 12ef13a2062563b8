// Package manual renders the manual page of a urfave/cli application in
// roff (man(7)): its description, options and commands from the app's own
// help text, so that the page cannot drift from --help, then the
// sections that are in no --help, and SEE ALSO. It writes to the writer
// it is given and does nothing else.
package manual

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Section is a part of the page that is in no --help: a title and its
// body, in a light markup: ":: TERM" starts a tagged paragraph whose text
// follows (more ":: TERM" lines right after it add terms), ".." starts a
// new plain paragraph, "$ COMMAND" is an example command line; other
// lines are text.
type Section struct{ Title, Body string }

// Doc is a file of docs/ that SEE ALSO names, and what it holds.
type Doc struct{ File, What string }

// Page is what the manual page holds besides the app's help text.
type Page struct {
	Sections []Section
	// SeeAlso are other manual pages, as "rngd(8)", and DocsNote the
	// text that introduces Docs, where they are installed.
	SeeAlso  []string
	DocsNote string
	Docs     []Doc
}

// Write writes the manual page of app, in section 8, in roff: the
// description, options and commands from the app's own help text, then
// the page's sections and SEE ALSO.
func Write(w io.Writer, app *cli.App, page Page) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 8 \"\" \"%s %s\" \"System Administration\"\n", strings.ToUpper(app.Name), app.Name, roffEscape(app.Version))
	b.WriteString(".nh\n") // no hyphenation: flags and paths stay whole
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", app.Name, roffEscape(app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n.I command\n.RI [ options ]\n.RI [ arguments ]\n.br\n", app.Name)
	fmt.Fprintf(&b, ".B %s\n.RB [ \\-\\-help | \\-\\-version ]\n", app.Name)
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(roffParagraphs(app.Description))
	b.WriteString(".SH OPTIONS\n")
	writeManFlags(&b, app.VisibleFlags(), true)
	b.WriteString(".SH COMMANDS\n")
	b.WriteString("Every command also takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n")
	for _, c := range app.VisibleCommands() {
		if c.Name != "help" {
			writeCommand(&b, app.Name, c)
		}
	}
	for _, s := range page.Sections {
		fmt.Fprintf(&b, ".SH %s\n", s.Title)
		b.WriteString(roffBody(s.Body))
	}
	b.WriteString(".SH SEE ALSO\n")
	for i, ref := range page.SeeAlso {
		name, section, _ := strings.Cut(strings.TrimSuffix(ref, ")"), "(")
		sep := ","
		if i == len(page.SeeAlso)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, ".BR %s (%s)%s\n", name, section, sep)
	}
	b.WriteString(".PP\n")
	b.WriteString(roffEscape(page.DocsNote) + "\n")
	for _, d := range page.Docs {
		fmt.Fprintf(&b, ".TP\n.I docs/%s\n%s.\n", roffEscape(d.File), roffEscape(upperFirst(d.What)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCommand writes a command's subsection: its synopsis, usage,
// description and flags.
func writeCommand(b *strings.Builder, app string, c *cli.Command) {
	synopsis := app + " " + c.Name
	if len(c.VisibleFlags()) > 0 {
		synopsis += " [options]"
	}
	if c.ArgsUsage != "" {
		synopsis += " " + c.ArgsUsage
	}
	fmt.Fprintf(b, ".SS %s\n", roffEscape(synopsis))
	b.WriteString(roffParagraphs(upperFirst(c.Usage) + "."))
	if c.Description != "" {
		b.WriteString(".PP\n")
		b.WriteString(roffParagraphs(c.Description))
	}
	writeManFlags(b, c.VisibleFlags(), false)
}

// writeManFlags writes one tagged paragraph per flag: its names, short
// ones first, the placeholder of its value, its usage and its default.
// -h/--help is left out unless withHelp.
func writeManFlags(b *strings.Builder, flags []cli.Flag, withHelp bool) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		names := f.Names()
		if !ok || (!withHelp && slices.Contains(names, "help")) {
			continue
		}
		placeholder, usage := unquoteUsage(df.GetUsage())
		if placeholder == "" && df.TakesValue() {
			placeholder = "VALUE"
		}
		slices.SortStableFunc(names, func(x, y string) int { return len(x) - len(y) })
		var tag []string
		for _, n := range names {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			tag = append(tag, "\\fB"+dash+roffEscape(n)+"\\fR")
		}
		line := strings.Join(tag, ", ")
		if df.TakesValue() {
			line += " \\fI" + roffEscape(placeholder) + "\\fR"
		}
		text := roffEscape(usage)
		if placeholder != "" {
			text = strings.Replace(text, roffEscape(placeholder), "\\fI"+roffEscape(placeholder)+"\\fR", 1)
		}
		if df.TakesValue() {
			def := df.GetDefaultText()
			if def == "" {
				def = df.GetValue()
			}
			if def != "" && def != `""` {
				text += " (default: " + roffEscape(strings.Trim(def, `"`)) + ")"
			}
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", line, roffLines(text))
	}
}

// unquoteUsage returns the placeholder a usage text names in back quotes
// (as urfave/cli's help does) and the text without them.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	return usage[i+1 : i+1+j], usage[:i] + usage[i+1:i+1+j] + usage[i+1+j+1:]
}

// roffEscape makes text safe inside a roff text line: backslashes and
// hyphens escaped (\- is what man(7) pages use in options, so that they
// can be searched for and copied).
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLines makes escaped text into text lines: none may start with a
// control character (. or ').
func roffLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " ")
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// roffParagraphs turns help text (lines broken for a terminal, paragraphs
// apart by a blank line) into filled roff paragraphs.
func roffParagraphs(s string) string {
	var out []string
	for _, p := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s), -1) {
		out = append(out, roffLines(roffEscape(p)))
	}
	return strings.Join(out, "\n.PP\n") + "\n"
}

// roffBody renders the markup of a [Section]'s body.
func roffBody(s string) string {
	var b strings.Builder
	inExample, inTerms := false, false
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		term, isTerm := strings.CutPrefix(l, ":: ")
		if isTerm {
			macro := ".TP"
			if inTerms {
				macro = ".TQ"
			}
			fmt.Fprintf(&b, "%s\n.B %s\n", macro, roffEscape(term))
			inTerms = true
			continue
		}
		inTerms = false
		if cmd, ok := strings.CutPrefix(l, "$ "); ok {
			if !inExample {
				b.WriteString(".PP\n.RS\n.EX\n")
				inExample = true
			}
			b.WriteString(roffLines(roffEscape(cmd)) + "\n")
			continue
		}
		if inExample {
			b.WriteString(".EE\n.RE\n")
			inExample = false
		}
		if l == ".." {
			b.WriteString(".PP\n")
		} else {
			b.WriteString(roffLines(roffEscape(l)) + "\n")
		}
	}
	if inExample {
		b.WriteString(".EE\n.RE\n")
	}
	return b.String()
}

// upperFirst returns s with its first letter in upper case.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
