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

// batch is what ReadBatch reads into.
type batch struct {
	bufs [][]byte
	ns   []int
	srcs []netip.Addr
}

// newBatch returns a batch of n buffers of size bytes.
func newBatch(n, size int) batch {
	b := batch{bufs: make([][]byte, n), ns: make([]int, n), srcs: make([]netip.Addr, n)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, size)
	}
	return b
}

// from returns the batch from its i-th buffer on.
func (b batch) from(i int) batch { return batch{b.bufs[i:], b.ns[i:], b.srcs[i:]} }

// read reads a batch with r.ReadBatch.
func (b batch) read(r *mcast.Receiver) (int, error) { return r.ReadBatch(b.bufs, b.ns, b.srcs) }

// readBatches reads want datagrams with ReadBatch into b, failing the
// test if they do not come within a second of each other.
func readBatches(t *testing.T, r *mcast.Receiver, b batch, want int) (got [][]byte, srcs []netip.Addr, calls int) {
	t.Helper()
	for len(got) < want {
		if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := b.read(r)
		if err != nil {
			t.Fatalf("ReadBatch after %d datagrams of %d: %v", len(got), want, err)
		}
		calls++
		for i := range n {
			got = append(got, slices.Clone(b.bufs[i][:b.ns[i]]))
			srcs = append(srcs, b.srcs[i])
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

// TestBatchTruncated reads a datagram longer than its buffer: cut to it,
// the next one whole.
func TestBatchTruncated(t *testing.T) {
	group := testGroup()
	r := joinLo(t, group)
	s := dialLo(t, group)
	if n, err := s.WriteBatch([][]byte{[]byte("0123456789abcdef"), []byte("short")}); n != 2 || err != nil {
		t.Fatalf("WriteBatch: got %d, %v; want 2, nil", n, err)
	}
	b := newBatch(2, 10)
	read := 0
	for read < 2 {
		if err := r.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := b.from(read).read(r)
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		read += n
	}
	if got := string(b.bufs[0][:b.ns[0]]); got != "0123456789" {
		t.Errorf("long datagram: got %q, want %q", got, "0123456789")
	}
	if got := string(b.bufs[1][:b.ns[1]]); got != "short" {
		t.Errorf("short datagram: got %q, want %q", got, "short")
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
	if got := r.ReadBufferSize(); got != rb.Size {
		t.Errorf("ReadBufferSize: got %d, want %d", got, rb.Size)
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
	b := newBatch(mcast.MaxReadBatch, 2000)
	read := 0
	for {
		if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := b.read(r)
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
	got2, _, _ := readBatches(t, r2, batch{b.bufs[:1], b.ns, b.srcs}, 1) // one of those queued before the drops
	read2 := len(got2)
	for read2 < burst {
		if err := r2.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		n, err := b.read(r2)
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
	readBatches(t, r2, b, 1)
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
	b := newBatch(8, 200)
	if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	round := func() {
		if n, err := s.WriteBatch(sent); n != len(sent) || err != nil {
			t.Fatalf("WriteBatch: got %d, %v", n, err)
		}
		for read := 0; read < len(sent); {
			n, err := b.from(read).read(r)
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

// TestCloseUnblocksReadBatch: Close from another goroutine ends a
// ReadBatch waiting for datagrams, with net.ErrClosed, as recv's Stop
// relies on.
func TestCloseUnblocksReadBatch(t *testing.T) {
	r := joinLo(t, testGroup())
	done := make(chan error, 1)
	go func() {
		_, err := newBatch(4, 100).read(r)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let ReadBatch block; it works either way
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked ReadBatch after Close: got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked 5s after Close")
	}
	if _, err := newBatch(1, 100).read(r); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadBatch after Close: got %v, want net.ErrClosed", err)
	}
}
