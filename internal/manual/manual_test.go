package manual_test

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/manual"
)

// TestWrite renders a small app: the header, an option with its
// placeholder and default, a command, a section's markup and the docs.
func TestWrite(t *testing.T) {
	app := &cli.App{
		Name: "tool", Usage: "do things", Version: "v1.0-rc1",
		Description: "First paragraph.\n\n.Second, which starts with a dot.",
		Commands: []*cli.Command{{
			Name: "go", Usage: "go somewhere", ArgsUsage: "PLACE",
			Flags: []cli.Flag{&cli.StringFlag{Name: "speed", Aliases: []string{"s"}, Usage: "move at `RATE`", Value: "slow"}},
		}},
	}
	app.Setup()
	var b strings.Builder
	sections := []manual.Section{{Title: "EXAMPLES", Body: "Go:\n$ tool go --speed fast home\n..\n:: 0\n:: 1\nDone."}}
	page := manual.Page{Sections: sections, SeeAlso: []string{"man(1)", "groff_man(7)"}, DocsNote: "The docs:",
		Docs: []manual.Doc{{File: "a-b.md", What: "the a and the b"}}}
	if err := manual.Write(&b, app, page); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		".TH TOOL 8 \"\" \"tool v1.0\\-rc1\" \"System Administration\"\n",
		"tool \\- do things\n",
		"First paragraph.\n.PP\n\\&.Second, which starts with a dot.\n",
		".SS tool go [options] PLACE\nGo somewhere.\n",
		".TP\n\\fB\\-s\\fR, \\fB\\-\\-speed\\fR \\fIRATE\\fR\nmove at \\fIRATE\\fR (default: slow)\n",
		".SH EXAMPLES\nGo:\n.PP\n.RS\n.EX\ntool go \\-\\-speed fast home\n.EE\n.RE\n.PP\n.TP\n.B 0\n.TQ\n.B 1\nDone.\n",
		".SH SEE ALSO\n.BR man (1),\n.BR groff_man (7)\n.PP\nThe docs:\n.TP\n.I docs/a\\-b.md\nThe a and the b.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %q; got:\n%s", want, got)
		}
	}
}
