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
	// ReadBatch, if not nil, is used instead of Read: it reads up to
	// len(bufs) datagrams at once (recvmmsg, say), waiting for the first,
	// the i-th into bufs[i] (it may exchange the elements of bufs), and
	// returns how many, with the length of each in ns[i] and its tag in
	// tags[i]. A datagram longer than its buffer should fill it, as with
	// Read.
	ReadBatch func(bufs [][]byte, ns []int, tags []T) (int, error)
	// Batch is the most datagrams one ReadBatch reads, 1 to [MaxReadBatch];
	// 0 means MaxReadBatch.
	Batch int
	// Stop makes a Read that blocks return an error; Run calls it once
	// ctx is done or the pipeline stopped forwarding.
	Stop func()
	// BufSize is the length of Read's buffer. ReadBatch's buffers are
	// [Config.MaxDatagram]+1 bytes long, if that is less: a datagram that
	// fills one is over the limit, and dropped as [TooBig] all the same.
	BufSize int
	// Observe, if not nil, is told of every datagram not forwarded, and of
	// a forwarded one that changed its producer's health, as in
	// [NewParallel].
	Observe func(datagram []byte, tag T, v Verdict)
	// Options are the workers' ([NewParallel]).
	Options Options
}

// MaxReadBatch is the most datagrams [Run] asks one [Loop.ReadBatch] for.
const MaxReadBatch = 64

// Run reads datagrams with l.Read (or l.ReadBatch) and has p check and forward them on
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
	var err error
	if l.ReadBatch != nil {
		err = readBatches(q, l, min(l.BufSize, p.cfg.MaxDatagram+1))
	} else {
		err = readOne(q, l)
	}
	qerr := q.Close() // finish what is in flight
	switch {
	case errors.Is(qerr, ErrLimit):
		return nil
	case qerr != nil:
		return qerr
	}
	return err
}

// readOne submits the datagrams l.Read reads to q until one of them
// fails, and returns that error.
func readOne[T any](q *Parallel[T], l Loop[T]) error {
	buf := make([]byte, l.BufSize)
	for {
		n, tag, err := l.Read(buf)
		if err == nil {
			err = q.Submit(buf[:n], tag)
		}
		if err != nil {
			return err
		}
	}
}

// readBatches submits the datagrams l.ReadBatch reads into buffers of
// size bytes to q until one of them fails, and returns that error.
func readBatches[T any](q *Parallel[T], l Loop[T], size int) error {
	batch := l.Batch
	if batch <= 0 || batch > MaxReadBatch {
		batch = MaxReadBatch
	}
	bufs, ns, tags := make([][]byte, batch), make([]int, batch), make([]T, batch)
	mem := make([]byte, batch*size)
	for i := range bufs {
		bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	for {
		n, err := l.ReadBatch(bufs, ns, tags)
		for i := range n {
			if err := q.Submit(bufs[i][:ns[i]], tags[i]); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
}
