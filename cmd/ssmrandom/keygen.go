package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/sign"
)

func keygenCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "make an Ed25519 producer key pair as JWK files",
		Description: "Writes PREFIX.jwk (the private key, mode 0600) and PREFIX.pub.jwk (the public key, to\n" +
			"copy into receivers' trust folders), and prints the key id: the RFC 7638 thumbprint\n" +
			"that every signed frame carries as its kid. Never overwrites a file without --force.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "keys/producer", Usage: "write `PREFIX`.jwk and PREFIX.pub.jwk"},
			&cli.BoolFlag{Name: "force", Usage: "replace existing key files"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			prefix := c.String("output")
			if prefix == "" || prefix[len(prefix)-1] == '/' {
				return usagef("-o/--output takes a file name prefix such as keys/producer", "bad key prefix %q", prefix)
			}
			if dir := filepath.Dir(prefix); dir != "." {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return fmt.Errorf("keygen: %w", err)
				}
			}
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			privPath, pubPath, err := sign.WriteKeyPair(prefix, priv, sign.Validity{}, c.Bool("force"))
			if err != nil {
				return withHint(err, "choose another -o/--output prefix, or replace the files with --force")
			}
			fmt.Fprintf(e.stderr, "ssmrandom: wrote %s (private, keep it secret) and %s (public, give it to receivers)\n", privPath, pubPath)
			fmt.Fprintln(e.stdout, sign.KeyID(priv.Public().(ed25519.PublicKey)))
			return nil
		},
	}
}
