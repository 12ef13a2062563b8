// Command ssmrandom distributes entropy from one producer to many hosts
// over IP source-specific multicast, every frame signed with Ed25519.
//
//	ssmrandom keygen                          make a producer key pair
//	ssmrandom send -k keys/producer.jwk       sign and multicast entropy
//	ssmrandom recv --trust keys/ PRODUCER...  verify and write to rngd's FIFO
//	ssmrandom rawsend                         multicast unframed bytes (as the original did)
//	ssmrandom keys --trust keys/              list the trusted keys and their validity
//	ssmrandom inspect --trust keys/ FILE      decode and check one captured datagram
//
// See README.md and docs/ for the whole story.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
