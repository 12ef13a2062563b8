package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// rawsendCommand is being written (issue 5); this placeholder keeps the build whole.
func rawsendCommand(e *env) *cli.Command {
	return &cli.Command{Name: "rawsend", Hidden: true, Action: func(*cli.Context) error { return errors.New("rawsend: not built yet") }}
}
