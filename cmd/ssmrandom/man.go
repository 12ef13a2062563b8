package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manCommand prints the manual page, made from the commands' own help
// text so that it cannot drift from --help; make deb installs it.
func manCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (roff) to stdout",
		Hidden: true,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			page, err := c.App.ToMan()
			if err != nil {
				return fmt.Errorf("man page: %w", err)
			}
			_, err = fmt.Fprint(e.stdout, page)
			return err
		},
	}
}
