package send_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/send"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// lockedConn records the datagrams sent, from the frames' goroutine and
// the seeds' alike.
type lockedConn struct {
	mu   sync.Mutex
	sent [][]byte
}

func (c *lockedConn) Send(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, bytes.Clone(b))
	return nil
}

func (c *lockedConn) all() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// endless is an input that never ends: bytes 0, 1, 2, ...
type endless struct{ n byte }

func (r *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// sizes records the sizes of the reads from r.
type sizes struct {
	mu   sync.Mutex
	r    *endless
	seen map[int]bool
}

func (s *sizes) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[len(p)] = true
	return s.r.Read(p)
}

func (s *sizes) saw(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[n]
}

// hostKeys returns n host keys made from fixed private keys, and a
// member of each with validity v.
func hostKeys(t testing.TB, n int, first byte, v sign.Validity) ([]*seal.HostKey, []seal.Member) {
	t.Helper()
	keys := make([]*seal.HostKey, n)
	ms := make([]seal.Member, n)
	for i := range keys {
		priv := bytes.Repeat([]byte{first}, seal.KeySize)
		priv[1], priv[2] = byte(i), byte(i>>8) // not priv[0]: X25519 clears its low bits
		k, err := seal.NewHostKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], ms[i] = k, k.Public()
		ms[i].Valid = v
	}
	return keys, ms
}

func members(t testing.TB, ms ...seal.Member) *seal.Members {
	t.Helper()
	set, err := seal.NewMembers(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// datagram is one sent datagram, verified and parsed.
type datagram struct {
	seed     bool
	epoch    uint64
	seq      uint64
	payload  seedwire.Payload // seed datagrams only
	producer string
}

// parse verifies every datagram sent with s's public key and parses it.
func parse(t *testing.T, s *sign.Signer, sent [][]byte) []datagram {
	t.Helper()
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var out []datagram
	for i, d := range sent {
		payload, kid, err := ring.Verify(d)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if seedwire.IsSeed(d) {
			p, err := seedwire.Parse(payload)
			if err != nil {
				t.Fatalf("datagram %d: %v", i, err)
			}
			out = append(out, datagram{seed: true, epoch: p.Epoch, seq: p.Seq, payload: p, producer: kid})
			continue
		}
		f, err := frame.Parse(payload)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		out = append(out, datagram{epoch: f.Epoch, seq: f.Seq})
	}
	return out
}

// checkOrder checks docs/protocol.md §9.2: one sequence for frames and
// seed datagrams, each number once, and no seed datagram sent after a
// datagram numbered MaxAhead or more past it.
func checkOrder(t *testing.T, ds []datagram) {
	t.Helper()
	seen := make(map[uint64]bool)
	var top uint64
	for i, d := range ds {
		if d.epoch != ds[0].epoch {
			t.Fatalf("datagram %d: epoch %d, want %d", i, d.epoch, ds[0].epoch)
		}
		if seen[d.seq] {
			t.Errorf("datagram %d: sequence number %d used twice", i, d.seq)
		}
		seen[d.seq] = true
		if i > 0 && top > d.seq && top-d.seq >= send.MaxAhead {
			t.Errorf("datagram %d (seed %v): n %d sent after n %d: %d behind, want less than %d", i, d.seed, d.seq, top, top-d.seq, send.MaxAhead)
		}
		top = max(top, d.seq)
	}
}

// open opens every entry for keys in the seed datagrams of ds, and returns
// each host's seeds by round.
func open(t *testing.T, ds []datagram, keys []*seal.HostKey) map[seedwire.HostID]map[uint64][32]byte {
	t.Helper()
	got := make(map[seedwire.HostID]map[uint64][32]byte)
	for _, d := range ds {
		if !d.seed {
			continue
		}
		for _, k := range keys {
			pt, err := k.Open(&d.payload, d.producer)
			if err == seal.ErrNoEntry {
				continue
			}
			if err != nil {
				t.Fatalf("open n %d: %v", d.seq, err)
			}
			if got[k.HostID()] == nil {
				got[k.HostID()] = make(map[uint64][32]byte)
			}
			if _, dup := got[k.HostID()][d.payload.Round]; dup {
				t.Errorf("host %x: two entries in round %d", k.HostID(), d.payload.Round)
			}
			got[k.HostID()][d.payload.Round] = pt.Seed
		}
	}
	return got
}

// TestSeedRound checks one round: every member valid now gets one seed
// that opens with its key, each a different one, no seed goes to a member
// outside its validity period, and frames and seed datagrams share one
// sequence without gaps.
func TestSeedRound(t *testing.T) {
	s := signer(t)
	valid, ms := hostKeys(t, 20, 1, sign.Validity{})
	expired, old := hostKeys(t, 1, 2, sign.Validity{NotAfter: time.Unix(1577836800, 0)})
	later, notYet := hostKeys(t, 1, 3, sign.Validity{NotBefore: time.Now().Add(24 * time.Hour)})
	c := new(lockedConn)
	var rounds []send.SeedRound
	in := &sizes{r: new(endless), seen: map[int]bool{}}
	l, err := send.New(send.Config{Input: in, Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 16, Count: 63,
		Seeds: &send.Seeds{Signer: s, Members: members(t, append(append(ms, old...), notYet...)...), Interval: time.Hour,
			Observe: func(r send.SeedRound) { rounds = append(rounds, r) }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if len(rounds) != 1 {
		t.Fatalf("got %d rounds, want 1 (the count was reached before the next)", len(rounds))
	}
	r := rounds[0]
	if r.Round != 0 || r.Members != 20 || r.Skipped != 2 || r.Sealed != 20 || r.Datagrams != 3 || r.SendErrors != 0 || r.Err != nil {
		t.Errorf("got round %+v, want round 0 of 20 members, 2 skipped, 20 sealed in 3 datagrams", r)
	}
	// The frames read 16 bytes at a time, the round EntropyPerRound.
	if !in.saw(seal.EntropyPerRound) {
		t.Errorf("no read of %d bytes from the input: the seeds did not draw on it", seal.EntropyPerRound)
	}
	st := l.Stats()
	if st.Frames != 63 || st.SeedRounds != 1 || st.SeedMembers != 20 || st.SeedDatagrams != 3 {
		t.Errorf("got stats %+v, want 63 frames, 1 round, 20 members, 3 seed datagrams", st)
	}
	ds := parse(t, s, c.all())
	checkOrder(t, ds)
	for i := range ds {
		if !slicesContain(ds, uint64(i)) {
			t.Errorf("sequence number %d unused: want 0 to %d without gaps", i, len(ds)-1)
		}
	}
	seeds := open(t, ds, append(append(valid, expired...), later...))
	distinct := make(map[[32]byte]bool)
	for _, k := range valid {
		seed, ok := seeds[k.HostID()][0]
		if !ok {
			t.Errorf("host %x: no seed in round 0", k.HostID())
		}
		distinct[seed] = true
	}
	if len(distinct) != len(valid) {
		t.Errorf("got %d distinct seeds, want %d", len(distinct), len(valid))
	}
	for _, k := range append(expired, later...) {
		if _, ok := seeds[k.HostID()]; ok {
			t.Errorf("host %x, outside its validity period: got a seed, want none", k.HostID())
		}
	}
}

func slicesContain(ds []datagram, seq uint64) bool {
	for _, d := range ds {
		if d.seq == seq {
			return true
		}
	}
	return false
}

// TestSeedHoldsFrames checks that frames sent as fast as they can be never
// run MaxAhead or more past a seed datagram of a round of several batches:
// they wait for it.
func TestSeedHoldsFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("seals 600 members")
	}
	s := signer(t)
	keys, ms := hostKeys(t, 600, 4, sign.Validity{})
	c := new(lockedConn)
	var rounds []send.SeedRound
	l, err := send.New(send.Config{Input: new(endless), Conn: c, Framer: send.Raw{}, Size: 16, Count: 4000,
		Seeds: &send.Seeds{Signer: s, Members: members(t, ms...), Interval: time.Hour, Workers: 2,
			Observe: func(r send.SeedRound) { rounds = append(rounds, r) }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	per := l.PerDatagram()
	want := (600 + per - 1) / per
	if want <= send.SeedBatch {
		t.Fatalf("%d datagrams fit one batch of %d; the test needs several", want, send.SeedBatch)
	}
	if len(rounds) != 1 || rounds[0].Datagrams != want || rounds[0].Sealed != 600 {
		t.Fatalf("got rounds %+v, want one of %d datagrams and 600 members", rounds, want)
	}
	// Raw frames carry no numbers: the frames' numbers are those the
	// seed datagrams did not take, in the order sent.
	sent := c.all()
	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var ds []datagram
	used := make(map[uint64]bool)
	for _, d := range sent {
		if seedwire.IsSeed(d) {
			payload, kid, err := ring.Verify(d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := seedwire.Parse(payload)
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, datagram{seed: true, epoch: p.Epoch, seq: p.Seq, payload: p, producer: kid})
			used[p.Seq] = true
		} else {
			ds = append(ds, datagram{})
		}
	}
	next := uint64(0)
	for i := range ds {
		if ds[i].seed {
			continue
		}
		for used[next] {
			next++
		}
		ds[i].seq, ds[i].epoch = next, ds[0].epoch
		next++
	}
	for i := range ds {
		ds[i].epoch = ds[0].epoch
	}
	checkOrder(t, ds)
	if got := open(t, ds, keys[:5]); len(got) != 5 {
		t.Errorf("got seeds for %d of 5 hosts checked", len(got))
	}
}

// TestSeedMembersReload checks that SetMembers takes effect from the next
// round: round 0 seals to the first set, round 1 to the second.
func TestSeedMembersReload(t *testing.T) {
	s := signer(t)
	keysA, a := hostKeys(t, 3, 5, sign.Validity{})
	keysB, b := hostKeys(t, 2, 6, sign.Validity{})
	c := new(lockedConn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l *send.Loop
	var rounds []send.SeedRound
	l, err := send.New(send.Config{Input: new(endless), Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 16, Rate: 1000,
		Seeds: &send.Seeds{Signer: s, Members: members(t, a...), Interval: 10 * time.Millisecond,
			Observe: func(r send.SeedRound) {
				rounds = append(rounds, r)
				switch len(rounds) {
				case 1:
					l.SetMembers(members(t, b...))
				case 2:
					cancel()
				}
			}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(ctx); err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	if len(rounds) != 2 || rounds[0].Sealed != 3 || rounds[1].Sealed != 2 || rounds[1].Round != 1 {
		t.Fatalf("got rounds %+v, want round 0 of 3 members and round 1 of 2", rounds)
	}
	ds := parse(t, s, c.all())
	checkOrder(t, ds)
	seeds := open(t, ds, append(keysA, keysB...))
	for _, k := range keysA {
		if _, ok := seeds[k.HostID()][0]; !ok || len(seeds[k.HostID()]) != 1 {
			t.Errorf("host %x of the first set: got seeds of rounds %v, want round 0 only", k.HostID(), rounds0(seeds[k.HostID()]))
		}
	}
	for _, k := range keysB {
		if _, ok := seeds[k.HostID()][1]; !ok || len(seeds[k.HostID()]) != 1 {
			t.Errorf("host %x of the second set: got seeds of rounds %v, want round 1 only", k.HostID(), rounds0(seeds[k.HostID()]))
		}
	}
}

func rounds0(m map[uint64][32]byte) []uint64 {
	var out []uint64
	for r := range m {
		out = append(out, r)
	}
	return out
}

// TestSeedNoMembers checks that a round with no member valid sends
// nothing and is counted.
func TestSeedNoMembers(t *testing.T) {
	s := signer(t)
	c := new(lockedConn)
	l, err := send.New(send.Config{Input: bytes.NewReader(input(64)), Conn: c, Framer: send.NewSigned(s), Source: "x", Size: 16,
		Seeds: &send.Seeds{Signer: s, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.SeedRounds != 1 || st.SeedDatagrams != 0 || st.Frames != 4 {
		t.Errorf("got %+v, want 1 round, no seed datagram, 4 frames", st)
	}
	for _, d := range c.all() {
		if strings.Split(string(d), ".")[1][:4] == "SEED" {
			t.Errorf("got a seed datagram, want none")
		}
	}
}

// TestSeedsConfig checks the errors of New for bad seed configurations.
func TestSeedsConfig(t *testing.T) {
	s := signer(t)
	for _, seeds := range []*send.Seeds{
		{},                            // no signer
		{Signer: s, Interval: -1},     // negative interval
		{Signer: s, MaxDatagram: 300}, // no entry fits
	} {
		if _, err := send.New(send.Config{Input: bytes.NewReader(nil), Conn: new(lockedConn), Framer: send.Raw{}, Size: 1, Seeds: seeds}); err == nil {
			t.Errorf("seeds %+v: got nil, want an error", *seeds)
		}
	}
}
