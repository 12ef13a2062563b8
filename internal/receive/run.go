package receive

import (
	"context"
	"errors"
	"sync"
)

// ErrOutput wraps an output's Write error other than a full output: the
// error that ends [Run], and that [Pipeline.Handle] returns.
var ErrOutput = errors.New("receive: write output")

// Loop says where [Run] reads datagrams and what it tells of them.
type Loop[T any] struct {
	// Read reads one datagram into buf and returns its length and a tag
	// (its source address, say). A datagram longer than buf should fill
	// it and be returned without an error: buf is longer than the
	// datagram size limit, so the pipeline drops it as [TooBig].
	Read func(buf []byte) (n int, tag T, err error)
	// Stop makes a Read that blocks return an error; Run calls it once
	// ctx is done or the pipeline stopped forwarding.
	Stop func()
	// BufSize is the length of Read's buffer.
	BufSize int
	// Observe, if not nil, is told of every datagram not forwarded, and of
	// a forwarded one that changed its producer's health, as in
	// [NewParallel].
	Observe func(datagram []byte, tag T, v Verdict)
	// Options are the workers' ([NewParallel]).
	Options Options
}

// Run reads datagrams with l.Read and has p check and forward them on
// l.Options.Workers cores ([Parallel]), until ctx is done, Read fails, the
// output fails or [Config.Limit] frames were forwarded; then it finishes
// the datagrams in flight. It returns nil once the limit is reached, an
// error wrapping [ErrOutput] for an output that failed, and otherwise
// Read's error (after ctx is done, the one Stop caused).
func Run[T any](ctx context.Context, p *Pipeline, l Loop[T]) error {
	q := NewParallel(p, l.Options, l.Observe)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // Stop unblocks Read when ctx is done or the pipeline stops
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-q.Done():
		case <-done:
		}
		l.Stop()
	}()
	defer wg.Wait()
	defer close(done)
	buf := make([]byte, l.BufSize)
	for {
		n, tag, err := l.Read(buf)
		if err == nil {
			err = q.Submit(buf[:n], tag)
		}
		if err != nil {
			qerr := q.Close() // finish what is in flight
			switch {
			case errors.Is(qerr, ErrLimit):
				return nil
			case qerr != nil:
				return qerr
			}
			return err
		}
	}
}
