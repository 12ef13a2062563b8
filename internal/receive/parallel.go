package receive

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// ErrClosed is returned by [Parallel.Submit] after [Parallel.Close].
var ErrClosed = errors.New("receive: parallel pipeline closed")

// Parallel runs a [Pipeline] on several cores. Each datagram is checked,
// and its signature verified, by one of the workers (in batches when
// datagrams queue up); then one goroutine
// finishes the frames in the order they were submitted: it checks and
// records them in the replay window (so the window stays exact even when
// two workers verify copies of one frame at once), runs the health check
// and writes the bytes. So each producer's bytes reach the output in the
// order they arrived, as with [Pipeline.Handle].
//
// At most a fixed number of datagrams are in flight; [Parallel.Submit]
// blocks when all are, and the socket's buffer takes up the slack. Make
// one with [NewParallel]; Submit must not be called concurrently, and
// nothing else may use the Pipeline's Handle meanwhile.
type Parallel[T any] struct {
	p       *Pipeline
	batch   int // the most frames a worker verifies at once
	observe func(datagram []byte, tag T, v Verdict)
	slots   []slot[T]
	free    chan int // slots not in flight
	todo    chan int // slots for the workers
	order   chan int // slots for the finisher, in submission order

	wg     sync.WaitGroup
	err    atomic.Pointer[error] // the first error of finish: output, or ErrLimit
	done   chan struct{}         // closed when err is set
	closed bool
}

// slot is one datagram in flight.
type slot[T any] struct {
	buf   []byte
	tag   T
	w     work          // its buffers and verdict
	ready chan struct{} // a worker is done with the slot
}

// Options configures a [Parallel].
type Options struct {
	// Workers is how many goroutines check datagrams; at least 1.
	Workers int
	// Batch is the most frames a worker verifies in one batch when
	// several wait; 0 or 1 verifies each on its own. At most [MaxBatch].
	Batch int
}

// MaxBatch is the largest [Options.Batch]: past 64 frames a batch saves
// little more, and a failed batch costs its frames a second check.
const MaxBatch = 64

// NewParallel starts opts.Workers goroutines checking datagrams for p,
// and the goroutine that finishes them. T is the type of a tag the
// caller gives each datagram (its source address, say); observe, if not
// nil, is called by the finishing goroutine for every datagram not
// forwarded, and for a forwarded one that changed its producer's health
// ([Verdict.Health]) or its member state ([Verdict.Member]), with the datagram (valid only during the call), its tag and
// the verdict: it is for logs, and must be quick.
func NewParallel[T any](p *Pipeline, opts Options, observe func(datagram []byte, tag T, v Verdict)) *Parallel[T] {
	workers := max(opts.Workers, 1)
	n := 8 * workers // enough to keep every worker busy while the finisher writes
	q := &Parallel[T]{
		p: p, batch: min(max(opts.Batch, 1), MaxBatch), observe: observe, slots: make([]slot[T], n),
		free: make(chan int, n), todo: make(chan int, n), order: make(chan int, n),
		done: make(chan struct{}),
	}
	for i := range q.slots {
		q.slots[i] = slot[T]{buf: make([]byte, 0, p.cfg.MaxDatagram+1), w: newWork(p.cfg.MaxDatagram), ready: make(chan struct{}, 1)}
		q.free <- i
	}
	q.wg.Add(workers + 1)
	for range workers {
		go q.worker()
	}
	go q.finisher()
	return q
}

// Submit hands datagram to the workers; it copies what it needs, so the
// caller may reuse datagram at once. It returns the first error the
// finisher met (an output error or [ErrLimit]: the caller should stop),
// or nil.
func (q *Parallel[T]) Submit(datagram []byte, tag T) error {
	if q.closed {
		return ErrClosed
	}
	if err := q.err.Load(); err != nil {
		return *err
	}
	i := <-q.free
	s := &q.slots[i]
	// A datagram over the limit is copied only so far as to stay over it:
	// check drops it unread.
	s.buf = append(s.buf[:0], datagram[:min(len(datagram), q.p.cfg.MaxDatagram+1)]...)
	s.tag = tag
	q.p.received.Add(1)
	q.order <- i
	q.todo <- i
	return nil
}

// Done is closed when the finisher has stopped forwarding: after an
// output error, or once [Config.Limit] frames were forwarded ([ErrLimit]).
// [Parallel.Close] then returns the error.
func (q *Parallel[T]) Done() <-chan struct{} { return q.done }

// Close waits for every submitted datagram to be finished and stops the
// goroutines. It returns the first output error, or nil.
func (q *Parallel[T]) Close() error {
	if !q.closed {
		q.closed = true
		close(q.todo)
		close(q.order)
		q.wg.Wait()
	}
	if err := q.err.Load(); err != nil {
		return *err
	}
	return nil
}

// worker checks datagrams. When several are waiting, it takes up to
// q.batch of them and verifies their signatures in one batch, then
// decodes the payloads whose signature verified
// (sign.Batch), which costs about a third of verifying them one by one;
// a batch with a bad signature falls back to single verification, so a
// forged flood costs no more than single verification would.
func (q *Parallel[T]) worker() {
	defer q.wg.Done()
	var (
		batch sign.Batch
		idx   []int  // the slots taken
		sig   []int  // the slots whose signature is in the batch
		ok    []bool // the batch's verdicts
	)
	for i := range q.todo {
		idx = append(idx[:0], i)
	more:
		for len(idx) < q.batch {
			select {
			case j, open := <-q.todo:
				if !open {
					break more
				}
				idx = append(idx, j)
			default:
				break more
			}
		}
		if len(idx) == 1 {
			s := &q.slots[i]
			q.p.check(&s.w, s.buf, true)
			s.ready <- struct{}{}
			continue
		}
		batch.Reset()
		sig = sig[:0]
		for _, j := range idx {
			s := &q.slots[j]
			if q.p.precheck(&s.w, s.buf, true); s.w.v.Reason == None && !s.w.unsigned {
				batch.Add(&s.w.jws)
				sig = append(sig, j)
			}
		}
		var start time.Time
		if q.p.cfg.ObserveVerify != nil {
			start = time.Now()
		}
		ok = batch.Verify(ok)
		if q.p.cfg.ObserveVerify != nil && len(sig) > 0 {
			per := time.Since(start) / time.Duration(len(sig))
			for range sig {
				q.p.cfg.ObserveVerify(per)
			}
		}
		for k, j := range sig {
			w := &q.slots[j].w
			q.p.afterVerify(w, ok[k])
			if ok[k] {
				q.p.decode(w)
			} else {
				w.v.reject(BadSignature, sign.ErrBadSignature, withKid)
			}
		}
		for _, j := range idx {
			q.slots[j].ready <- struct{}{}
		}
	}
}

func (q *Parallel[T]) finisher() {
	defer q.wg.Done()
	for i := range q.order {
		s := &q.slots[i]
		<-s.ready
		if q.err.Load() == nil {
			v, err := q.p.finish(&s.w)
			if err != nil {
				q.err.Store(&err)
				close(q.done)
			}
			if (v.Reason != None || v.Health != HealthSame || v.Member != MemberSame) && err == nil && q.observe != nil {
				q.observe(s.buf, s.tag, v)
			}
		}
		q.free <- i
	}
}
