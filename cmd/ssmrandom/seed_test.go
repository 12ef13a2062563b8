package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

// seedRecvMain is the program seedrecv of the test scripts: a re-creation
// of the original ssmrandom's receiver (its _receiver: json.loads of each
// datagram, then base64 of "d", written to its output), without the
// daemon and the sleeps, to check that send --unsigned is understood by
// receivers that still run the original.
//
//	seedrecv [-raw] [-frames FILE] GROUP:PORT SOURCE N OUT
//
// It joins (SOURCE, GROUP) on lo, reads N datagrams (for at most 10 s) and
// writes their data to OUT: decoded as the original did, or with -raw the
// datagrams as they are (what its rawsend sent). -frames FILE also writes
// each datagram, then a newline, to FILE.
func seedRecvMain() int {
	fs := flag.NewFlagSet("seedrecv", flag.ContinueOnError)
	raw := fs.Bool("raw", false, "write the datagrams as they are")
	frames := fs.String("frames", "", "write each datagram and a newline to `FILE`")
	if fs.Parse(os.Args[1:]) != nil || fs.NArg() != 4 {
		fmt.Fprintln(os.Stderr, "usage: seedrecv [-raw] [-frames FILE] GROUP:PORT SOURCE N OUT")
		return 2
	}
	if err := seedRecv(fs.Arg(0), fs.Arg(1), fs.Arg(2), fs.Arg(3), *raw, *frames); err != nil {
		fmt.Fprintln(os.Stderr, "seedrecv:", err)
		return 1
	}
	return 0
}

func seedRecv(groupArg, sourceArg, nArg, out string, raw bool, frames string) error {
	group, err := netip.ParseAddrPort(groupArg)
	if err != nil {
		return err
	}
	source, err := netip.ParseAddr(sourceArg)
	if err != nil {
		return err
	}
	var n int
	if _, err := fmt.Sscan(nArg, &n); err != nil {
		return err
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	conn, err := mcast.JoinSSM(group, lo, []netip.Addr{source})
	if err != nil {
		return err
	}
	defer conn.Close()
	timer := time.AfterFunc(10*time.Second, func() { conn.Close() })
	defer timer.Stop()
	var data, lines bytes.Buffer
	buf := make([]byte, mcast.ReadBufferSize)
	for i := range n {
		k, _, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("datagram %d of %d: %w", i+1, n, err)
		}
		d := buf[:k]
		lines.Write(d)
		lines.WriteByte('\n')
		if raw {
			data.Write(d)
			continue
		}
		// msg = json.loads(s.recv(bufsz)); data = base64.b64decode(msg['d'])
		var msg map[string]any
		if err := json.Unmarshal(d, &msg); err != nil {
			return fmt.Errorf("datagram %d: json.loads: %w", i+1, err)
		}
		s, ok := msg["d"].(string)
		if !ok {
			return fmt.Errorf("datagram %d: no string \"d\"", i+1)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("datagram %d: b64decode: %w", i+1, err)
		}
		data.Write(b)
	}
	if frames != "" {
		if err := os.WriteFile(frames, lines.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(out, data.Bytes(), 0o644)
}

// cmdSendtext sends each line of each file, without its newline, as one
// datagram to GROUP:PORT out of lo: frames kept as text lines, such as the
// original ssmrandom's, which a txtar file cannot hold without a newline.
//
//	sendtext GROUP:PORT FILE...
func cmdSendtext(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sendtext GROUP:PORT FILE...")
	}
	s := dialLo(ts, args[0])
	defer s.Close()
	for _, name := range args[1:] {
		f, err := os.Open(ts.MkAbs(name))
		ts.Check(err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, mcast.ReadBufferSize)
		for sc.Scan() {
			ts.Check(s.Send(sc.Bytes()))
		}
		f.Close()
		if err := sc.Err(); err != nil {
			ts.Fatalf("sendtext: %s: %v", name, err)
		}
	}
}
