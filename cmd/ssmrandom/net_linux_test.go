//go:build linux

package main

import (
	"io"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestInterfaceUnspecified checks that -i 0.0.0.0, the original
// ssmrandom's default, and :: leave the choice to routing, as no -i does,
// and that -i takes an address of an interface, as the original's did,
// and keeps that address (send sends from it).
func TestInterfaceUnspecified(t *testing.T) {
	for _, spec := range []string{"", "0.0.0.0", "::", "127.0.0.1", "lo"} {
		var got, from string
		app := &cli.App{
			Flags:     netFlags(),
			Writer:    io.Discard,
			ErrWriter: io.Discard,
			Action: func(c *cli.Context) error {
				ifi, addr, err := interfaceFlag(c)
				got, from = ifiName(ifi), addr.String()
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
		wantFrom := "invalid IP"
		if spec == "127.0.0.1" {
			wantFrom = spec
		}
		if from != wantFrom {
			t.Errorf("-i %q: got address %s, want %s", spec, from, wantFrom)
		}
	}
}
