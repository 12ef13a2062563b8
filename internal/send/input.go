package send

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/nordunet/ssmrandom/internal/health"
)

// inputRead is the most bytes an [input] with health tests reads from
// its source at a time: one FIPS block, so that a failure drops little
// more than the failing block (the rest of a failing read is dropped
// untested) and a probation after it little more than a block.
const inputRead = health.BlockSize

// input is the one place the frames and the seed rounds read the source
// through: it serialises their reads and, with a health monitor, runs the
// health tests on every byte before either may use it.
//
// With a monitor, bytes are checked as they are read and released only
// once the FIPS block that covers them has passed (all but the last
// [health.Monitor.Pending] bytes checked); when a check fails, every byte
// held back and the bytes of that read are dropped, so no byte of a
// failing block is framed, signed or sealed. An isolated FIPS block
// failure ([health.ErrBlock], the chance failure of a good source) ends
// there: it is counted and the input reads on, not failing. Any other
// failure makes the source failing (change is told once); while it fails, Read
// does not return: it reads on (no faster than limit allows, if not nil)
// until the source passes again, its context is done or it has an error.
// At the end of the source (io.EOF) the bytes held back, in a last block
// too short for the FIPS tests, are released: they passed every other
// test.
//
// Its zero value is not usable; it is safe for concurrent use.
type input struct {
	mu  sync.Mutex
	r   io.Reader
	mon *health.Monitor // nil: no tests, reads go straight to r

	ctx    context.Context // ends a Read that waits for a failing source
	limit  *rate.Limiter   // paces the reads of a failing source; nil: no limit
	change func(error)     // told when the source starts failing and passes again

	// buf[off:rel] has been released and not yet read; buf[rel:end] is
	// checked and held back until its FIPS block passes.
	buf           []byte
	off, rel, end int
	err           error // the source's error, once it has one
	failing       bool

	failures, blocks, dropped atomic.Uint64
	unhealthy                 atomic.Bool
}

// newInput returns the input reading r, with the health tests of cfg
// if it is not nil.
func newInput(r io.Reader, cfg *health.Config, limit *rate.Limiter, change func(error)) (*input, error) {
	in := &input{r: r, ctx: context.Background(), limit: limit, change: change}
	if cfg != nil {
		var err error
		if in.mon, err = health.New(*cfg); err != nil {
			return nil, err
		}
		in.buf = make([]byte, health.BlockSize-1+inputRead) // held back, and one read
	}
	return in, nil
}

// Read reads released bytes into p.
func (in *input) Read(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.mon == nil {
		return in.r.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for in.off == in.rel {
		if in.err != nil {
			if in.rel == in.end || !errors.Is(in.err, io.EOF) {
				return 0, in.err
			}
			in.rel = in.end // the last, short block
			break
		}
		in.fill()
	}
	n := copy(p, in.buf[in.off:in.rel])
	in.off += n
	return n, nil
}

// fill reads from the source once and checks what it read. It is called
// with nothing released left to read (off == rel).
func (in *input) fill() {
	held := copy(in.buf, in.buf[in.rel:in.end])
	in.off, in.rel, in.end = 0, 0, held
	want := min(inputRead, len(in.buf)-held)
	if in.failing {
		if err := in.ctx.Err(); err != nil {
			in.err = err
			return
		}
		if in.limit != nil {
			want = min(want, in.limit.Burst())
			if err := in.limit.WaitN(in.ctx, want); err != nil {
				in.err = err
				return
			}
		}
	}
	n, err := in.r.Read(in.buf[held : held+want])
	if n > 0 {
		in.check(in.buf[held : held+n])
	}
	if err != nil {
		in.err = err
	}
}

// check runs the health tests on data, just read after the bytes held
// back, and releases or drops them.
func (in *input) check(data []byte) {
	if err := in.mon.Check(data); err != nil {
		in.dropped.Add(uint64(in.end - in.rel + len(data)))
		in.end = in.rel
		switch {
		case errors.Is(err, health.ErrBlock):
			in.blocks.Add(1)
			return
		case !errors.Is(err, health.ErrFailed):
			in.failures.Add(1)
		}
		if !in.failing {
			in.failing = true
			in.unhealthy.Store(true)
			if in.change != nil {
				in.change(err)
			}
		}
		return
	}
	in.end += len(data)
	// The block in progress may have begun in a read refused on
	// probation, whose bytes were dropped: then every byte here is
	// pending, and none is released.
	in.rel = max(in.end-in.mon.Pending(), 0)
	if in.failing {
		in.failing = false
		in.unhealthy.Store(false)
		if in.change != nil {
			in.change(nil)
		}
	}
}
