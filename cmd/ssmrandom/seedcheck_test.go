package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/membertag"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// seedCheckMain is the program seedcheck of the test scripts: the host
// side of send --members, done with the packages, until ssmrandom seed
// takes it over in the scripts.
//
//	seedcheck [-rounds R] [-save FILE] GROUP:PORT SOURCE TRUST HOSTKEY...
//
// It joins (SOURCE, GROUP) on lo and reads until it has seen seed
// datagrams of R seed rounds (default 1; at most 15 s). Every datagram,
// frame or seed datagram, must verify with a key of TRUST, and no (e, n)
// may come twice (docs/protocol.md §9.2). For each HOSTKEY (a private host
// key file) it opens that host's entries and prints one line,
//
//	HOSTKEY: round R seed HEX ...   or   HOSTKEY: no seed
//
// then "frames F seed datagrams S", then "tags: frames T tagged U
// untagged, seed datagrams T tagged U untagged". Member tags
// (docs/protocol.md §10) are checked as a member would: a seed datagram
// of round R may only carry round R-1's tag, and a tag naming a round
// whose member key a HOSTKEY opened must check under it. -save writes the
// last tagged frame to FILE; -keys writes each member key opened to
// PREFIX.N (N from 0, mode 0600), for nosecret. It fails on anything that does not verify,
// parse, open or check.
func seedCheckMain() int {
	fs := flag.NewFlagSet("seedcheck", flag.ContinueOnError)
	rounds := fs.Int("rounds", 1, "read until `R` seed rounds were seen")
	save := fs.String("save", "", "write the last tagged frame to `FILE`")
	keys := fs.String("keys", "", "write each member key opened to `PREFIX`.N")
	if fs.Parse(os.Args[1:]) != nil || fs.NArg() < 4 {
		fmt.Fprintln(os.Stderr, "usage: seedcheck [-rounds R] [-save FILE] [-keys PREFIX] GROUP:PORT SOURCE TRUST HOSTKEY...")
		return 2
	}
	if err := seedCheck(fs.Arg(0), fs.Arg(1), fs.Arg(2), fs.Args()[3:], *rounds, *save, *keys); err != nil {
		fmt.Fprintln(os.Stderr, "seedcheck:", err)
		return 1
	}
	return 0
}

func seedCheck(groupArg, sourceArg, trust string, hostFiles []string, rounds int, save, keyPrefix string) error {
	group, err := netip.ParseAddrPort(groupArg)
	if err != nil {
		return err
	}
	source, err := netip.ParseAddr(sourceArg)
	if err != nil {
		return err
	}
	ring, _, err := sign.LoadTrust(trust)
	if err != nil {
		return err
	}
	hosts := make([]*seal.HostKey, len(hostFiles))
	for i, f := range hostFiles {
		if hosts[i], err = seal.LoadHostKey(f); err != nil {
			return err
		}
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	conn, err := mcast.JoinSSM(group, lo, []netip.Addr{source})
	if err != nil {
		return err
	}
	defer conn.Close()
	timer := time.AfterFunc(15*time.Second, func() { conn.Close() })
	defer timer.Stop()
	type en struct{ e, n uint64 }
	seen := make(map[en]bool)
	seedRounds := make(map[en]bool) // (e, round)
	got := make([][]string, len(hosts))
	var frames, seeds int
	tags := &tagCheck{keys: make(map[[2]uint64]*membertag.Key)}
	buf := make([]byte, mcast.ReadBufferSize)
	for len(seedRounds) < rounds {
		k, _, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("after %d frames and %d seed datagrams of %d rounds: %w", frames, seeds, len(seedRounds), err)
		}
		payload, kid, err := ring.Verify(buf[:k])
		if err != nil {
			return fmt.Errorf("datagram does not verify: %w", err)
		}
		var id en
		if !seedwire.IsSeed(buf[:k]) {
			f, err := frame.Parse(payload)
			if err != nil {
				return err
			}
			frames++
			id = en{f.Epoch, f.Seq}
			if err := tags.check(ring, buf[:k], f.Epoch, -1); err != nil {
				return fmt.Errorf("frame (%d, %d): %w", f.Epoch, f.Seq, err)
			}
		} else {
			p, err := seedwire.Parse(payload)
			if err != nil {
				return err
			}
			seeds++
			id = en{p.Epoch, p.Seq}
			if err := tags.check(ring, buf[:k], p.Epoch, int64(p.Round)); err != nil {
				return fmt.Errorf("seed datagram (%d, %d) of round %d: %w", p.Epoch, p.Seq, p.Round, err)
			}
			seedRounds[en{p.Epoch, p.Round}] = true
			for i, h := range hosts {
				pt, err := h.Open(&p, kid)
				if errors.Is(err, seal.ErrNoEntry) {
					continue
				}
				if err != nil {
					return fmt.Errorf("%s: %w", hostFiles[i], err)
				}
				got[i] = append(got[i], fmt.Sprintf("round %d seed %s", p.Round, hex.EncodeToString(pt.Seed[:])))
				if pt.HasMemberKey {
					k := [2]uint64{p.Epoch, p.Round}
					if keyPrefix != "" && tags.keys[k] == nil {
						name := fmt.Sprintf("%s.%d", keyPrefix, len(tags.keys))
						if err := os.WriteFile(name, pt.MemberKey[:], 0o600); err != nil {
							return err
						}
					}
					tags.keys[k] = membertag.NewKey(&pt.MemberKey, p.Epoch, p.Round)
				}
			}
		}
		if seen[id] {
			return fmt.Errorf("(e, n) = (%d, %d) twice", id.e, id.n)
		}
		seen[id] = true
	}
	for i, f := range hostFiles {
		if len(got[i]) == 0 {
			fmt.Printf("%s: no seed\n", f)
			continue
		}
		sort.Strings(got[i])
		fmt.Printf("%s: %s\n", f, strings.Join(got[i], " "))
	}
	fmt.Printf("frames %d seed datagrams %d\n", frames, seeds)
	fmt.Printf("tags: frames %d tagged %d untagged, seed datagrams %d tagged %d untagged\n",
		tags.frames[1], tags.frames[0], tags.seeds[1], tags.seeds[0])
	if save != "" && tags.last != nil {
		return os.WriteFile(save, tags.last, 0o644)
	}
	return nil
}

// tagCheck checks the member tags seedcheck reads, with the member keys
// its hosts opened, by (epoch, round).
type tagCheck struct {
	keys          map[[2]uint64]*membertag.Key // by (epoch, round)
	frames, seeds [2]int                       // untagged, tagged
	last          []byte                       // the last tagged frame
}

// check checks the tag of datagram d of epoch e: a frame's if round is
// -1, else a seed datagram's of that round.
func (c *tagCheck) check(ring *sign.Keyring, d []byte, e uint64, round int64) error {
	m, refusal := ring.Check(d)
	if refusal.Err() != nil {
		return refusal.Err()
	}
	mt, tagged := m.MemberTag()
	count := &c.frames
	if round >= 0 {
		count = &c.seeds
	}
	if !tagged {
		count[0]++
		return nil
	}
	count[1]++
	r := membertag.RoundOf(mt)
	if round >= 0 && int64(r) != round-1 {
		return fmt.Errorf("tagged with round %d's member key, want round %d's", r, round-1)
	}
	if k := c.keys[[2]uint64{e, r}]; k != nil && !m.CheckTag(k) {
		return fmt.Errorf("its tag does not check under round %d's member key", r)
	}
	if round < 0 {
		c.last = append(c.last[:0], d...)
	}
	return nil
}
