package seedwire_test

import (
	"fmt"

	"github.com/nordunet/ssmrandom/internal/seedwire"
)

func ExampleParse() {
	h := seedwire.Header{Suite: seedwire.SuiteX25519, Epoch: 1764000000000, Seq: 7, Time: 1764000060000,
		Round: 5, PlaintextLen: seedwire.MinPlaintext, Count: 2}
	b := h.Append(nil)
	b = seedwire.AppendEntry(b, seedwire.HostID{0x01}, make([]byte, 32+33+16))
	b = seedwire.AppendEntry(b, seedwire.HostID{0x02}, make([]byte, 32+33+16))
	p, err := seedwire.Parse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes: round %d, n %d, %d entries of %d bytes\n", len(b), p.Round, p.Seq, p.Count, seedwire.EntryLen(p.Suite, p.PlaintextLen))
	_, ok := p.Find(seedwire.HostID{0x02})
	fmt.Println("entry for host 0200000000000000:", ok)

	// Host ids must strictly increase: no host has two entries.
	b = h.Append(nil)
	b = seedwire.AppendEntry(b, seedwire.HostID{0x02}, make([]byte, 32+33+16))
	b = seedwire.AppendEntry(b, seedwire.HostID{0x02}, make([]byte, 32+33+16))
	_, err = seedwire.Parse(b)
	fmt.Println(err)
	// Output:
	// 223 bytes: round 5, n 7, 2 entries of 89 bytes
	// entry for host 0200000000000000: true
	// seedwire: bad host id: entry 1 does not follow entry 0 in order (a duplicate or unsorted host id)
}
