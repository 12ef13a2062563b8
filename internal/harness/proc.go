//go:build linux

package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat:
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// CPUTime returns the user and system CPU time process pid has used so
// far, from /proc/PID/stat, to 10 ms (a clock tick).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat returns utime + stime of a /proc/PID/stat line. The command
// name in brackets may hold spaces and brackets itself, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' after the command name")
	}
	// After ')': state (field 3) ... utime (14), stime (15).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name; want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: bad CPU time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// Memory is a process's memory from /proc/PID/smaps_rollup, in KiB.
type Memory struct {
	// Anonymous is the memory backed by no file (heap, stacks): the
	// process's own, which its binary's shared file pages do not inflate.
	Anonymous int64
	// PrivateDirty is memory written by this process alone, anonymous or
	// file-backed.
	PrivateDirty int64
	// Rss is the resident set, shared file pages included.
	Rss int64
}

// PrivateMemory returns process pid's memory from /proc/PID/smaps_rollup.
func PrivateMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseSmapsRollup(b)
}

// parseSmapsRollup reads the Rss, Private_Dirty and Anonymous lines of
// smaps_rollup ("Anonymous:   1234 kB").
func parseSmapsRollup(b []byte) (Memory, error) {
	var m Memory
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "Rss":
			dst = &m.Rss
		case "Private_Dirty":
			dst = &m.PrivateDirty
		case "Anonymous":
			dst = &m.Anonymous
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("smaps_rollup: bad %s line %q", name, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("smaps_rollup: bad %s line %q", name, sc.Text())
		}
		*dst = n
		found++
	}
	if found != 3 {
		return Memory{}, fmt.Errorf("smaps_rollup: found %d of Rss, Private_Dirty and Anonymous", found)
	}
	return m, nil
}

// SocketDrops returns the drops column of /proc/PID/net/udp and udp6
// (the network namespace of process pid), summed over the UDP sockets that
// pid holds open, and how many of them there are: datagrams the kernel
// threw away because the socket's receive buffer was full (or a socket
// filter refused them). It works for any program, whatever it logs.
func SocketDrops(pid int) (drops uint64, sockets int, err error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return 0, 0, err
	}
	for _, name := range []string{"udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, name))
		if err != nil {
			if os.IsNotExist(err) { // no IPv6
				continue
			}
			return 0, 0, err
		}
		d, n, err := parseUDPTable(b, inodes)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/net/%s: %w", pid, name, err)
		}
		drops += d
		sockets += n
	}
	return drops, sockets, nil
}

// socketInodes returns the inodes of the sockets among pid's open files
// (the links "socket:[INODE]" in /proc/PID/fd).
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, e := range ents {
		link, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue // closed since ReadDir
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes, nil
}

// parseUDPTable sums the drops column (the last) of the lines of a
// /proc/net/udp or udp6 table whose inode (the tenth column) is in inodes.
func parseUDPTable(b []byte, inodes map[uint64]bool) (drops uint64, sockets int, err error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "inode") || !strings.HasSuffix(strings.TrimSpace(lines[0]), "drops") {
		return 0, 0, fmt.Errorf("not a UDP table: header %q", lines[0])
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 13 {
			return 0, 0, fmt.Errorf("short line %q", line)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad inode in %q", line)
		}
		if !inodes[inode] {
			continue
		}
		d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad drops in %q", line)
		}
		drops += d
		sockets++
	}
	return drops, sockets, nil
}
