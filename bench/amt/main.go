//go:build linux

// Command amt measures recv through an AMT relay against a native join on
// the same namespace topology (e2e/amt_test.go's, from ../shared/amt's
// README): frames a second and CPU per frame of the receiver at rising
// rates, and the time from start to the first verified frame, relay
// discovery included. It needs root, ip(8), and amtrelayd's build tools.
//
//	go run ./bench/amt [-rates 500,2000,8000] [-seconds 5] [-first 5]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nordunet/ssmrandom/internal/harness"
)

const (
	prefix = "ssmrbench-amt-"
	src    = "198.51.100.1"
	group  = "232.1.1.1"
	port   = "5301"
)

var (
	nsSrc, nsRelay, nsGW = prefix + "src", prefix + "relay", prefix + "gw"
)

func main() {
	rates := flag.String("rates", "500,2000,8000", "frames a second to send, comma-separated")
	seconds := flag.Int("seconds", 5, "seconds of sending at each rate")
	first := flag.Int("first", 5, "runs of the time-to-first-frame measure")
	amtDir := flag.String("amt-dir", "", "the folder of amtrelayd's build.sh (default: shared/amt above this module)")
	flag.Parse()
	if err := run(*rates, *seconds, *first, *amtDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench/amt:", err)
		cleanup()
		os.Exit(1)
	}
	cleanup()
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func cleanup() {
	for _, ns := range []string{nsSrc, nsRelay, nsGW} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

func topology() error {
	cleanup()
	cmds := [][]string{}
	for _, ns := range []string{nsSrc, nsRelay, nsGW} {
		cmds = append(cmds, []string{"ip", "netns", "add", ns}, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "-n", nsSrc, "link", "add", "s0", "type", "veth", "peer", "name", "r0", "netns", nsRelay},
		[]string{"ip", "-n", nsRelay, "link", "add", "r1", "type", "veth", "peer", "name", "g0", "netns", nsGW},
		[]string{"ip", "-n", nsSrc, "addr", "add", "198.51.100.1/24", "dev", "s0"},
		[]string{"ip", "-n", nsRelay, "addr", "add", "198.51.100.2/24", "dev", "r0"},
		[]string{"ip", "-n", nsRelay, "addr", "add", "203.0.113.1/24", "dev", "r1"},
		[]string{"ip", "-n", nsGW, "addr", "add", "203.0.113.2/24", "dev", "g0"},
		[]string{"ip", "-n", nsRelay, "addr", "add", "192.0.2.1/32", "dev", "lo"},
		[]string{"ip", "-n", nsRelay, "addr", "add", "192.0.2.2/32", "dev", "lo"},
		[]string{"ip", "-n", nsSrc, "link", "set", "s0", "up"},
		[]string{"ip", "-n", nsRelay, "link", "set", "r0", "up"},
		[]string{"ip", "-n", nsRelay, "link", "set", "r1", "up"},
		[]string{"ip", "-n", nsGW, "link", "set", "g0", "up"},
		[]string{"ip", "-n", nsGW, "route", "add", "192.0.2.0/24", "via", "203.0.113.1"},
	)
	for _, c := range cmds {
		if err := sh(c...); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second) // veth carriers
	return nil
}

func buildScript(dir string) (string, error) {
	if dir != "" {
		return filepath.Join(dir, "build.sh"), nil
	}
	wd, _ := os.Getwd()
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if s := filepath.Join(d, "shared", "amt", "build.sh"); fileExists(s) {
			return s, nil
		}
	}
	return "", errors.New("no shared/amt/build.sh above the working directory; give -amt-dir")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func run(rateList string, seconds, firstRuns int, amtDir string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root, for network namespaces")
	}
	dir, err := os.MkdirTemp("", "bench-amt-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "ssmrandom")
	if err := harness.Build(ctx, bin); err != nil {
		return err
	}
	script, err := buildScript(amtDir)
	if err != nil {
		return err
	}
	if err := sh(script, filepath.Join(dir, "amt")); err != nil {
		return err
	}
	if err := topology(); err != nil {
		return err
	}
	if err := sh("ip", "netns", "exec", nsSrc, bin, "keygen", "-o", filepath.Join(dir, "p")); err != nil {
		return err
	}
	trust := filepath.Join(dir, "trust")
	_ = os.Mkdir(trust, 0o755)
	pub, _ := os.ReadFile(filepath.Join(dir, "p.pub.jwk"))
	if err := os.WriteFile(filepath.Join(trust, "p.pub.jwk"), pub, 0o644); err != nil {
		return err
	}
	relay, err := harness.Start(ctx, "amtrelayd", harness.Options{Netns: nsRelay, Combined: true, MaxLines: 100},
		filepath.Join(dir, "amt", "amtrelayd"), "-d", "-p", "none", "-a", "192.0.2.1", "-r", "192.0.2.2", "-s", "198.51.100.2", "-c", "r0", "-n", "inet", "-l", "inet")
	if err != nil {
		return err
	}
	defer relay.Kill(5 * time.Second)
	time.Sleep(500 * time.Millisecond)

	b := &bench{ctx: ctx, bin: bin, dir: dir, trust: trust, key: filepath.Join(dir, "p.jwk")}
	fmt.Println("| path | sent frames/s | received frames/s | loss | recv CPU per frame | rejected |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range strings.Split(rateList, ",") {
		fps, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil {
			return fmt.Errorf("bad -rates: %v", err)
		}
		for _, mode := range []string{"native", "amt"} {
			row, err := b.rate(mode, fps, seconds)
			if err != nil {
				return err
			}
			fmt.Println(row)
		}
	}
	fmt.Println()
	fmt.Println("| path | start to first verified frame (median of", firstRuns, ") | min | max |")
	fmt.Println("|---|---|---|---|")
	for _, mode := range []string{"native", "amt"} {
		row, err := b.first(mode, firstRuns)
		if err != nil {
			return err
		}
		fmt.Println(row)
	}
	return nil
}

type bench struct {
	ctx                  context.Context
	bin, dir, trust, key string
}

// recvArgs runs recv natively in RELAY (the last hop with multicast) or
// through the relay in GW.
func (b *bench) recvArgs(mode string, extra ...string) (string, []string) {
	args := []string{b.bin, "recv", "--trust", b.trust, "-o", filepath.Join(b.dir, mode+".out"), "-g", group, "-p", port,
		"--stats-interval", "250ms", "--log-format", "json", "--health", "off"}
	args = append(args, extra...)
	if mode == "native" {
		return nsRelay, append(args, "-i", "r0", src)
	}
	return nsGW, append(args, "--amt-relay", "192.0.2.1", src)
}

func (b *bench) sender(fps, count int) (*harness.Proc, error) {
	input := "/dev/urandom"
	args := []string{b.bin, "send", "-k", b.key, "-r", input, "-g", group, "-p", port, "-i", "s0", "-t", "1", "-s", "512",
		"--rate", strconv.Itoa(fps * 512), "--stats-interval", "0", "--log-format", "json"}
	if count > 0 {
		args = append(args, "-n", strconv.Itoa(count))
	}
	return harness.Start(b.ctx, "send", harness.Options{Netns: nsSrc, MaxLines: 100}, args...)
}

func (b *bench) rate(mode string, fps, seconds int) (string, error) {
	_ = os.WriteFile(filepath.Join(b.dir, mode+".out"), nil, 0o644)
	ns, args := b.recvArgs(mode)
	recv, err := harness.Start(b.ctx, "recv", harness.Options{Netns: ns, MaxLines: 200}, args...)
	if err != nil {
		return "", err
	}
	if _, err := recv.WaitLine(recv.Stderr, "receiving", 10*time.Second); err != nil {
		return "", err
	}
	if mode == "amt" { // the tunnel up
		if _, err := recv.WaitLine(recv.Stderr, `"state":"up"`, 20*time.Second); err != nil {
			return "", err
		}
	}
	send, err := b.sender(fps, fps*seconds)
	if err != nil {
		return "", err
	}
	start := time.Now()
	if err := send.Wait(time.Duration(seconds+30) * time.Second); err != nil {
		return "", err
	}
	took := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	_ = recv.Stop(syscall.SIGTERM, 10*time.Second)
	s, err := recv.Summary("stopped: ", time.Second)
	if err != nil {
		return "", err
	}
	sent := fps * seconds
	use := recv.Usage()
	perFrame := time.Duration(0)
	if s.Frames > 0 {
		perFrame = use.CPU / time.Duration(s.Frames)
	}
	var why []string
	for reason, n := range s.Dropped {
		if n > 0 {
			why = append(why, fmt.Sprintf("%s %d", reason, n))
		}
	}
	slices.Sort(why)
	return fmt.Sprintf("| %s | %.0f | %.0f | %.2f %% | %.1f µs | %d %s |", mode, float64(sent)/took.Seconds(), float64(s.Frames)/took.Seconds(),
		100*(1-float64(s.Frames)/float64(sent)), float64(perFrame.Nanoseconds())/1000, s.Rejected, strings.Join(why, ", ")), nil
}

func (b *bench) first(mode string, runs int) (string, error) {
	send, err := b.sender(32, 0) // the default rate, all along
	if err != nil {
		return "", err
	}
	defer send.Kill(5 * time.Second)
	time.Sleep(500 * time.Millisecond)
	var lives []time.Duration
	for range runs {
		ns, args := b.recvArgs(mode, "--count", "1")
		recv, err := harness.Start(b.ctx, "recv", harness.Options{Netns: ns, MaxLines: 200}, args...)
		if err != nil {
			return "", err
		}
		if err := recv.Wait(30 * time.Second); err != nil {
			return "", fmt.Errorf("%s recv --count 1: %w: %s", mode, err, strings.Join(recv.Tail(5), "\n"))
		}
		lives = append(lives, recv.Usage().Life)
	}
	slices.Sort(lives)
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("| %s | %s | %s | %s |", mode, r(lives[len(lives)/2]), r(lives[0]), r(lives[len(lives)-1])), nil
}
