package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

// The paced floods (table 4): a forged flood at a set rate against a
// receiver that is a member of the producer's seed rounds (recv
// --host-key), and one that is not, for this version's binary and, with
// -base, the previous version's (a non-member only: it has no member mode).

const (
	// pacedGroupBase and pacedPortBase start the groups and ports of the
	// paced floods: 232.0.2.1 to 232.0.2.200 and 49301 to 49500, one pair
	// per run.
	pacedGroupBase = 1
	pacedPortBase  = 49301
	pacedGroups    = 200

	// genuinePacedRate is the genuine producer's frames per second during
	// a paced flood: 1,000 frames in 5 s, so 99% is told from 100%.
	genuinePacedRate = 200

	// pacedSeedInterval is the producer's --seed-interval: the member key
	// turns over a few times during a run, and each new one must get
	// through the flood to the member.
	pacedSeedInterval = 2 * time.Second

	// captureTimeout bounds the wait for a genuine frame to copy (with a
	// member tag: the first seed round sent completely).
	captureTimeout = 8 * time.Second

	// settle is the pause between the capture and the flood, for a
	// member to open the key of the round just sent.
	settle = 300 * time.Millisecond

	// pacedDrain is the wait after the flood and the producer stop,
	// before the receiver's counters are read.
	pacedDrain = 500 * time.Millisecond

	// pacedMaxDatagram is the producer's --max-datagram: 1472 bytes (IPv4
	// over Ethernet, recv's default limit), so that a frame of frameSize
	// bytes fits with a member tag in its header (it does not at send's
	// default of 1232).
	pacedMaxDatagram = 1472

	// memorySample is how often the receiver's private memory is read.
	memorySample = 100 * time.Millisecond
)

// pacedBin is one binary under test.
type pacedBin struct {
	label   string // "before" or "after"
	bin     string
	version string
	member  bool // its recv has --host-key
}

// pacedMode says whether the receiver is a member.
type pacedMode string

const (
	modeMember    pacedMode = "member"
	modeNonMember pacedMode = "non-member"
)

// pacedRow is one run of table 4.
type pacedRow struct {
	bin     pacedBin
	mode    pacedMode
	target  int // forged datagrams/s, 0: as fast as the flooder goes
	flood   floodResult
	tagged  bool   // the forged datagrams carried a (wrong) member tag
	genSent uint64 // genuine frames the producer sent during the flood
	genKept uint64 // of them, forwarded by recv
	recvDgs uint64 // datagrams recv read during the flood and drain
	drops   uint64 // kernel drops on recv's sockets, same time
	cpu     time.Duration
	wall    time.Duration // t0 to the last reading
	mem     harness.Memory
	dropped map[string]uint64 // recv's drops by reason, same time

	// member holds a member's counters over the same time (recv's
	// ssmrandom_recv_member_total by kind: keys learned, tagged, probes,
	// key_drops), and memberBefore the same from its start to the flood.
	member, memberBefore map[string]uint64
}

// pacedBins returns the binaries of table 4, after then before.
func (b *bench) pacedBins() ([]pacedBin, error) {
	bins := []pacedBin{{label: "after", bin: b.bin}}
	if b.cfg.base != "" {
		bins = append(bins, pacedBin{label: "before", bin: b.cfg.base})
	}
	for i := range bins {
		out, err := exec.Command(bins[i].bin, "--version").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %v: %s", bins[i].bin, err, out)
		}
		bins[i].version = strings.TrimSpace(string(out))
		help, err := exec.Command(bins[i].bin, "recv", "--help").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s recv --help: %v: %s", bins[i].bin, err, help)
		}
		bins[i].member = strings.Contains(string(help), "--host-key")
	}
	return bins, nil
}

// pacedPair returns the next unused group and port of table 4.
func (b *bench) pacedPair() (netip.AddrPort, error) {
	if b.nextPaced >= pacedGroups {
		return netip.AddrPort{}, fmt.Errorf("more than %d paced runs: out of groups", pacedGroups)
	}
	n := b.nextPaced
	b.nextPaced++
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{232, 0, 2, byte(pacedGroupBase + n)}), uint16(pacedPortBase+n)), nil
}

// pacedRuns runs table 4: for each rate, each binary and mode in turn, so
// that what else the machine does falls on all of them alike. A run that
// fails is left out and named in failed; the others go on.
func (b *bench) pacedRuns(bins []pacedBin) (rows []pacedRow, failed []error) {
	for _, rate := range b.cfg.floodRates {
		for _, pb := range bins {
			modes := []pacedMode{modeNonMember}
			if pb.member {
				modes = []pacedMode{modeMember, modeNonMember}
			}
			for _, m := range modes {
				progress(fmt.Sprintf("  %s %s, %s forged/s", pb.label, m, rateName(rate)))
				row, err := b.pacedRun(pb, m, rate)
				if err != nil {
					err = fmt.Errorf("%s %s at %s/s: %w", pb.label, m, rateName(rate), err)
					progress(err.Error())
					failed = append(failed, err)
					continue
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, failed
}

func (b *bench) pacedRun(pb pacedBin, mode pacedMode, rate int) (pacedRow, error) {
	row := pacedRow{bin: pb, mode: mode, target: rate}
	g, err := b.pacedPair()
	if err != nil {
		return row, err
	}
	limit := b.cfg.floodDuration + captureTimeout + 30*time.Second
	args := []string{"recv", "--trust", b.pubA, "-o", os.DevNull,
		"-g", g.Addr().String(), "-p", strconv.Itoa(int(g.Port())), "-i", "lo",
		"--log-format", "json", "--stats-interval", "0", "--metrics-addr", "127.0.0.1:0"}
	if mode == modeMember {
		args = append(args, "--host-key", b.hostKey)
	}
	r, err := b.startBin(pb.bin, "recv", limit, "receiving", append(args, "127.0.0.1")...)
	if err != nil {
		return row, err
	}
	defer r.stop()
	if err := r.waitReady(); err != nil {
		return row, err
	}
	recvURL, err := r.metricsURL()
	if err != nil {
		return row, err
	}
	pid := r.Pid()
	peak := sampleMemory(pid)
	defer peak.stop()

	s, err := b.startBin(pb.bin, "send", limit, "sending", "send", "-k", b.keyA, "-r", "/dev/urandom",
		"-g", g.Addr().String(), "-p", strconv.Itoa(int(g.Port())), "-i", "lo", "-t", "1",
		"-s", strconv.Itoa(frameSize), "--max-datagram", strconv.Itoa(pacedMaxDatagram), "--rate", strconv.Itoa(genuinePacedRate*frameSize),
		"--members", b.members, "--seed-interval", pacedSeedInterval.String(),
		"--log-format", "json", "--stats-interval", "0", "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		return row, err
	}
	defer s.stop()
	if err := s.waitReady(); err != nil {
		return row, err
	}
	sendURL, err := s.metricsURL()
	if err != nil {
		return row, err
	}

	// Copy a genuine frame as an attacker on the path would, then forge.
	// A producer that tags its frames does so once its first seed round
	// is out: copy a tagged one, so that the forged ones look the same.
	src := netip.MustParseAddr("127.0.0.1")
	c, err := captureGenuine(g, src, pb.member, captureTimeout)
	if err != nil {
		if pb.member {
			err = fmt.Errorf("%w (its recv has --host-key: does its send tag with --members?)", err)
		}
		return row, err
	}
	time.Sleep(settle)
	fg, err := newForger(c)
	if err != nil {
		return row, err
	}
	row.tagged = c.mt != ""
	if err := checkForged(fg.datagram(), b.pubA, row.tagged); err != nil {
		return row, err
	}

	// t0: the counters before the flood.
	s0, r0, err := scrapeBoth(sendURL, recvURL)
	if err != nil {
		return row, err
	}
	cpu0, err := harness.CPUTime(pid)
	if err != nil {
		return row, err
	}
	drops0, socks, err := harness.SocketDrops(pid)
	if err != nil {
		return row, err
	}
	if socks == 0 {
		return row, fmt.Errorf("recv (pid %d) holds no UDP socket in /proc/%d/net/udp or udp6", pid, pid)
	}
	t0 := time.Now()

	if row.flood, err = pacedFlood(g, src, fg, rate, b.cfg.floodDuration); err != nil {
		return row, err
	}
	if err := s.stop(); err != nil {
		return row, err
	}
	sum, err := s.summary("sent ")
	if err != nil {
		return row, err
	}
	time.Sleep(pacedDrain)

	// The counters after: the receiver still runs (its sockets and
	// /proc entries are gone once it exits).
	r1, err := scrape(recvURL)
	if err != nil {
		return row, err
	}
	cpu1, err := harness.CPUTime(pid)
	if err != nil {
		return row, err
	}
	drops1, _, err := harness.SocketDrops(pid)
	if err != nil {
		return row, err
	}
	row.wall = time.Since(t0)
	row.mem = peak.stop()
	if err := r.stop(); err != nil {
		return row, err
	}
	row.genSent = sum.Frames - uint64(s0.sum("ssmrandom_send_frames_total"))
	row.genKept = uint64(r1.sum("ssmrandom_recv_forwarded_frames_total") - r0.sum("ssmrandom_recv_forwarded_frames_total"))
	row.recvDgs = uint64(r1.sum("ssmrandom_recv_datagrams_total") - r0.sum("ssmrandom_recv_datagrams_total"))
	row.drops = drops1 - drops0
	row.cpu = cpu1 - cpu0
	row.dropped = deltas(r0, r1, "ssmrandom_recv_dropped_total", "reason")
	if mode == modeMember {
		row.member = deltas(r0, r1, "ssmrandom_recv_member_total", "kind")
		row.memberBefore = deltas(nil, r0, "ssmrandom_recv_member_total", "kind")
	}
	return row, nil
}

// scrapeBoth scrapes the producer, then the receiver, then the producer
// again, until the producer sent no frame in between (up to 100 times):
// then every frame it counted was sent before the receiver's scrape, and
// none after it was. (Without a flood, a frame is forwarded well within
// the time of a scrape.)
func scrapeBoth(sendURL, recvURL string) (send, recv metricsText, err error) {
	for range 100 {
		if send, err = scrape(sendURL); err != nil {
			return nil, nil, err
		}
		if recv, err = scrape(recvURL); err != nil {
			return nil, nil, err
		}
		again, err := scrape(sendURL)
		if err != nil {
			return nil, nil, err
		}
		if again.sum("ssmrandom_send_frames_total") == send.sum("ssmrandom_send_frames_total") {
			break
		}
	}
	return send, recv, nil
}

// metricsURL returns the URL p logged it serves metrics at.
func (p *proc) metricsURL() (string, error) {
	line, err := p.WaitLine(p.Stdout, `"message":"serving metrics"`, readyTimeout)
	if err != nil {
		return "", p.failure("logged no metrics address")
	}
	var l struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.URL == "" {
		return "", p.failure("logged no metrics URL")
	}
	return l.URL, nil
}

// memoryPeak reads a process's private memory every memorySample until
// stopped, and keeps the peak of each figure.
type memoryPeak struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak harness.Memory
	once sync.Once
}

func sampleMemory(pid int) *memoryPeak {
	m := &memoryPeak{done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(memorySample)
		defer t.Stop()
		for {
			if cur, err := harness.PrivateMemory(pid); err == nil {
				m.mu.Lock()
				m.peak.Anonymous = max(m.peak.Anonymous, cur.Anonymous)
				m.peak.PrivateDirty = max(m.peak.PrivateDirty, cur.PrivateDirty)
				m.peak.Rss = max(m.peak.Rss, cur.Rss)
				m.mu.Unlock()
			}
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// stop ends the sampling (once; later calls only read) and returns the
// peaks.
func (m *memoryPeak) stop() harness.Memory {
	m.once.Do(func() { close(m.done) })
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// deltas returns the growth of the series of the metric name from
// before to after, by the value of label; growths of 0 are left out.
func deltas(before, after metricsText, name, label string) map[string]uint64 {
	b := before.byLabel(name, label)
	out := map[string]uint64{}
	for v, n := range after.byLabel(name, label) {
		if d := n - b[v]; d > 0 {
			out[v] = uint64(d)
		}
	}
	return out
}

// ---- Prometheus text ----

// metricsText is a scrape: each sample line's series (name and labels)
// and value.
type metricsText map[string]float64

// scrape reads url, bounded to 5 seconds.
func scrape(url string) (metricsText, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 1<<20))
}

func parseMetrics(r io.Reader) (metricsText, error) {
	m := metricsText{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds up every series of the metric name.
func (m metricsText) sum(name string) float64 {
	var t float64
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			t += v
		}
	}
	return t
}

// byLabel adds up the series of the metric name by the value of label.
func (m metricsText) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for series, v := range m {
		rest, ok := strings.CutPrefix(series, name+"{")
		if !ok {
			continue
		}
		_, after, ok := strings.Cut(rest, label+`="`)
		if !ok {
			continue
		}
		val, _, _ := strings.Cut(after, `"`)
		out[val] += v
	}
	return out
}

// ---- output ----

// pacedHeader is the CSV's header line.
var pacedHeader = []string{"binary", "version", "mode", "target_rate", "flood_sent", "flood_rate", "flood_send_errors", "forged_tagged",
	"genuine_sent", "genuine_delivered", "genuine_delivered_fraction", "recv_datagrams", "kernel_drops",
	"recv_cpu_us_per_datagram", "recv_cores", "private_anon_peak_kib", "private_dirty_peak_kib", "rss_peak_kib", "recv_dropped",
	"member_before", "member_during"}

func (r pacedRow) fraction() float64 {
	if r.genSent == 0 {
		return 0
	}
	return float64(r.genKept) / float64(r.genSent)
}

func (r pacedRow) cpuPer() float64 {
	if r.recvDgs == 0 {
		return 0
	}
	return float64(r.cpu.Nanoseconds()) / 1000 / float64(r.recvDgs)
}

func (r pacedRow) record() []string {
	return []string{r.bin.label, r.bin.version, string(r.mode), strconv.Itoa(r.target),
		strconv.FormatUint(r.flood.sent, 10), fmt.Sprintf("%.0f", perSec(r.flood.sent, r.flood.active)),
		strconv.FormatUint(r.flood.failed, 10), strconv.FormatBool(r.tagged),
		strconv.FormatUint(r.genSent, 10), strconv.FormatUint(r.genKept, 10), fmt.Sprintf("%.4f", r.fraction()),
		strconv.FormatUint(r.recvDgs, 10), strconv.FormatUint(r.drops, 10),
		fmt.Sprintf("%.2f", r.cpuPer()), cores(r.cpu, r.wall),
		strconv.FormatInt(r.mem.Anonymous, 10), strconv.FormatInt(r.mem.PrivateDirty, 10), strconv.FormatInt(r.mem.Rss, 10),
		reasonList(r.dropped), reasonList(r.memberBefore), reasonList(r.member)}
}

// reasonList is "reason=count" for each reason, space separated.
func reasonList(d map[string]uint64) string {
	var parts []string
	for k, v := range d {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// writePacedCSV writes rows to path, through a temporary file, so that a
// failed run leaves no half-written file.
func writePacedCSV(path string, rows []pacedRow) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".flood-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	w.Write(pacedHeader)
	for _, r := range rows {
		w.Write(r.record())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printPaced(cfg config, bins []pacedBin, rows []pacedRow, failed []error) {
	fmt.Printf("## 4. Paced forged floods: member and non-member, before and after\n\n")
	fmt.Printf("A genuine producer (`send -k A -s %d --max-datagram %d --members DIR --seed-interval %v`, %d frames/s; DIR holds one host key, "+
		"recv's --host-key in the member runs) and recv trusting A. This benchmark copies one genuine frame off the group "+
		"(with a member tag, if the producer tags), then floods for %v at the target rate, from 127.0.0.1 (the producer's "+
		"own address) on a port of its own, with sendmmsg in batches of up to %d: forged frames with the producer's kid and "+
		"epoch, a fresh time, a new sequence number each, well-formed random data, the copied tag with its 16 tag bytes "+
		"inverted (if it had one) and the copied signature with one bit of s flipped. So each passes every check before the "+
		"signature, and costs a non-member a full verification. \"max\" floods as fast as one goroutine of this process goes. "+
		"The flooder, the producer and recv share the machine's %d cores: the flooder's CPU is taken from recv, as it is when an "+
		"attacker runs on the same host (on a network, a flood at these rates costs recv's host only its delivery).\n\n",
		frameSize, pacedMaxDatagram, pacedSeedInterval, genuinePacedRate, cfg.floodDuration, floodBatch, runtime.NumCPU())
	fmt.Printf("Genuine kept: recv's forwarded frames over the producer's frames sent during the flood (both from their metrics "+
		"just before; after, the producer's summary and recv's metrics %v later). Kernel drops: the drops column of /proc/PID/net/udp for "+
		"recv's sockets. CPU: utime+stime of /proc/PID/stat over the datagrams recv read. Memory: the peak of "+
		"/proc/PID/smaps_rollup's Anonymous and Private_Dirty over the run, read every %v (file-backed pages of the binary "+
		"are shared and left out).\n\n", pacedDrain, memorySample)
	for _, b := range bins {
		fmt.Printf("- %s: %s (%s)", b.label, b.bin, b.version)
		if !b.member {
			fmt.Printf(": no `recv --host-key`, so no member runs")
		}
		fmt.Println()
	}
	fmt.Println()
	fmt.Println("| binary | receiver | forged/s target | forged sent/s | genuine kept | kernel drops | recv datagrams | recv CPU µs/datagram | recv cores | private anon peak MiB | private dirty peak MiB | dropped by recv | member |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, r := range rows {
		target := strconv.Itoa(r.target)
		if r.target == 0 {
			target = "max"
		}
		member := "-"
		if r.mode == modeMember {
			member = fmt.Sprintf("before: %s; during: %s", reasons(r.memberBefore), reasons(r.member))
		}
		fmt.Printf("| %s | %s | %s | %.0f | %d/%d (%.1f%%) | %d | %d | %.1f | %s | %s | %s | %s | %s |\n",
			r.bin.label, r.mode, target, perSec(r.flood.sent, r.flood.active), r.genKept, r.genSent, 100*r.fraction(),
			r.drops, r.recvDgs, r.cpuPer(), cores(r.cpu, r.wall), mib(r.mem.Anonymous), mib(r.mem.PrivateDirty), reasons(r.dropped), member)
	}
	fmt.Println()
	if len(failed) > 0 {
		fmt.Printf("**%d runs failed** and are not in the table:\n\n", len(failed))
		for _, err := range failed {
			fmt.Printf("- %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
		fmt.Println()
	}
	if cfg.csv != "" {
		fmt.Printf("The rows are in %s; `python3 scripts/plot-flood.py %s docs/flood.svg` draws them.\n\n", cfg.csv, cfg.csv)
	}
}
