package report_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/report"
	"github.com/nordunet/ssmrandom/internal/send"
)

var src = netip.MustParseAddr("192.0.2.1")

// msgs returns the levels and messages of lines, one "level msg" each.
func msgs(lines []report.Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, string("DIWE"[l.Level])+" "+l.Msg)
	}
	return out
}

// field returns the value of key in fs, or nil.
func field(fs report.Fields, key string) any {
	for _, f := range fs {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// TestRecvVerdict checks that each reason is logged once at warn level
// (output_full at info, sampled_out and seed never), further drops only
// at debug level, and nothing for a forwarded frame.
func TestRecvVerdict(t *testing.T) {
	bad := receive.Verdict{Reason: receive.BadSignature, Err: errors.New("sign: bad signature")}
	for _, tt := range []struct {
		debug bool
		v     []receive.Verdict
		want  []string
	}{
		{false, []receive.Verdict{bad, bad}, []string{"W dropped a datagram; further drops for this reason are counted in the summaries"}},
		{true, []receive.Verdict{bad, bad}, []string{"D dropped", "W dropped a datagram; further drops for this reason are counted in the summaries", "D dropped"}},
		{false, []receive.Verdict{{Reason: receive.OutputFull}}, []string{"I dropped a datagram; further drops for this reason are counted in the summaries"}},
		{false, []receive.Verdict{{Reason: receive.SampledOut}, {Reason: receive.Seed}, {Reason: receive.None}}, nil},
	} {
		r := report.NewRecv(0, tt.debug)
		var got []string
		for _, v := range tt.v {
			got = append(got, msgs(r.Verdict(src, v))...)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("debug %v, %d verdicts: got %q, want %q", tt.debug, len(tt.v), got, tt.want)
		}
	}
	l := report.NewRecv(0, false).Verdict(src, bad)
	if why := field(l[0].Fields, "why"); why != "bad signature" {
		t.Errorf("why: got %q, want %q (no package prefix)", why, "bad signature")
	}
}

// TestRecvAlarms checks that an alarm is logged when it is raised and when
// it is cleared, not while it stays, and that a summary in between is at
// warn level and names it.
func TestRecvAlarms(t *testing.T) {
	r := report.NewRecv(time.Minute, false)
	var got []string
	for _, a := range []receive.Alarms{{Silent: true}, {Silent: true}, {Silent: true, Stuck: true}, {}} {
		got = append(got, msgs(r.Alarms(a))...)
		if a.Silent {
			s := r.Summary(receive.Summary{}, report.Transport(nil), time.Now())
			if s.Level != report.Warn || !strings.Contains(s.Msg, "silence: no verified frame for 1m0s") {
				t.Errorf("summary during silence: got %c %q, want a warning that names the silence", "DIWE"[s.Level], s.Msg)
			}
		}
	}
	want := []string{
		"W silence: no verified frame from any producer for 1m0s",
		"W output stuck: full, and nothing read from it for 1m0s (is its reader, such as rngd, running?)",
		"I silence is over: verified frames arrive again",
		"I output drained again",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRecvSummary checks a summary's level, its interval's counts of
// foreign datagrams and kernel drops, and that Stopped counts from the
// start.
func TestRecvSummary(t *testing.T) {
	r := report.NewRecv(0, false)
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	s := receive.Summary{Start: start, End: start.Add(time.Minute)}
	s.Frames, s.Total.Frames = 2, 5
	s.Dropped[receive.OutputFull], s.NewRejects = 3, 3
	s.Socket.Foreign = 7
	l := r.Summary(s, report.Transport(nil), s.End)
	if l.Level != report.Info {
		t.Errorf("output_full alone: got level %c, want I", "DIWE"[l.Level])
	}
	if got := field(l.Fields, "foreign_source"); got != uint64(7) {
		t.Errorf("foreign_source: got %v, want 7", got)
	}
	s.Dropped[receive.BadSignature], s.NewRejects = 1, 4
	s.Socket.Foreign = 2
	l = r.Summary(s, report.Transport(nil), s.End)
	if l.Level != report.Warn {
		t.Errorf("a bad signature: got level %c, want W", "DIWE"[l.Level])
	}
	if got := field(l.Fields, "foreign_source"); got != uint64(2) {
		t.Errorf("foreign_source in the second interval: got %v, want 2", got)
	}
	if got, want := r.Stopped(s, nil, report.Transport(nil), s.End).Msg, "stopped: 5 frames (0 bytes) forwarded, 0 datagrams dropped"; got != want {
		t.Errorf("Stopped: got %q, want %q", got, want)
	}
	s.Dropped, s.NewRejects, s.Socket.KernelDrops, s.SocketTotal.KernelDrops = [len(s.Dropped)]uint64{}, 0, 4, 6
	l = r.Summary(s, report.Transport(nil), s.End)
	if l.Level != report.Warn || field(l.Fields, "kernel_drops") != uint64(4) || !strings.HasSuffix(l.Msg, "; 4 more dropped by the kernel (receive buffer full)") {
		t.Errorf("kernel drops: got %c %q, kernel_drops %v; want a warning with 4", "DIWE"[l.Level], l.Msg, field(l.Fields, "kernel_drops"))
	}
	if got := field(r.Stopped(s, nil, report.Transport(nil), s.End).Fields, "kernel_drops"); got != uint64(6) {
		t.Errorf("Stopped kernel_drops: got %v, want 6", got)
	}
}

// TestSendEvent checks that a failing send is logged when it starts and
// when it works again, with the frames lost in between.
func TestSendEvent(t *testing.T) {
	s := report.NewSend(false)
	fail := send.Event{Err: errors.New("sendmsg: no buffer space")}
	var got []string
	for _, ev := range []send.Event{{}, fail, fail, fail, {}, {}} {
		got = append(got, msgs(s.Event(ev))...)
	}
	want := []string{"W sending failed; frames are lost until it works again", "I sending works again, after 3 frames lost"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if s.Failing() {
		t.Error("Failing after a send that worked: got true, want false")
	}
}

// TestTrustReload checks the lines of a --trust that is gone and of one
// that loaded no key.
func TestTrustReload(t *testing.T) {
	gone := report.Reload{Trigger: "SIGHUP", Err: errors.New("stat trust: no such file"), Gone: true, Removed: 2}
	if got, want := msgs(report.TrustReload(gone, "trust", 0, nil, nil, nil)), []string{"E --trust is gone: trusting no key until it is back", "W trust reloaded: 0 keys"}; !slices.Equal(got, want) {
		t.Errorf("gone: got %q, want %q", got, want)
	}
	empty := report.Reload{Trigger: "SIGHUP", Skipped: []error{errors.New("sign: trust/a.jwk: not an Ed25519 JWK")}}
	want := []string{
		"E passed over a --trust file that does not load; the other keys stay trusted",
		"W trust reloaded: 0 keys (0 added, 1 removed)",
		"E no trusted key left: every frame is dropped until a key is added",
	}
	if got := msgs(report.TrustReload(empty, "trust", 0, nil, []string{"k"}, nil)); !slices.Equal(got, want) {
		t.Errorf("no key left: got %q, want %q", got, want)
	}
}
