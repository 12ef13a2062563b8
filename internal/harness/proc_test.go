//go:build linux

package harness

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a ')' in it; utime 250, stime 31.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 31 0 0 20 0 3 0 100 1000 200 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2810 * time.Millisecond; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseStat([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("got no error for a short line, want one")
	}
}

func TestParseSmapsRollup(t *testing.T) {
	const rollup = `56547267a000-7fffa0f8d000 ---p 00000000 00:00 0                          [rollup]
Rss:                1620 kB
Pss:                 273 kB
Private_Clean:        44 kB
Private_Dirty:       116 kB
Anonymous:           112 kB
Swap:                  0 kB
`
	got, err := parseSmapsRollup([]byte(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{Anonymous: 112, PrivateDirty: 116, Rss: 1620}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseSmapsRollup([]byte(strings.ReplaceAll(rollup, "Anonymous:", "Anon:"))); err == nil {
		t.Error("got no error without an Anonymous line, want one")
	}
}

func TestParseUDPTable(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  100: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5551 2 0000000000000000 17     
  101: 0100A8E8:C351 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 5552 2 0000000000000000 40     
  102: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 1000   
`
	drops, n, err := parseUDPTable([]byte(table), map[uint64]bool{5551: true, 5552: true, 7: true})
	if err != nil {
		t.Fatal(err)
	}
	if drops != 57 || n != 2 {
		t.Errorf("got %d drops on %d sockets, want 57 on 2", drops, n)
	}
	if _, _, err := parseUDPTable([]byte("sl local_address\n"), nil); err == nil {
		t.Error("got no error for a table without drops, want one")
	}
}

// TestProcSelf reads this process: a UDP socket that is sent more than
// its receive buffer holds shows drops, and the CPU time and memory read.
func TestProcSelf(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		CannotRun(t, "no UDP on 127.0.0.1: "+err.Error())
		return
	}
	defer c.Close()
	if err := c.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	s, err := net.DialUDP("udp4", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := make([]byte, 1000)
	for range 200 { // 200 KB into a buffer of a few KB, never read
		s.Write(msg)
	}
	drops, n, err := SocketDrops(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 || drops == 0 {
		t.Errorf("got %d drops on %d UDP sockets, want some on at least 2", drops, n)
	}
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Error(err)
	}
	m, err := PrivateMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.Anonymous <= 0 || m.Rss < m.Anonymous {
		t.Errorf("got %+v, want Anonymous > 0 and Rss >= Anonymous", m)
	}
}
