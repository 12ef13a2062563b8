package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Timeout bounds how long answering one connection, or one [Query], may
// take: a client that does not read cannot hold the server.
const Timeout = 5 * time.Second

// ErrRunning is returned by [Listen] when a process answers on the socket
// already.
var ErrRunning = errors.New("control: another process answers on the socket")

// ErrNotRunning is returned by [Query] when no process answers on the
// socket: it does not exist, or nothing listens on it.
var ErrNotRunning = errors.New("control: no daemon answers on the socket")

// Server answers status queries on a unix socket. Make one with
// [Listen]; Serve may be called once, Close at any time.
type Server struct {
	ln   *net.UnixListener
	path string
	once sync.Once
}

// Listen makes the unix socket path, mode 0600, and listens on it. A
// socket left behind by a process that is gone is replaced; one that a
// running process answers on is not ([ErrRunning]). The socket is removed
// by [Server.Close].
func Listen(path string) (*Server, error) {
	if _, err := Query(context.Background(), path); err == nil {
		return nil, fmt.Errorf("control: listen %q: %w", path, ErrRunning)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control: listen %q: %w", path, syscall.EEXIST)
		}
		os.Remove(path) // a stale socket
	}
	// The socket is made with the umask's mode: make it 0600 from the
	// start, so no other user can connect in between.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control: listen: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return &Server{ln: ln, path: path}, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers each connection with status(), as JSON, until ctx is done
// or the server is closed; it then closes the server and returns nil. It
// returns an error only if accepting fails otherwise. status is called
// from the goroutine serving a connection, one at a time.
func (s *Server) Serve(ctx context.Context, status func() Status) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(Timeout))
			mu.Lock()
			st := status()
			mu.Unlock()
			json.NewEncoder(conn).Encode(st)
		}()
	}
}

// Close stops the server and removes its socket.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() { err = s.ln.Close() })
	return err
}

// Query connects to the socket at path and returns the daemon's status.
// It returns an error wrapping [ErrNotRunning] when nothing answers
// there, and [fs.ErrPermission] when the socket is not this user's.
func Query(ctx context.Context, path string) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return Status{}, fmt.Errorf("control: %q: %w", path, ErrNotRunning)
	}
	if err != nil {
		return Status{}, fmt.Errorf("control: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var st Status
	if err := json.NewDecoder(conn).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("control: read status from %q: %w", path, err)
	}
	return st, nil
}
