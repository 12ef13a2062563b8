//go:build linux

package main

import (
	"io"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestInterfaceUnspecified checks that -i 0.0.0.0, the original
// ssmrandom's default, and :: leave the choice to routing, as no -i does,
// and that -i takes an address of an interface, as the original's did.
func TestInterfaceUnspecified(t *testing.T) {
	for _, spec := range []string{"", "0.0.0.0", "::", "127.0.0.1", "lo"} {
		var got string
		app := &cli.App{
			Flags:     netFlags(),
			Writer:    io.Discard,
			ErrWriter: io.Discard,
			Action: func(c *cli.Context) error {
				ifi, err := interfaceFlag(c)
				got = ifiName(ifi)
				return err
			},
		}
		if err := app.Run([]string{"x", "-i", spec}); err != nil {
			t.Errorf("-i %q: got error %v, want nil", spec, err)
			continue
		}
		want := "(routing)"
		if spec == "127.0.0.1" || spec == "lo" {
			want = "lo"
		}
		if got != want {
			t.Errorf("-i %q: got interface %s, want %s", spec, got, want)
		}
	}
}
