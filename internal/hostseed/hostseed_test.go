package hostseed_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/hostseed"
	"github.com/nordunet/ssmrandom/internal/seal"
	"github.com/nordunet/ssmrandom/internal/seedwire"
	"github.com/nordunet/ssmrandom/internal/sign"
	"github.com/nordunet/ssmrandom/internal/vectors"
)

// The keys of the seed corpus (internal/seal/testdata/seeds/README.txt):
// producers are ed25519 keys of seed bytes first, first+1, ...; host i's
// X25519 private key is the bytes 0x40+32i, ...

const (
	seedsDir       = "../seal/testdata/seeds"
	vecNow   int64 = 1764000060000
)

func bytesFrom(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

func producer(t testing.TB, first byte) *sign.Signer {
	s, err := sign.NewSigner(ed25519.NewKeyFromSeed(bytesFrom(first, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostKey(t testing.TB, i int) *seal.HostKey {
	k, err := seal.NewHostKey(bytesFrom(0x40+byte(32*i), 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyring trusts the given producers.
func keyring(t testing.TB, ps ...*sign.Signer) *sign.Keyring {
	var keys []sign.Key
	for _, p := range ps {
		keys = append(keys, sign.Key{Public: p.Public()})
	}
	r, err := sign.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// members returns the members set of the given host keys, sorted.
func members(t testing.TB, ks ...*seal.HostKey) []seal.Member {
	var ms []seal.Member
	for _, k := range ks {
		ms = append(ms, k.Public())
	}
	set, err := seal.NewMembers(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return set.All()
}

// round builds round r of producer p for ms, made at the time at (Unix
// ms), its first datagram numbered seq, and returns its datagrams.
func round(t testing.TB, p *sign.Signer, ms []seal.Member, r, seq uint64, at int64) [][]byte {
	b, err := seal.NewBuilder(p, seal.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	dgs, err := b.Build(ms, seal.Round{Epoch: 1764000000000, Seq: seq, Time: at, Round: r})
	if err != nil {
		t.Fatal(err)
	}
	return dgs
}

// clock is a settable clock.
type clock struct{ ms int64 }

func (c *clock) now() time.Time { return time.UnixMilli(c.ms) }

// newTaker returns a Taker for host key k trusting ring, needing need
// seeds, with its clock at vecNow.
func newTaker(t testing.TB, ring *sign.Keyring, k *seal.HostKey, need int) (*hostseed.Taker, *clock) {
	c := &clock{ms: vecNow}
	tk, err := hostseed.New(hostseed.Config{Trust: ring, Key: k, Need: need, MaxDatagram: seal.DefaultMaxDatagram, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return tk, c
}

// open opens k's entry of dg, signed by p, without the pipeline.
func open(t testing.TB, k *seal.HostKey, p *sign.Signer, dg []byte) seal.Contribution {
	payload, kid, err := keyring(t, p).Verify(dg)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := seedwire.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := k.Open(&pl, kid)
	if err != nil {
		t.Fatal(err)
	}
	return seal.Contribution{Producer: kid, Seed: pt.Seed}
}

func expect(t *testing.T, tk *hostseed.Taker, dg []byte, want hostseed.Reason) hostseed.Verdict {
	t.Helper()
	v := tk.Handle(dg)
	if v.Reason != want {
		t.Fatalf("got %s (%v), want %s", v.Reason, v.Why(), want)
	}
	if (v.Err == nil) != (want == hostseed.Taken) {
		t.Errorf("%s: got Err %v", v.Reason, v.Err)
	}
	return v
}

// TestCorpus feeds every file of the seed corpus through a Taker that
// needs one seed, and checks each verdict and, for ok, that the seed is
// the combination of the file's seed alone (docs/protocol.md §9.6, §9.7).
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedsDir, "*.txt"))
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: got %d files (%v), want the seed corpus", len(files), err)
	}
	ring := keyring(t, producer(t, 0), producer(t, 64))
	hosts := map[string]int{}
	for i := range 4 {
		hosts[hex.EncodeToString(bytesFrom(0x40+byte(32*i), 32))] = i
	}
	for _, f := range files {
		if filepath.Base(f) == "README.txt" {
			continue
		}
		fields, err := vectors.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		var before []string
		c := map[string]string{}
		for _, fl := range fields {
			if fl.Key == "before" {
				before = append(before, fl.Value)
			} else {
				c[fl.Key] = fl.Value
			}
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			now, err := strconv.ParseInt(c["now"], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			i, ok := hosts[c["host-key"]]
			if !ok {
				t.Fatalf("host-key %s is not a corpus host", c["host-key"])
			}
			clk := &clock{ms: now}
			tk, err := hostseed.New(hostseed.Config{Trust: ring, Key: hostKey(t, i), Need: 1, MaxDatagram: seal.DefaultMaxDatagram, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range before {
				expect(t, tk, []byte(d), hostseed.Taken)
				if _, err := tk.Seed(); err != nil {
					t.Fatal(err)
				}
			}
			want := strings.ReplaceAll(c["expect"], " ", "_")
			if want == "ok" {
				want = "taken"
			}
			v := tk.Handle([]byte(c["datagram"]))
			if v.Reason.String() != want {
				t.Fatalf("got %s (%v), want %s", v.Reason, v.Why(), want)
			}
			if v.Reason != hostseed.Taken {
				if len(before) == 0 && tk.Done() {
					t.Errorf("Done after %s: got true, want false", v.Reason)
				}
				return
			}
			raw, err := hex.DecodeString(c["seed"])
			if err != nil {
				t.Fatal(err)
			}
			var contrib seal.Contribution
			contrib.Producer = v.Facts.KeyID
			copy(contrib.Seed[:], raw)
			want32, err := seal.Combine([]seal.Contribution{contrib})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tk.Seed()
			if err != nil {
				t.Fatal(err)
			}
			if got != want32 {
				t.Errorf("seed: got %x, want %x", got, want32)
			}
		})
	}
}

// TestTwoHostsAndOutsiders: each member takes its own seed, and they
// differ; a host that is not a member, or holds another key than the one
// the producer has, finds no entry and takes nothing.
func TestTwoHostsAndOutsiders(t *testing.T) {
	p := producer(t, 0)
	ring := keyring(t, p)
	a, b, outsider := hostKey(t, 0), hostKey(t, 1), hostKey(t, 2)
	wrong, err := seal.GenerateHostKey() // host a's place, with a key that is not the one enrolled
	if err != nil {
		t.Fatal(err)
	}
	dgs := round(t, p, members(t, a, b), 0, 0, vecNow)
	if len(dgs) != 1 {
		t.Fatalf("got %d datagrams, want 1", len(dgs))
	}
	var seeds [][32]byte
	for _, k := range []*seal.HostKey{a, b} {
		tk, _ := newTaker(t, ring, k, 1)
		v := expect(t, tk, dgs[0], hostseed.Taken)
		if v.Facts.KeyID != p.KeyID() || v.Facts.Round != 0 || v.Facts.Time != vecNow {
			t.Errorf("facts: got %+v", v.Facts)
		}
		if !tk.Done() {
			t.Fatal("Done: got false, want true")
		}
		s, err := tk.Seed()
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := seal.Combine([]seal.Contribution{open(t, k, p, dgs[0])}); s != want {
			t.Errorf("seed: got %x, want the combination of the entry's seed %x", s, want)
		}
		if got := tk.Producers(); len(got) != 1 || got[0] != p.KeyID() {
			t.Errorf("Producers: got %v, want [%s]", got, p.KeyID())
		}
		seeds = append(seeds, s)
	}
	if seeds[0] == seeds[1] {
		t.Errorf("hosts a and b took the same seed %x", seeds[0])
	}
	for name, k := range map[string]*seal.HostKey{"non-member": outsider, "wrong key": wrong} {
		tk, _ := newTaker(t, ring, k, 1)
		expect(t, tk, dgs[0], hostseed.OtherHost)
		if tk.Done() {
			t.Errorf("%s: Done: got true, want false", name)
		}
		if _, err := tk.Seed(); !errors.Is(err, hostseed.ErrNotDone) {
			t.Errorf("%s: Seed: got %v, want ErrNotDone", name, err)
		}
		want := "1 datagrams: 1 seed datagrams with no entry for this host (other_host); 0 of 1 seeds"
		if got := tk.Stats().Heard(); got != want {
			t.Errorf("%s: Heard: got %q, want %q", name, got, want)
		}
	}
}

// TestNeedTwo: with --need 2, the seeds of one producer are not enough,
// however many rounds it sends; with a second producer's, the seed is the
// combination of both.
func TestNeedTwo(t *testing.T) {
	p1, p2 := producer(t, 0), producer(t, 64)
	k := hostKey(t, 0)
	ms := members(t, k, hostKey(t, 1))
	tk, clk := newTaker(t, keyring(t, p1, p2), k, 2)
	r0 := round(t, p1, ms, 0, 0, vecNow)
	expect(t, tk, r0[0], hostseed.Taken)
	clk.ms += 10000
	r1 := round(t, p1, ms, 1, 1, clk.ms)
	expect(t, tk, r1[0], hostseed.Again)
	if tk.Done() {
		t.Fatal("Done with one producer's seeds: got true, want false")
	}
	if _, err := tk.Seed(); !errors.Is(err, hostseed.ErrNotDone) {
		t.Fatalf("Seed: got %v, want ErrNotDone", err)
	}
	q0 := round(t, p2, ms, 0, 0, clk.ms)
	expect(t, tk, q0[0], hostseed.Taken)
	if !tk.Done() {
		t.Fatal("Done: got false, want true")
	}
	got, err := tk.Seed()
	if err != nil {
		t.Fatal(err)
	}
	want, err := seal.Combine([]seal.Contribution{open(t, k, p2, q0[0]), open(t, k, p1, r0[0])})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("seed: got %x, want %x", got, want)
	}
	if _, err := tk.Seed(); !errors.Is(err, hostseed.ErrNotDone) {
		t.Errorf("second Seed: got %v, want ErrNotDone (the seed is given once)", err)
	}
	s := tk.Stats()
	if s.Datagrams != 3 || s.Count[hostseed.Taken] != 2 || s.Count[hostseed.Again] != 1 {
		t.Errorf("stats: got %+v", s)
	}
}

// TestReplayStaleUntrusted: a datagram seen before, one made before the
// host started or older than the maximum age, and one of an untrusted key
// or under a bad signature are refused before any entry is opened.
func TestReplayStaleUntrusted(t *testing.T) {
	p, attacker := producer(t, 0), producer(t, 32)
	k := hostKey(t, 0)
	ms := members(t, k)
	tk, clk := newTaker(t, keyring(t, p), k, 1)
	expect(t, tk, round(t, p, ms, 0, 0, vecNow-1)[0], hostseed.Stale) // before the host started
	expect(t, tk, round(t, attacker, ms, 0, 0, vecNow)[0], hostseed.UnknownKey)
	expect(t, tk, round(t, p, ms, 0, 0, vecNow+6000)[0], hostseed.Future)
	dg := round(t, p, ms, 0, 0, vecNow)[0]
	// dg's header and payload under the signature of another datagram.
	other := round(t, p, ms, 7, 7, vecNow)[0]
	bad := append(bytes.Clone(dg[:bytes.LastIndexByte(dg, '.')]), other[bytes.LastIndexByte(other, '.'):]...)
	expect(t, tk, bad, hostseed.BadSignature)
	expect(t, tk, dg, hostseed.Taken)
	expect(t, tk, dg, hostseed.Replay)
	clk.ms += 31000
	expect(t, tk, round(t, p, ms, 1, 1, vecNow)[0], hostseed.Stale)
	expect(t, tk, []byte(`{"v":"1.0","s":"x","d":"AA=="}`), hostseed.NotSeed)
	expect(t, tk, make([]byte, seal.DefaultMaxDatagram+1), hostseed.TooBig)
	got := tk.Stats().Heard()
	for _, want := range []string{"9 datagrams: ", "1 over the size limit (too_big)", "1 frames or other datagrams that are not seed datagrams (not_seed)",
		"1 from untrusted signers (unknown_key)", "2 stale", "1 dated in the future", "1 replayed (replay)", "1 with a bad signature (bad_signature)", "; 1 of 1 seeds"} {
		if !strings.Contains(got, want) {
			t.Errorf("Heard: got %q, want it to contain %q", got, want)
		}
	}
}

func TestHeardNothing(t *testing.T) {
	tk, _ := newTaker(t, keyring(t, producer(t, 0), producer(t, 64)), hostKey(t, 0), 2)
	if got, want := tk.Stats().Heard(), "no datagrams; 0 of 2 seeds"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewRefuses(t *testing.T) {
	ring := keyring(t, producer(t, 0))
	k := hostKey(t, 0)
	for _, c := range []hostseed.Config{
		{Key: k, Need: 1, MaxDatagram: 1232},
		{Trust: ring, Need: 1, MaxDatagram: 1232},
		{Trust: ring, Key: k, Need: 1},
		{Trust: ring, Key: k, Need: 0, MaxDatagram: 1232},
		{Trust: ring, Key: k, Need: 2, MaxDatagram: 1232},
		{Trust: ring, Key: k, Need: 1, MaxDatagram: 1232, MaxAge: -1},
	} {
		if _, err := hostseed.New(c); err == nil || !strings.HasPrefix(err.Error(), "hostseed: ") {
			t.Errorf("New(%+v): got %v, want a hostseed error", c, err)
		}
	}
}

func TestReasonNames(t *testing.T) {
	var names []string
	for _, r := range hostseed.Reasons() {
		names = append(names, r.String())
	}
	want := "taken too_big not_seed malformed unsupported_suite other_host bad_alg unknown_key key_not_valid stale future replay bad_tag bad_signature open_failed again"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := hostseed.Reason(99).String(); got != "Reason(99)" {
		t.Errorf("got %s", got)
	}
}

// TestRun reads datagrams until the Taker is done, and stops at the end
// of its context otherwise.
func TestRun(t *testing.T) {
	p := producer(t, 0)
	k := hostKey(t, 0)
	ms := members(t, k, hostKey(t, 1))
	dg := round(t, p, ms, 0, 0, vecNow)[0]
	queue := [][]byte{[]byte("x.y.z"), dg, []byte("never read")}
	tk, _ := newTaker(t, keyring(t, p), k, 1)
	var seen []hostseed.Reason
	err := hostseed.Run(context.Background(), tk, hostseed.Loop[int]{
		Read: func(buf []byte) (int, int, error) {
			if len(queue) == 0 {
				return 0, 0, io.EOF
			}
			n := copy(buf, queue[0])
			queue = queue[1:]
			return n, 7, nil
		},
		Stop:    func() {},
		BufSize: 2048,
		Observe: func(_ []byte, tag int, v hostseed.Verdict) { seen = append(seen, v.Reason) },
	})
	if err != nil || !tk.Done() || len(queue) != 1 {
		t.Fatalf("Run: got %v, done %v, %d left; want nil, true, 1", err, tk.Done(), len(queue))
	}
	if len(seen) != 2 || seen[0] != hostseed.NotSeed || seen[1] != hostseed.Taken {
		t.Errorf("verdicts: got %v", seen)
	}

	// A Read that blocks until Stop: Run returns the context's error.
	tk2, _ := newTaker(t, keyring(t, p), k, 1)
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = hostseed.Run(ctx, tk2, hostseed.Loop[int]{
		Read:    func([]byte) (int, int, error) { <-stop; return 0, 0, errors.New("closed") },
		Stop:    func() { close(stop) },
		BufSize: 16,
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: got %v, want context.Canceled", err)
	}
}
