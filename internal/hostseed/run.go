package hostseed

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Heard says in words what the counts are: "no datagrams", or the number
// of datagrams and, for each reason that happened, how many and what it
// means, then how many of the seeds needed were taken. It is for the
// line a host prints when it gives up.
func (s Stats) Heard() string {
	if s.Datagrams == 0 {
		return fmt.Sprintf("no datagrams; 0 of %d seeds", s.Need)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d datagrams", s.Datagrams)
	sep := ": "
	for r := TooBig; r < numReasons; r++ {
		if n := s.Count[r]; n > 0 {
			b.WriteString(sep)
			fmt.Fprintf(&b, reasons[r].heard, n)
			sep = ", "
		}
	}
	fmt.Fprintf(&b, "; %d of %d seeds", s.Count[Taken], s.Need)
	return b.String()
}

// Loop says where [Run] reads datagrams and what it tells of them.
type Loop[T any] struct {
	// Read reads one datagram into buf and returns its length and a tag
	// (its source address, say). A datagram longer than buf should fill
	// it and be returned without an error: buf is longer than the size
	// limit, so the Taker drops it as [TooBig].
	Read func(buf []byte) (n int, tag T, err error)
	// Stop makes a Read that blocks return an error; Run calls it once
	// ctx is done.
	Stop func()
	// BufSize is the length of Read's buffer.
	BufSize int
	// Observe, if not nil, is told of every datagram's verdict.
	Observe func(datagram []byte, tag T, v Verdict)
}

// Run reads datagrams with l.Read and hands each to t until t is
// [Taker.Done] (it returns nil), ctx is done (it returns ctx.Err()) or
// Read fails (its error).
func Run[T any](ctx context.Context, t *Taker, l Loop[T]) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // Stop unblocks Read when ctx is done
		defer wg.Done()
		select {
		case <-ctx.Done():
			l.Stop()
		case <-done:
		}
	}()
	defer wg.Wait()
	defer close(done)
	buf := make([]byte, l.BufSize)
	defer clear(buf)
	for !t.Done() {
		n, tag, err := l.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		v := t.Handle(buf[:n])
		if l.Observe != nil {
			l.Observe(buf[:n], tag, v)
		}
	}
	return nil
}
