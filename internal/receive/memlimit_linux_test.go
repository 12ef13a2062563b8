package receive_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/nordunet/ssmrandom/internal/memlimit"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// manyKeys returns a keyring of k.trusted and n-1 other keys, each made
// from a distinct seed.
func manyKeys(tb testing.TB, k keys, n int) *sign.Keyring {
	tb.Helper()
	ks := []sign.Key{{Public: k.trusted.Public()}}
	seed := make([]byte, ed25519.SeedSize)
	for i := 1; i < n; i++ {
		seed[0], seed[1], seed[2], seed[31] = byte(i), byte(i>>8), byte(i>>16), 0xa5
		ks = append(ks, sign.Key{Public: ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)})
	}
	ring, err := sign.NewKeyring(ks...)
	if err != nil {
		tb.Fatalf("NewKeyring: got error %v, want nil", err)
	}
	return ring
}

// offHeap returns n good frames of k.trusted, signed in advance and kept
// outside the Go heap (an anonymous mapping), so that they count neither
// towards the live heap nor towards the soft memory limit.
func offHeap(b testing.TB, k keys, n int) [][]byte {
	b.Helper()
	frames := make([][]byte, n)
	var size int
	for i := range frames {
		frames[i] = signFrame(b, k.trusted, mkframe(uint64(i), now, strings.Repeat("x", 512)))
		size += len(frames[i])
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = syscall.Munmap(mem) })
	for i, f := range frames {
		frames[i], mem = mem[:len(f):len(f)], mem[len(f):]
		copy(frames[i], f)
	}
	return frames
}

// errStop is what [readAll]'s Read returns after the last frame.
var errStop = errors.New("stop")

// readAll returns a read loop as recv's (all cores, batches of
// [receive.MaxBatch]) that reads frames, then fails with errStop.
func readAll(frames [][]byte) receive.Loop[int] {
	i := 0
	return receive.Loop[int]{
		BufSize: maxDatagram + 1,
		Read: func(buf []byte) (int, int, error) {
			if i == len(frames) {
				return 0, 0, errStop
			}
			i++
			return copy(buf, frames[i-1]), 0, nil
		},
		Stop:    func() {},
		Options: receive.Options{Workers: runtime.GOMAXPROCS(0), Batch: receive.MaxBatch},
	}
}

// TestManyKeysCollections runs 2,000 good frames through a receiver that
// trusts 20,000 keys, under the soft memory limit recv sets
// ([memlimit.Fit]), and counts the collections: the keyring and its
// producers' state (about 13 MiB) are over the fixed 8 MiB limit recv
// had, under which the collector ran about 5 times per 1,000 frames and
// a frame cost about 3.5 times the CPU (issue 14 item 9).
func TestManyKeysCollections(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	k := newKeys(t)
	frames := offHeap(t, k, 2000)
	p, err := receive.New(receive.Config{Trust: manyKeys(t, k, 20_000), Output: discard{}, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now})
	if err != nil {
		t.Fatal(err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	limit := memlimit.Fit()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := receive.Run(t.Context(), p, readAll(frames)); !errors.Is(err, errStop) {
		t.Fatalf("Run: got %v, want %v", err, errStop)
	}
	runtime.ReadMemStats(&after)
	if got := p.Stats().Frames; got != uint64(len(frames)) {
		t.Fatalf("frames forwarded: got %d, want %d", got, len(frames))
	}
	if got := after.NumGC - before.NumGC; got > 2 {
		t.Errorf("collections in %d frames with 20,000 keys under a %d MiB limit: got %d, want at most 2", len(frames), limit>>20, got)
	}
}

// fit stands for the limit [memlimit.Fit] sets.
const fit = -1

// BenchmarkTrustedKeys times good frames through [receive.Run], the read
// loop recv runs, with 1 and 20,000 trusted keys (one of which sends),
// with no soft memory limit, with the fixed 8 MiB one recv had, and with
// the one [memlimit.Fit] sets, as recv now does. The metric
// "GCs/1000frames" counts the collections the run caused.
func BenchmarkTrustedKeys(b *testing.B) {
	k := newKeys(b)
	for _, n := range []int{1, 20_000} {
		ring := manyKeys(b, k, n)
		for _, limit := range []int64{0, 8 << 20, fit} {
			name := fmt.Sprintf("keys=%d/limit=%dMiB", n, limit>>20)
			if limit == fit {
				name = fmt.Sprintf("keys=%d/limit=fit", n)
			}
			b.Run(name, func(b *testing.B) {
				frames := offHeap(b, k, b.N)
				p, err := receive.New(receive.Config{Trust: ring, Output: discard{}, MaxDatagram: maxDatagram, Now: (&clock{ms: now}).now})
				if err != nil {
					b.Fatal(err)
				}
				switch old := debug.SetMemoryLimit(-1); limit {
				case fit:
					defer debug.SetMemoryLimit(old)
					memlimit.Fit()
				case 0:
				default:
					defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
				}
				loop := readAll(frames)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.SetBytes(512)
				b.ReportAllocs()
				b.ResetTimer()
				if err := receive.Run(b.Context(), p, loop); !errors.Is(err, errStop) {
					b.Fatalf("Run: got %v, want %v", err, errStop)
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				if got := p.Stats().Frames; got != uint64(b.N) {
					b.Fatalf("frames forwarded: got %d, want %d", got, b.N)
				}
				b.ReportMetric(float64(after.NumGC-before.NumGC)*1000/float64(b.N), "GCs/1000frames")
				if limit != 0 {
					b.ReportMetric(float64(debug.SetMemoryLimit(-1))/(1<<20), "MiB-limit")
				}
			})
		}
	}
}
