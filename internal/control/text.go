package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nordunet/ssmrandom/internal/words"
)

// WriteJSON writes s as indented JSON (ssmrandom status --json).
func (s Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes s for a reader, as wg show does: a line for the
// daemon, then one block per producer, one for the output and one for a
// sender; now is when the reader looks.
func (s Status) WriteText(w io.Writer, now time.Time) error {
	b := bufio.NewWriter(w)
	state := "ok"
	if s.Degraded() {
		state = "DEGRADED"
	}
	fmt.Fprintf(b, "%s: %s (pid %d, version %s, up %s)\n", s.Daemon, state, s.PID, s.Version, now.Sub(s.Started).Round(time.Second))
	for _, p := range s.Problems {
		fmt.Fprintf(b, "  problem: %s\n", p)
	}
	interval := "no interval ended yet"
	if !s.IntervalEnd.IsZero() {
		interval = fmt.Sprintf("in the last %s (to %s)", s.IntervalEnd.Sub(s.IntervalStart).Round(time.Second), s.IntervalEnd.Local().Format(time.TimeOnly))
	}
	fmt.Fprintf(b, "  counts: %s\n", interval)
	if t := s.Transport; t != nil {
		fmt.Fprintf(b, "  transport: %s\n", t.text())
	}
	for _, p := range s.Producers {
		p.write(b)
	}
	if len(s.Dropped) > 0 {
		fmt.Fprintf(b, "\ndropped: %s\n", byReason(s.Dropped))
	}
	if k := s.Sink; k != nil {
		k.write(b)
	}
	if x := s.Send; x != nil {
		x.write(b)
	}
	return b.Flush()
}

// write writes p's block of [Status.WriteText].
func (p Producer) write(w io.Writer) {
	fmt.Fprintf(w, "\nproducer %s", p.KeyID)
	if !p.Trusted {
		fmt.Fprint(w, " (no longer trusted)")
	}
	if p.Unhealthy {
		fmt.Fprint(w, " (UNHEALTHY)")
	}
	fmt.Fprintln(w)
	age := "never"
	if p.LastFrameAge != nil {
		age = fmt.Sprintf("%s ago", time.Duration(*p.LastFrameAge*float64(time.Second)).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  last frame: %s\n", age)
	fmt.Fprintf(w, "  forwarded: %s, %s\n", words.Plural(p.Forwarded, "frame"), words.Plural(p.Bytes, "byte"))
	if len(p.Dropped) > 0 {
		fmt.Fprintf(w, "  dropped: %s\n", byReason(p.Dropped))
	}
}

// write writes k's block of [Status.WriteText].
func (k *Sink) write(w io.Writer) {
	fmt.Fprintf(w, "\noutput %s\n  written: %s (%d in all)\n", k.Output, words.Plural(k.Bytes, "byte"), k.TotalBytes)
	if k.Drained != nil {
		fmt.Fprintf(w, "  drained by its reader: %s in all, %d waiting\n", words.Plural(*k.Drained, "byte"), *k.Pending)
	}
	if k.Credited != nil {
		fmt.Fprintf(w, "  credited to the kernel: %s in all\n", words.Plural(*k.Credited, "bit"))
	}
}

// write writes s's block of [Status.WriteText].
func (s *Send) write(w io.Writer) {
	fmt.Fprintln(w)
	if s.KeyID != "" {
		fmt.Fprintf(w, "key %s\n", s.KeyID)
	}
	fmt.Fprintf(w, "  sent: %s, %s, %s\n", words.Plural(s.Frames, "frame"), words.Plural(s.Bytes, "byte"), words.Plural(s.SendErrors, "send error"))
	fmt.Fprintf(w, "  in all: %s, %s, %s\n", words.Plural(s.TotalFrames, "frame"), words.Plural(s.TotalBytes, "byte"), words.Plural(s.TotalSendErrors, "send error"))
}

// byReason formats counts by reason, "output_full 2, replay 1", in the
// order of the names.
func byReason(m map[string]uint64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

// text says how a receiver gets its datagrams: "native", "native,
// receive buffer 8388608 bytes, 12 kernel drops" (drops since the start,
// left out when none), or "amt, relay 192.0.2.2:2268, up, rediscovered 1
// time".
func (t Transport) text() string {
	if t.Kind != "amt" {
		s := t.Kind
		if t.ReadBuffer > 0 {
			s += fmt.Sprintf(", receive buffer %s", words.Plural(uint64(t.ReadBuffer), "byte"))
		}
		if t.KernelDrops > 0 {
			s += fmt.Sprintf(", %s", words.Plural(t.KernelDrops, "kernel drop"))
		}
		return s
	}
	relay := t.Relay
	if relay == "" {
		relay = "none yet"
	}
	return fmt.Sprintf("amt, relay %s, %s, rediscovered %s", relay, t.State, words.Plural(t.Rediscoveries, "time"))
}
