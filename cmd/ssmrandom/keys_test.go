package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nordunet/ssmrandom/internal/keylist"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// keysTrust writes three public keys, from fixed seeds, into a new trust
// folder and returns it with their kids: one valid at all times, one
// expired, one whose frames the receiver has not seen.
func keysTrust(t *testing.T) (dir string, kids [3]string) {
	t.Helper()
	dir = t.TempDir()
	valid := []sign.Validity{{}, {NotBefore: time.Unix(1577836800, 0), NotAfter: time.Unix(1609459200, 0)}, {}}
	for i := range kids {
		seed := bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		b, err := sign.MarshalPublicValid(pub, valid[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("k%d.pub.jwk", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		kids[i] = sign.KeyID(pub)
	}
	return dir, kids
}

// lastFrame is the time the fixed exposition gives the first key's last
// frame: 2025-11-24T16:00:00.5Z.
var lastFrame = time.Unix(1764000000, 5e8)

// exposition is a receiver's metrics as a Prometheus text exposition: the
// first key's last frame at lastFrame, the third key at 0 (none yet), the
// second key absent, and a kid that is no longer in the trust folder.
func exposition(kids [3]string) string {
	return `# HELP ssmrandom_recv_frames_total Verified frames per producer key.
# TYPE ssmrandom_recv_frames_total counter
ssmrandom_recv_frames_total{kid="` + kids[0] + `"} 12
# HELP ssmrandom_recv_last_frame_timestamp_seconds When the last verified frame of a key was checked.
# TYPE ssmrandom_recv_last_frame_timestamp_seconds gauge
ssmrandom_recv_last_frame_timestamp_seconds{kid="` + kids[0] + `"} 1.7640000005e+09
ssmrandom_recv_last_frame_timestamp_seconds{kid="` + kids[2] + `"} 0
ssmrandom_recv_last_frame_timestamp_seconds{kid="gonegonegonegonegonegonegonegonegonegonegog"} 1.7e+09
`
}

// metricsServer serves body with status at /metrics on loopback.
func metricsServer(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

const textFormat = "text/plain; version=0.0.4; charset=utf-8"

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"ssmrandom"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestKeysMetricsTable reads the last frame of each key from a receiver's
// metrics endpoint into the table.
func TestKeysMetricsTable(t *testing.T) {
	dir, kids := keysTrust(t)
	url := metricsServer(t, http.StatusOK, textFormat, exposition(kids))
	code, out, errOut := runCLI("keys", "--trust", dir, "--metrics", url)
	if code != 0 || errOut != "" {
		t.Fatalf("got status %d, stderr %q; want 0 and nothing", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want a header and 4 keys:\n%s", len(lines), out)
	}
	if !regexp.MustCompile(`^KID +STATE +NOT BEFORE +NOT AFTER +FILE +LAST FRAME +AGE$`).MatchString(lines[0]) {
		t.Errorf("got header %q", lines[0])
	}
	want := map[string]string{
		kids[0]: `^` + kids[0] + ` +valid +- +- +\S+k0.pub.jwk +2025-11-24T16:00:00Z +[0-9dhms]+ ago$`,
		kids[1]: `^` + kids[1] + ` +expired +2020-01-01T00:00:00Z +2021-01-01T00:00:00Z +\S+k1.pub.jwk +none yet +-$`,
		kids[2]: `^` + kids[2] + ` +valid +- +- +\S+k2.pub.jwk +none yet +-$`,
		"gone":  `^gonegonegonegonegonegonegonegonegonegonegog +not trusted +- +- +- +2023-11-14T22:13:20Z +[0-9dhms]+ ago$`,
	}
	for key, re := range want {
		found := false
		for _, l := range lines[1:] {
			found = found || regexp.MustCompile(re).MatchString(l)
		}
		if !found {
			t.Errorf("no line for %s matches %s; got:\n%s", key, re, out)
		}
	}
}

// TestKeysMetricsJSON checks the JSON form: the time of the last frame to
// the nanosecond, and its age.
func TestKeysMetricsJSON(t *testing.T) {
	dir, kids := keysTrust(t)
	url := metricsServer(t, http.StatusOK, textFormat, exposition(kids))
	code, out, errOut := runCLI("keys", "--trust", dir, "--metrics", url, "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("got status %d, stderr %q; want 0 and nothing", code, errOut)
	}
	var rep keylist.Trust
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.Metrics != url || len(rep.Keys) != 4 || len(rep.Skipped) != 0 {
		t.Fatalf("got metrics %q, %d keys, %d skipped; want %q, 4, 0", rep.Metrics, len(rep.Keys), len(rep.Skipped), url)
	}
	byKid := map[string]keylist.Key{}
	for _, k := range rep.Keys {
		byKid[k.KeyID] = k
	}
	k := byKid[kids[0]]
	if k.LastFrame == nil || !k.LastFrame.Equal(lastFrame) || k.AgeSeconds == nil {
		t.Fatalf("got %+v; want last frame %s with an age", k, lastFrame)
	}
	if age := time.Since(lastFrame).Seconds(); *k.AgeSeconds > age || *k.AgeSeconds < age-60 {
		t.Errorf("got age %.1fs, want about %.1fs", *k.AgeSeconds, age)
	}
	for _, kid := range kids[1:] {
		if k := byKid[kid]; k.LastFrame != nil || k.AgeSeconds != nil {
			t.Errorf("kid %s: got last frame %v, want none", kid, k.LastFrame)
		}
	}
	if k := byKid[kids[1]]; k.State != keylist.Expired || k.NotAfter == nil || k.NotAfter.Unix() != 1609459200 {
		t.Errorf("got %+v, want expired at 1609459200", k)
	}
	if k := byKid["gonegonegonegonegonegonegonegonegonegonegog"]; k.State != keylist.NotTrusted || k.File != "" {
		t.Errorf("got %+v, want a key that is not trusted, with no file", k)
	}
}

// TestKeysMetricsErrors: an endpoint that fails or serves something else
// is a runtime error (1), a URL that is not one a usage error (2), each
// one line and a hint, with nothing on stdout.
func TestKeysMetricsErrors(t *testing.T) {
	dir, kids := keysTrust(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/metrics"
	closed.Close()
	nan := strings.Replace(exposition(kids), "1.7640000005e+09", "NaN", 1)
	escape := strings.ReplaceAll(exposition(kids), kids[0], "\x1b[2J")
	for _, c := range []struct {
		name string
		url  string
		code int
		want string
	}{
		{"server error", metricsServer(t, http.StatusInternalServerError, textFormat, "oops"), 1, `GET http://127\.0\.0\.1:\d+/metrics: 500 Internal Server Error`},
		{"not found", metricsServer(t, http.StatusOK, textFormat, "") + "x", 1, `404 Not Found`},
		{"html", metricsServer(t, http.StatusOK, "text/html", "<html><body>hello</body></html>\n"), 1, `http://\S+: text format parsing error in line 1`},
		{"not a time", metricsServer(t, http.StatusOK, textFormat, nan), 1, `ssmrandom_recv_last_frame_timestamp_seconds\{kid="` + kids[0] + `"\} is NaN; not a Unix time`},
		{"a kid that is no key id", metricsServer(t, http.StatusOK, textFormat, escape), 1, `has a kid label "\\x1b\[2J" that is not a key id`},
		{"nobody listening", closedURL, 1, `Get "http://127\.0\.0\.1:\d+/metrics": dial tcp 127\.0\.0\.1:\d+: connect: connection refused`},
		{"not a URL", "127.0.0.1:9641/metrics", 2, `bad --metrics URL "127\.0\.0\.1:9641/metrics"`},
		{"not http", "ftp://127.0.0.1/metrics", 2, `bad --metrics URL`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI("keys", "--trust", dir, "--metrics", c.url)
			re := `^ssmrandom: error: [^\n]*` + c.want + `[^\n]*\nssmrandom: hint: [^\n]*--metrics[^\n]*\n$`
			if code != c.code || out != "" || !regexp.MustCompile(re).MatchString(errOut) {
				t.Errorf("got status %d, stdout %q, stderr %q; want %d, nothing, %s", code, out, errOut, c.code, re)
			}
		})
	}
}
