package mcast_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// datagrams returns n datagrams of varied lengths, from 1 to 1+13(n-1)
// bytes, each with its own content.
func datagrams(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 1+i*13)
		for j := range out[i] {
			out[i][j] = byte(i + j)
		}
	}
	return out
}

// newBatch returns n Datagrams with buffers of size bytes.
func newBatch(n, size int) []mcast.Datagram {
	ds := make([]mcast.Datagram, n)
	for i := range ds {
		ds[i].Buf = make([]byte, size)
	}
	return ds
}

// readBatches reads want datagrams with ReadBatch into ds, failing the
// test if they do not come within a second of each other.
func readBatches(t *testing.T, r *mcast.Receiver, ds []mcast.Datagram, want int) (got [][]byte, srcs []netip.Addr, calls int) {
	t.Helper()
	for len(got) < want {
		if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := r.ReadBatch(ds)
		if err != nil {
			t.Fatalf("ReadBatch after %d datagrams of %d: %v", len(got), want, err)
		}
		calls++
		for _, d := range ds[:n] {
			if d.Truncated {
				t.Errorf("datagram %d: truncated, want whole", len(got))
			}
			got = append(got, slices.Clone(d.Buf[:d.N]))
			srcs = append(srcs, d.Src)
		}
	}
	return got, srcs, calls
}

// TestBatches sends with WriteBatch, more datagrams than one sendmmsg
// takes, and reads them with ReadBatch, 16 at a time: all arrive, in
// order, from the sender's address.
func TestBatches(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	if rb, err := r.SetReadBuffer(1 << 20); err != nil || rb.Size < 1<<20 && !rb.Capped {
		t.Fatalf("SetReadBuffer(1 MiB): got %+v, %v; want at least 1 MiB or capped", rb, err)
	}
	sent := datagrams(2*mcast.WriteBatchSize + 10)
	if n, err := s.WriteBatch(sent); n != len(sent) || err != nil {
		t.Fatalf("WriteBatch(%d datagrams): got %d, %v; want %d, nil", len(sent), n, err, len(sent))
	}
	if n, err := s.WriteBatch(nil); n != 0 || err != nil {
		t.Errorf("WriteBatch(nil): got %d, %v; want 0, nil", n, err)
	}
	got, srcs, calls := readBatches(t, r, newBatch(16, 2000), len(sent))
	for i := range sent {
		if !slices.Equal(got[i], sent[i]) {
			t.Fatalf("datagram #%d: got %d bytes %.8x..., want %d bytes %.8x...", i, len(got[i]), got[i], len(sent[i]), sent[i])
		}
		if srcs[i] != s.LocalAddr().Addr() {
			t.Errorf("datagram #%d source: got %s, want %s", i, srcs[i], s.LocalAddr().Addr())
		}
	}
	if calls >= len(sent) {
		t.Errorf("ReadBatch calls for %d queued datagrams: got %d, want fewer", len(sent), calls)
	}
	if got := r.Drops(); got != 0 {
		t.Errorf("Drops: got %d, want 0", got)
	}
}

// TestBatchTruncated reads a datagram longer than its buffer: cut to it
// and marked, the next one whole.
func TestBatchTruncated(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	if n, err := s.WriteBatch([][]byte{[]byte("0123456789abcdef"), []byte("short")}); n != 2 || err != nil {
		t.Fatalf("WriteBatch: got %d, %v; want 2, nil", n, err)
	}
	ds := newBatch(2, 10)
	read := 0
	for read < 2 {
		if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := r.ReadBatch(ds[read:])
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		read += n
	}
	if d := ds[0]; string(d.Buf[:d.N]) != "0123456789" || !d.Truncated {
		t.Errorf("long datagram: got %q, truncated %v; want %q, true", d.Buf[:d.N], d.Truncated, "0123456789")
	}
	if d := ds[1]; string(d.Buf[:d.N]) != "short" || d.Truncated {
		t.Errorf("short datagram: got %q, truncated %v; want %q, false", d.Buf[:d.N], d.Truncated, "short")
	}
}

// TestBatchForeignSkipped hands ReadBatch datagrams from sources it did
// not join, between joined ones: it returns the joined ones only, in
// order, and counts the others.
func TestBatchForeignSkipped(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	r := mcast.NewReceiverFromConn(conn, []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	defer r.Close()
	to := conn.LocalAddr().(*net.UDPAddr)
	for i, from := range []byte{2, 1, 3, 1, 1, 4} {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, from)}, to)
		if err != nil {
			t.Fatalf("dial from 127.0.0.%d: %v", from, err)
		}
		_, err = c.Write([]byte{byte(i), from})
		c.Close()
		if err != nil {
			t.Fatalf("send from 127.0.0.%d: %v", from, err)
		}
	}
	got, srcs, _ := readBatches(t, r, newBatch(8, 100), 3)
	if want := [][]byte{{1, 1}, {3, 1}, {4, 1}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("ReadBatch: got %v, want %v", got, want)
	}
	for _, src := range srcs {
		if src != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("source: got %s, want 127.0.0.1", src)
		}
	}
	if got := r.Foreign(); got != 3 {
		t.Errorf("Foreign: got %d, want 3", got)
	}
}

// TestKernelDrops fills a small receive buffer while nothing reads it:
// the kernel drops what does not fit, and Drops counts exactly the
// datagrams sent and never read, both from the socket's counter and, once
// a datagram queued after the drops is read, from its control message.
func TestKernelDrops(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	rb, err := r.SetReadBuffer(8192)
	if err != nil {
		t.Fatalf("SetReadBuffer(8192): %v", err)
	}
	if rb.Size < 8192 || rb.Size > 4*8192 {
		t.Errorf("SetReadBuffer(8192): size %d, want about twice 8192", rb.Size)
	}
	const burst = 200
	payload := make([]byte, 1000)
	sent := make([][]byte, burst)
	for i := range sent {
		sent[i] = payload
	}
	if n, err := s.WriteBatch(sent); n != burst || err != nil {
		t.Fatalf("WriteBatch: got %d, %v; want %d, nil", n, err, burst)
	}
	ds := newBatch(mcast.MaxReadBatch, 2000)
	read := 0
	for {
		if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := r.ReadBatch(ds)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		if read += n; read > burst {
			t.Fatalf("read %d datagrams, sent %d", read, burst)
		}
	}
	lost := uint64(burst - read)
	if lost == 0 {
		t.Fatalf("all %d datagrams of %d bytes fit a buffer of %d bytes: no drop to count", burst, len(payload), rb.Size)
	}
	if got := r.Drops(); got != lost {
		t.Errorf("Drops after reading %d of %d: got %d, want %d", read, burst, got, lost)
	}
	// A fresh receiver's counter, read from control messages only.
	r2 := joinLo(t, group)
	if _, err := r2.SetReadBuffer(8192); err != nil {
		t.Fatalf("SetReadBuffer: %v", err)
	}
	if n, err := s.WriteBatch(sent); n != burst || err != nil {
		t.Fatalf("WriteBatch: got %d, %v; want %d, nil", n, err, burst)
	}
	got2, _, _ := readBatches(t, r2, ds[:1], 1) // one of those queued before the drops
	read2 := len(got2)
	for read2 < burst {
		if err := r2.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := r2.ReadBatch(ds)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		read2 += n
	}
	if n, err := s.WriteBatch(sent[:1]); n != 1 || err != nil { // queued after the drops, it carries their count
		t.Fatalf("WriteBatch: got %d, %v; want 1, nil", n, err)
	}
	readBatches(t, r2, ds, 1)
	if got, want := r2.DropsRead(), uint64(burst-read2); got != want || got == 0 {
		t.Errorf("drops from control messages: got %d, want %d (> 0)", got, want)
	}
}

// TestBatchAllocs pins the steady state of WriteBatch and ReadBatch: no
// allocation.
func TestBatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	sent := datagrams(8)
	ds := newBatch(8, 200)
	if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	round := func() {
		if n, err := s.WriteBatch(sent); n != len(sent) || err != nil {
			t.Fatalf("WriteBatch: got %d, %v", n, err)
		}
		for read := 0; read < len(sent); {
			n, err := r.ReadBatch(ds[read:])
			if err != nil {
				t.Fatalf("ReadBatch: %v", err)
			}
			read += n
		}
	}
	round() // warm the buffers
	runtime.GC()
	if got := testing.AllocsPerRun(50, round); got != 0 {
		t.Errorf("allocations per round of %d datagrams: got %v, want 0", len(sent), got)
	}
}
