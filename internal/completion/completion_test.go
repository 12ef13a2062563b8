package completion_test

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/completion"
)

// TestComplete offers the commands, a command's flags once the word
// starts with -, and nothing where a value goes or after "--".
func TestComplete(t *testing.T) {
	app := &cli.App{
		Name:  "tool",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "debug", Aliases: []string{"d"}}},
		Commands: []*cli.Command{
			{Name: "send", Flags: []cli.Flag{&cli.StringFlag{Name: "key", Aliases: []string{"k"}}}},
			{Name: "hidden", Hidden: true},
		},
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{""}, "send\nhelp\n"},
		{[]string{"-"}, "--debug\n-d\n--help\n-h\n"},
		{[]string{"send", "-"}, "--key\n-k\n"},
		{[]string{"send", "x"}, ""},
		{[]string{"send", "--", "-"}, ""},
		{[]string{"nosuch", "-"}, ""},
		{nil, ""},
	} {
		var b strings.Builder
		completion.Complete(app, c.words, &b)
		if got := b.String(); got != c.want {
			t.Errorf("Complete(%q): got %q, want %q", c.words, got, c.want)
		}
	}
	for _, shell := range []string{"bash", "zsh"} {
		if s := completion.Scripts[shell]; !strings.Contains(s, completion.Flag) {
			t.Errorf("the %s script does not ask with %s", shell, completion.Flag)
		}
	}
}
