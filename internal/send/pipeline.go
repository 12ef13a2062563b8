package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nordunet/ssmrandom/internal/frame"
)

// readChunk is how many bytes the Loop asks of its input in one read: a
// read of /dev/urandom or a file costs about the same for 64 KiB as for
// one frame's bytes. A read returns what it has (a pipe's, or the bytes
// the health tests have released), so no frame waits for a full chunk.
const readChunk = 64 << 10

// readBuffers is how many buffers of readChunk bytes the reading
// goroutine cycles through: one being read, one queued, one being cut
// into frames.
const readBuffers = 3

// jobFrames and jobBytes bound a job, the frames that one worker frames
// and the sending goroutine then sends as one batch: at most jobFrames
// frames and, of frames smaller than jobBytes, at most jobBytes of
// entropy. The goroutines hand over a job, not a frame, so that a
// hand-over costs little beside the frames' signatures.
const (
	jobFrames = 64
	jobBytes  = 64 << 10
)

// errSentNone is the error of a datagram that a BatchConn's WriteBatch
// neither sent nor gave an error for.
var errSentNone = errors.New("send: batch write sent nothing")

// A job is a batch of frames: numbered in order by the dispatching
// goroutine, framed by one worker, sent in order by the goroutine running
// Run, then reused.
type job struct {
	slots []slot
	n     int           // slots[:n] are this batch's frames
	out   [][]byte      // out[i] is slots[i]'s datagram, made by the worker
	done  chan struct{} // the worker is done with it
}

// slot is one frame of a job and its buffers, made once per run.
type slot struct {
	f     frame.Frame // numbered and dated; f.Data is in data
	data  []byte      // Size bytes
	dgram []byte      // room for the longest datagram of Size bytes
}

// pipe is one run of a Loop's frames: a goroutine reads the input in
// chunks; the dispatching goroutine cuts them into frames, paces,
// numbers and dates each, and hands them over in jobs; Workers
// goroutines frame the jobs, each with its own Framer; the goroutine
// running Run sends the jobs in the order they were numbered.
type pipe struct {
	l *Loop

	chunks   chan chunk    // read from the input, to the dispatcher
	bufs     chan []byte   // read buffers free for the reader
	free     chan *job     // jobs free for the dispatcher
	work     chan *job     // jobs to frame, to the workers
	order    chan *job     // the same jobs, in order, to the sender
	progress chan struct{} // a job was sent: the dispatcher may go on
	errc     chan error    // the dispatcher's end

	// The dispatcher's own.
	newJob     func() *job
	jobsLeft   int    // how many more jobs newJob may make
	cur        *job   // the job being filled; nil: none taken yet
	part       []byte // a frame's bytes read so far, when a chunk ended in it
	dispatched uint64 // frames numbered

	fails atomic.Uint64 // frames lost to a failed send, by the sender
}

// chunk is one read from the input.
type chunk struct {
	buf []byte // the read buffer; its data is buf[:n]
	n   int
	err error // io.EOF at the end of the input
}

// runFrames is Run's part that sends the frames. It returns once the
// goroutines it started have ended, all but a reader blocked in a read.
func (l *Loop) runFrames(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx) // not Run's: that would cut a seed round short
	defer cancel()
	workers := l.cfg.Workers
	jobs := 2*workers + 2 // the most: workers framing, one filled, one sent, the rest queued
	size, dlen := l.cfg.Size, l.cfg.Framer.Len(l.cfg.Source, l.cfg.Size)
	per := min(jobFrames, max(1, jobBytes/size))
	p := &pipe{
		l:        l,
		chunks:   make(chan chunk, 1),
		bufs:     make(chan []byte, readBuffers),
		free:     make(chan *job, jobs),
		work:     make(chan *job, jobs),
		order:    make(chan *job, jobs),
		progress: make(chan struct{}, 1),
		errc:     make(chan error, 1),
		part:     make([]byte, 0, size),
	}
	for range readBuffers {
		p.bufs <- make([]byte, readChunk)
	}
	p.newJob = func() *job {
		j := &job{slots: make([]slot, per), out: make([][]byte, per), done: make(chan struct{}, 1)}
		data, dgrams := make([]byte, per*size), make([]byte, per*dlen)
		for i := range j.slots {
			j.slots[i] = slot{f: frame.Frame{Source: l.cfg.Source},
				data: data[i*size : (i+1)*size : (i+1)*size], dgram: dgrams[i*dlen : i*dlen : (i+1)*dlen]}
		}
		return j
	}
	p.jobsLeft = jobs
	go p.read(ctx)
	var wg sync.WaitGroup
	wg.Add(workers + 1)
	go func() {
		defer wg.Done()
		p.errc <- p.dispatch(ctx)
	}()
	for range workers {
		go func(f Framer) {
			defer wg.Done()
			p.frame(f)
		}(l.cfg.Framer.Clone())
	}
	err := p.send(ctx)
	cancel()
	wg.Wait()
	return err
}

// read reads the input in its own goroutine, so that a cancelled context
// ends the run even while a read from a pipe or a slow device blocks. It
// stops after an error (io.EOF too).
func (p *pipe) read(ctx context.Context) {
	for {
		var buf []byte
		select {
		case buf = <-p.bufs:
		case <-ctx.Done():
			return
		}
		n, err := p.l.cfg.Input.Read(buf)
		if n == 0 && err == nil {
			p.bufs <- buf
			continue
		}
		select {
		case p.chunks <- chunk{buf: buf, n: n, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// dispatch cuts the chunks read into frames, numbers them and hands them
// over in jobs, until the input ends, the count is reached (every frame
// numbered sent, or lost and made up for), ctx is done or it fails. It
// closes work and order when it returns.
func (p *pipe) dispatch(ctx context.Context) (err error) {
	defer func() {
		p.flush()
		close(p.work)
		close(p.order)
	}()
	for {
		var c chunk
		select {
		case c = <-p.chunks:
		default:
			p.flush() // nothing more to read at once: send what is framed
			select {
			case c = <-p.chunks:
			case <-ctx.Done():
				return nil
			}
		}
		stop, err := p.cut(ctx, c.buf[:c.n])
		p.bufs <- c.buf
		if stop || err != nil {
			return err
		}
		if c.err == nil {
			continue
		}
		if len(p.part) > 0 { // a last, short frame
			if stop, err := p.emit(ctx, p.part); stop || err != nil {
				return err
			}
		}
		if errors.Is(c.err, io.EOF) || ctx.Err() != nil { // an error of a read cut short by the end of the run is none
			return nil
		}
		return fmt.Errorf("send: %w: %w", ErrRead, c.err)
	}
}

// cut cuts data into frames of Size bytes, the first completing p.part
// and the bytes after the last whole frame kept in it, and emits each.
func (p *pipe) cut(ctx context.Context, data []byte) (stop bool, err error) {
	size := p.l.cfg.Size
	for len(data) > 0 {
		if ctx.Err() != nil {
			return true, nil
		}
		var f []byte
		if len(p.part) == 0 && len(data) >= size {
			f, data = data[:size], data[size:]
		} else {
			n := min(size-len(p.part), len(data))
			p.part, data = append(p.part, data[:n]...), data[n:]
			if len(p.part) < size {
				break
			}
			f = p.part
		}
		if stop, err := p.emit(ctx, f); stop || err != nil {
			return stop, err
		}
		p.part = p.part[:0]
	}
	return false, nil
}

// emit makes data the next frame: it waits for the count and the pace to
// allow one more, numbers and dates it and puts it in the job being
// filled, which it hands over when full. Before any wait it hands over
// the frames already in the job, so that no frame waits for a later one.
// It returns stop at the count or when ctx is done, and an error when the
// key has expired.
func (p *pipe) emit(ctx context.Context, data []byte) (stop bool, err error) {
	l := p.l
	if count := l.cfg.Count; count > 0 {
		// Frames numbered and not lost are sent or in a job: number
		// another only if the count needs it even if they all go out.
		for p.dispatched-p.fails.Load() >= count {
			if l.frames.Load() >= count {
				return true, nil
			}
			p.flush()
			select {
			case <-p.progress:
			case <-ctx.Done():
				return true, nil
			}
		}
	}
	if l.limit != nil && !l.limit.AllowN(time.Now(), len(data)) {
		p.flush()
		if l.limit.WaitN(ctx, len(data)) != nil {
			return true, nil // cancelled
		}
	}
	e, n, wake := l.seq.tryFrame(l.now)
	if wake != nil { // too far past a seed datagram not yet sent
		p.flush()
		if e, n, err = l.seq.frame(ctx, l.now); err != nil {
			return true, nil
		}
	}
	if p.cur == nil {
		if p.cur = p.take(ctx); p.cur == nil {
			return true, nil
		}
	}
	now := l.now().UnixMilli()
	if exp := l.cfg.Expires; !exp.IsZero() && now >= exp.UnixMilli() {
		return true, fmt.Errorf("send: %w at %s", ErrKeyExpired, exp.UTC().Format(time.RFC3339))
	}
	s := &p.cur.slots[p.cur.n]
	s.f.Epoch, s.f.Seq, s.f.Time, s.f.Data = e, n, now, s.data[:copy(s.data, data)]
	p.cur.n++
	p.dispatched++
	if p.cur.n == len(p.cur.slots) {
		p.flush()
	}
	return false, nil
}

// take returns a free job, or a new one while fewer than the most are
// made (so that a slow run, whose jobs come back at once, makes few),
// or else waits for one to come back; nil if ctx is done first.
func (p *pipe) take(ctx context.Context) *job {
	select {
	case j := <-p.free:
		j.n = 0
		return j
	default:
	}
	if p.jobsLeft > 0 {
		p.jobsLeft--
		return p.newJob()
	}
	select {
	case j := <-p.free:
		j.n = 0
		return j
	case <-ctx.Done():
		return nil
	}
}

// flush hands the job being filled over to the workers and the sender,
// if it holds a frame. The channels hold every job, so it never blocks.
func (p *pipe) flush() {
	if p.cur == nil || p.cur.n == 0 {
		return
	}
	p.order <- p.cur
	p.work <- p.cur
	p.cur = nil
}

// frame is a worker: it frames the jobs' frames with f, its own Framer.
func (p *pipe) frame(f Framer) {
	for j := range p.work {
		for i := range j.n {
			s := &j.slots[i]
			j.out[i] = f.Frame(s.dgram, &s.f)
		}
		j.done <- struct{}{}
	}
}

// send sends the jobs in order, each once framed, until the dispatcher
// has ended and every job is sent (then it returns the dispatcher's
// error) or ctx is done (then nil).
func (p *pipe) send(ctx context.Context) error {
	for {
		var j *job
		var ok bool
		select {
		case j, ok = <-p.order:
			if !ok {
				return <-p.errc
			}
		case <-ctx.Done():
			return nil
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil
		}
		p.sendJob(j)
		p.free <- j
		select {
		case p.progress <- struct{}{}:
		default:
		}
	}
}

// sendJob sends j's datagrams, in one or more batches if the Conn takes
// them, and counts and observes each.
func (p *pipe) sendJob(j *job) {
	out := j.out[:j.n]
	bc, batch := p.l.cfg.Conn.(BatchConn)
	if !batch || len(out) == 1 {
		for i, d := range out {
			p.sent(j, i, p.l.cfg.Conn.Send(d))
		}
		return
	}
	for i := 0; i < len(out); {
		n, err := bc.WriteBatch(out[i:])
		n = max(0, min(n, len(out)-i))
		for k := i; k < i+n; k++ {
			p.sent(j, k, nil)
		}
		i += n
		if i < len(out) && (err != nil || n == 0) {
			if err == nil {
				err = errSentNone
			}
			p.sent(j, i, err)
			i++
		}
	}
}

// sent counts and observes the send of j's i-th frame, which failed with
// err if it is not nil.
func (p *pipe) sent(j *job, i int, err error) {
	l, s := p.l, &j.slots[i]
	if err != nil {
		l.sendErrors.Add(1)
		p.fails.Add(1)
	} else {
		l.frames.Add(1)
		l.bytes.Add(uint64(len(s.f.Data)))
	}
	if l.cfg.Observe != nil {
		l.cfg.Observe(Event{Seq: s.f.Seq, Bytes: len(s.f.Data), Datagram: len(j.out[i]), Err: err})
	}
}
