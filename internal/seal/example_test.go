package seal_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

func Example() {
	// The producer: its signing key and its members' public keys.
	seed := make([]byte, ed25519.SeedSize)
	signer, _ := sign.NewSigner(ed25519.NewKeyFromSeed(seed))
	host, _ := seal.NewHostKey(make([]byte, 32)) // a real host uses GenerateHostKey
	members, _ := seal.NewMembers(host.Public())

	b, _ := seal.NewBuilder(signer, seal.Config{})
	dgs, err := b.Build(members.All(), seal.Round{Epoch: 1764000000000, Seq: 7, Time: 1764000060000, Round: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	dg := dgs[0]
	fmt.Printf("%d datagram of %d bytes, %d entries per datagram at most\n", len(dgs), len(dg), b.PerDatagram())

	// The host: a cheap look for its entry, then the signature (with the
	// freshness and replay checks of the pipeline, not shown), then open.
	found, err := seedwire.Scan(dg, host.HostID())
	fmt.Println("entry for this host:", found, err)
	ring, _ := sign.NewKeyring(sign.Key{Public: signer.Public()})
	payload, kid, err := ring.Verify(dg)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := seedwire.Parse(payload)
	pt, err := host.Open(&p, kid)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := seal.Combine([]seal.Contribution{{Producer: kid, Seed: pt.Seed}})
	fmt.Println("seed opened:", len(pt.Seed), "bytes; combined:", len(s), "bytes")
	// Output:
	// 1 datagram of 357 bytes, 8 entries per datagram at most
	// entry for this host: true <nil>
	// seed opened: 32 bytes; combined: 32 bytes
}
