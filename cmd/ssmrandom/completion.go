package main

import (
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/completion"
)

// completionCommand prints a shell completion script.
func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash or zsh",
		ArgsUsage: "bash|zsh",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			script, ok := completion.Scripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return usagef("say 'ssmrandom completion bash' or 'ssmrandom completion zsh'", "completion takes one shell, bash or zsh; got %q", strings.Join(c.Args().Slice(), " "))
			}
			_, err := io.WriteString(e.stdout, script)
			return err
		},
	}
}
