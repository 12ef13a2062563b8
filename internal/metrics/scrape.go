package metrics

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// MaxScrapeBody is the most bytes of an exposition [LastFrames] reads: a
// receiver's is a few KiB; more means the URL is something else.
const MaxScrapeBody = 16 << 20

// LastFrames scrapes the receiver metrics at url and returns, for each kid
// of [LastFrameName], the time of its last verified frame: the zero time
// if the gauge is 0. It parses the response with expfmt in whichever
// exposition format the server chose, reads at most [MaxScrapeBody]
// bytes, and refuses a kid label that is not a key id or a value that is
// not a Unix time, so that nothing a hostile endpoint sends reaches the
// caller's output unchecked. ctx bounds the whole request.
func LastFrames(ctx context.Context, url string) (map[string]time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: GET %s: %s", url, resp.Status)
	}
	format := expfmt.ResponseFormat(resp.Header)
	if format == expfmt.FmtUnknown {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	body := &limitedReader{r: resp.Body, n: MaxScrapeBody}
	dec := expfmt.NewDecoder(body, format)
	last := make(map[string]time.Time)
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if body.over {
			return nil, fmt.Errorf("metrics: %s: more than %d bytes; not a receiver's metrics", url, MaxScrapeBody)
		}
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", url, err)
		}
		if mf.GetName() != LastFrameName {
			continue
		}
		for _, m := range mf.GetMetric() {
			if err := addLastFrame(last, m); err != nil {
				return nil, fmt.Errorf("metrics: %s: %w", url, err)
			}
		}
	}
}

// addLastFrame adds the kid and time of one [LastFrameName] sample to
// last. A sample without a kid label is passed over.
func addLastFrame(last map[string]time.Time, m *dto.Metric) error {
	kid := ""
	for _, l := range m.GetLabel() {
		if l.GetName() == "kid" {
			kid = l.GetValue()
		}
	}
	if kid == "" {
		return nil
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(kid); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("%s has a kid label %q that is not a key id", LastFrameName, kid)
	}
	v := m.GetGauge().GetValue()
	if m.GetGauge() == nil {
		v = m.GetUntyped().GetValue()
	}
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e11:
		return fmt.Errorf("%s{kid=%q} is %v; not a Unix time", LastFrameName, kid, v)
	case v == 0:
		last[kid] = time.Time{}
	default:
		sec, frac := math.Modf(v)
		last[kid] = time.Unix(int64(sec), int64(frac*1e9))
	}
	return nil
}

// limitedReader reads at most n bytes of r, and notes whether r had more.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.over = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
