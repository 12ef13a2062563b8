package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// keysCommand is being written (issue 5); this placeholder keeps the build whole.
func keysCommand(e *env) *cli.Command {
	return &cli.Command{Name: "keys", Hidden: true, Action: func(*cli.Context) error { return errors.New("keys: not built yet") }}
}
