package sink_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/sink"
)

// prompt bounds how long a non-blocking Write may take; it is generous so
// that a loaded machine does not fail the test, yet far shorter than a
// Write that waits for a reader.
const prompt = time.Second

// openReader opens the FIFO at path for reading, the way rngd does. It does
// not block because the sink under test holds a write end.
func openReader(t *testing.T, path string) *os.File {
	t.Helper()
	r, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open reader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readN reads exactly n bytes from r within a few seconds.
func readN(t *testing.T, r *os.File, n int) []byte {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	buf := make([]byte, n)
	if got, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("read: got %d bytes and %v, want %d bytes", got, err, n)
	}
	return buf
}

// checkEmpty fails t unless a read from r finds nothing and waits: no
// bytes beyond what was written, and no end of file.
func checkEmpty(t *testing.T, r *os.File) {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	var b [1]byte
	n, err := r.Read(b[:])
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from drained fifo: got %d bytes and %v, want 0 and a deadline timeout (not EOF)", n, err)
	}
}

// mustWrite writes p to s, failing t on any error or a slow return.
func mustWrite(t *testing.T, s sink.Sink, p []byte) {
	t.Helper()
	start := time.Now()
	n, err := s.Write(p)
	if err != nil || n != len(p) {
		t.Fatalf("Write(%d bytes): got %d, %v, want %d, nil", len(p), n, err, len(p))
	}
	if d := time.Since(start); d > prompt {
		t.Fatalf("Write took %v, want under %v", d, prompt)
	}
}

func openSink(t *testing.T, path string) sink.Sink {
	t.Helper()
	s, err := sink.Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesFIFO(t *testing.T) {
	t.Parallel()
	// The folder exists: Open makes none but RuntimeDir
	// (TestOpenMissingFolder).
	dir := filepath.Join(t.TempDir(), "run", "ssmrandom")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rnd-pipe")
	s := openSink(t, path)

	if got, want := s.String(), fmt.Sprintf("fifo %q", path); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("got mode %v, want a named pipe", fi.Mode())
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("got permissions %v, want %v", got, want)
	}
	if di, err := os.Stat(dir); err != nil || !di.IsDir() {
		t.Errorf("parent directory: got %v, %v, want a directory", di, err)
	}

	// Bytes written before any reader opened wait in the pipe for it.
	mustWrite(t, s, []byte("before reader"))
	r := openReader(t, path)
	if got, want := string(readN(t, r, 13)), "before reader"; got != want {
		t.Errorf("read got %q, want %q", got, want)
	}
	checkEmpty(t, r)
}

func TestExistingFIFOReaderRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	if err := syscall.Mkfifo(path, 0o640); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	s := openSink(t, path)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("existing fifo permissions: got %v, %v, want -rw-r-----, nil", fi.Mode(), err)
	}

	r1 := openReader(t, path)
	mustWrite(t, s, []byte("first"))
	if got, want := string(readN(t, r1, 5)), "first"; got != want {
		t.Errorf("reader 1 got %q, want %q", got, want)
	}
	checkEmpty(t, r1)

	// rngd goes away: writes go on without EPIPE or SIGPIPE.
	r1.Close()
	mustWrite(t, s, []byte("while-gone"))

	// rngd comes back and gets what was written meanwhile, then waits
	// rather than seeing EOF.
	r2 := openReader(t, path)
	if got, want := string(readN(t, r2, 10)), "while-gone"; got != want {
		t.Errorf("reader 2 got %q, want %q", got, want)
	}
	checkEmpty(t, r2)
	mustWrite(t, s, []byte("again"))
	if got, want := string(readN(t, r2, 5)), "again"; got != want {
		t.Errorf("reader 2 got %q, want %q", got, want)
	}

	// Once the sink is closed, and no one else writes, the reader sees EOF.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r2.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := r2.Read(b[:]); n != 0 || err != io.EOF {
		t.Errorf("read after Close: got %d, %v, want 0, EOF", n, err)
	}
}

// stream returns n deterministic bytes starting at offset off of a
// pattern that does not repeat with any small period.
func stream(off, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		x := uint32(off + i)
		p[i] = byte(x*2654435761>>24) ^ byte(x)
	}
	return p
}

func TestFIFOFullThenRecovers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s := openSink(t, path)

	// Fill the pipe nobody reads with writes whose size does not divide
	// its capacity, so the last one that fails had some room but not
	// enough.
	const chunk = 1000
	var sent []byte
	full := false
	for i := 0; i < (16<<20)/chunk && !full; i++ {
		p := stream(len(sent), chunk)
		start := time.Now()
		n, err := s.Write(p)
		if d := time.Since(start); d > prompt {
			t.Fatalf("Write %d took %v, want under %v", i, d, prompt)
		}
		switch {
		case errors.Is(err, sink.ErrFull):
			if n != 0 {
				t.Fatalf("Write %d: got %d bytes with ErrFull, want 0", i, n)
			}
			full = true
		case err != nil:
			t.Fatalf("Write %d: got %v, want nil or ErrFull", i, err)
		case n != chunk:
			t.Fatalf("Write %d: got %d bytes, want %d", i, n, chunk)
		default:
			sent = append(sent, p...)
		}
	}
	if !full {
		t.Fatalf("no ErrFull after %d bytes", len(sent))
	}
	// Still full: a bigger write fails the same way.
	if n, err := s.Write(stream(0, sink.PipeBuf)); n != 0 || !errors.Is(err, sink.ErrFull) {
		t.Fatalf("Write(PipeBuf) to full fifo: got %d, %v, want 0, ErrFull", n, err)
	}

	// The reader gets exactly the successful writes, nothing partial.
	r := openReader(t, path)
	if got := readN(t, r, len(sent)); !bytes.Equal(got, sent) {
		t.Fatalf("drained %d bytes that differ from the %d sent", len(got), len(sent))
	}
	checkEmpty(t, r)

	// Drained: writes succeed again.
	p := stream(len(sent), chunk)
	mustWrite(t, s, p)
	if got := readN(t, r, chunk); !bytes.Equal(got, p) {
		t.Errorf("after recovery: got bytes that differ from those written")
	}
	checkEmpty(t, r)
}

func TestFIFOWriteLargerThanPipeBuf(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s := openSink(t, path)

	n, err := s.Write(stream(0, sink.PipeBuf+1))
	var big interface{ TooBig() bool }
	if !errors.Is(err, sink.ErrTooBig) || errors.Is(err, sink.ErrFull) || !errors.As(err, &big) || !big.TooBig() || n != 0 {
		t.Fatalf("Write(PipeBuf+1): got %d, %v, want 0 and ErrTooBig (which a caller tells by its method TooBig)", n, err)
	}
	p := stream(0, sink.PipeBuf)
	mustWrite(t, s, p)
	r := openReader(t, path)
	if got := readN(t, r, len(p)); !bytes.Equal(got, p) {
		t.Errorf("read back differs from the PipeBuf bytes written")
	}
	checkEmpty(t, r)
}

// TestMaxWrite checks what MaxWrite says of each kind of output before
// Open: PipeBuf for a FIFO, or a path where Open would make one; no limit
// for the others.
func TestMaxWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want int
	}{
		{fifo, sink.PipeBuf},
		{filepath.Join(dir, "missing"), sink.PipeBuf},
		{file, 0},
		{"/dev/null", 0},
		{"-", 0},
		{dir, 0},
	} {
		if got := sink.MaxWrite(tt.path); got != tt.want {
			t.Errorf("MaxWrite(%q): got %d, want %d", tt.path, got, tt.want)
		}
	}
}

func TestFIFOCloseThenWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s, err := sink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, err := s.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: got %d, %v, want 0, os.ErrClosed", n, err)
	}
	if err := s.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: got %v, want os.ErrClosed", err)
	}
}

func TestFIFOConcurrentWritesDoNotInterleave(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s := openSink(t, path)
	r := openReader(t, path)

	const writers, each, size = 8, 200, 512
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			for seq := 0; seq < each; {
				p := bytes.Repeat([]byte{byte(w)}, size)
				p[1], p[2] = byte(seq>>8), byte(seq)
				_, err := s.Write(p)
				if errors.Is(err, sink.ErrFull) {
					if time.Now().After(deadline) {
						errc <- fmt.Errorf("writer %d: still full at %d", w, seq)
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					errc <- fmt.Errorf("writer %d: %v", w, err)
					return
				}
				seq++
			}
		})
	}

	next := make([]int, writers)
	for range writers * each {
		b := readN(t, r, size)
		w := int(b[0])
		if w >= writers {
			t.Fatalf("block names writer %d, want < %d", w, writers)
		}
		if seq := int(b[1])<<8 | int(b[2]); seq != next[w] {
			t.Fatalf("writer %d: got block %d, want %d", w, seq, next[w])
		}
		b[1], b[2] = byte(w), byte(w)
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(w)}, size)) {
			t.Fatalf("writer %d block %d: interleaved with another write", w, next[w])
		}
		next[w]++
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	checkEmpty(t, r)
}

func TestFIFOCloseDuringWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s, err := sink.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			p := make([]byte, 64)
			for {
				_, err := s.Write(p)
				switch {
				case err == nil, errors.Is(err, sink.ErrFull):
				case errors.Is(err, os.ErrClosed):
					return
				default:
					errc <- err
					return
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("Write racing Close: got %v, want nil, ErrFull or os.ErrClosed", err)
	}
}

func TestFIFOWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	path := filepath.Join(t.TempDir(), "rnd-pipe")
	s := openSink(t, path)
	p := make([]byte, 16)
	// 100 runs of 16 bytes fit in any pipe buffer.
	if got := testing.AllocsPerRun(100, func() {
		if _, err := s.Write(p); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("Write: got %v allocations, want 0", got)
	}
	for {
		if _, err := s.Write(make([]byte, sink.PipeBuf)); errors.Is(err, sink.ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, sink.PipeBuf)
	if got := testing.AllocsPerRun(100, func() {
		if _, err := s.Write(big); !errors.Is(err, sink.ErrFull) {
			t.Fatalf("got %v, want ErrFull", err)
		}
	}); got != 0 {
		t.Errorf("Write to full fifo: got %v allocations, want 0", got)
	}
}

func BenchmarkFIFOWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rnd-pipe")
	s, err := sink.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	go io.Copy(io.Discard, r)

	p := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	var dropped int
	for b.Loop() {
		if _, err := s.Write(p); errors.Is(err, sink.ErrFull) {
			dropped++
		} else if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
}

func BenchmarkDevNullWrite(b *testing.B) {
	s, err := sink.Open("/dev/null")
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	p := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := s.Write(p); err != nil {
			b.Fatal(err)
		}
	}
}
