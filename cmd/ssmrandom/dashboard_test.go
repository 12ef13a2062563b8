package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rogpeppe/go-internal/testscript"
)

// dashboardMetric matches a metric name of ssmrandom or of the Go and
// process collectors in a PromQL expression.
var dashboardMetric = regexp.MustCompile(`\b(?:ssmrandom|go|process)_[A-Za-z0-9_:]+`)

// dashboardFirst are the metrics of the panels an operator looks at first:
// the dashboard must query each.
var dashboardFirst = []string{
	"ssmrandom_recv_last_frame_age_seconds",
	"ssmrandom_recv_forwarded_bytes_total",
	"ssmrandom_recv_dropped_total",
	"ssmrandom_recv_health_failures_total",
	"ssmrandom_recv_verify_duration_seconds_bucket",
	"ssmrandom_recv_sink_errors_total",
	"ssmrandom_send_bytes_total",
}

// cmdDashMetrics checks a Grafana dashboard against running daemons: it
// parses DASHBOARD, takes every metric name its queries (panel targets and
// template variables) use, and checks that each is documented in METRICSDOC
// and exported by one of the metrics endpoints at URL..., scraping them
// until all are there, for at most 10 s (a per-key metric appears with
// the key's first frame).
//
//	dashmetrics DASHBOARD METRICSDOC URL...
func cmdDashMetrics(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: dashmetrics DASHBOARD METRICSDOC URL...")
	}
	queries, err := dashboardQueries([]byte(ts.ReadFile(args[0])))
	if err != nil {
		ts.Fatalf("dashmetrics: %s: %v", args[0], err)
	}
	used := map[string]bool{}
	for _, q := range queries {
		for _, name := range dashboardMetric.FindAllString(q, -1) {
			used[name] = true
		}
	}
	for _, name := range dashboardFirst {
		if !used[name] {
			ts.Fatalf("dashmetrics: no panel of %s queries %s", args[0], name)
		}
	}
	doc := ts.ReadFile(args[1])
	names := make([]string, 0, len(used))
	for name := range used {
		names = append(names, name)
		if !strings.Contains(doc, "`"+histogramFamily(name)+"`") {
			ts.Fatalf("dashmetrics: %s is not documented in %s", name, args[1])
		}
	}
	sort.Strings(names)
	ts.Logf("dashboard: %d queries use %d metrics: %s", len(queries), len(names), strings.Join(names, " "))

	client := &http.Client{Timeout: 2 * time.Second}
	var missing []string
	exported := map[string]bool{} // every name seen in any scrape
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var scrapeErr error
		for _, url := range args[2:] {
			if err := scrapeNames(client, url, exported); err != nil {
				scrapeErr = err
			}
		}
		missing = missing[:0]
		for _, name := range names {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("dashmetrics: after 10s, not exported by %s: %s (last scrape error: %v)", strings.Join(args[2:], ", "), strings.Join(missing, " "), scrapeErr)
		}
	}
}

// histogramFamily returns the family name of a histogram series name
// (NAME_bucket, NAME_sum, NAME_count), or name itself.
func histogramFamily(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(name, suffix); ok {
			return f
		}
	}
	return name
}

// dashboardQueries returns the PromQL of a Grafana dashboard: the expr of
// every panel target (rows' nested panels too) and the query of every
// template variable. It fails on a panel without a query, so that a panel
// cannot escape the check.
func dashboardQueries(b []byte) ([]string, error) {
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Type    string   `json:"type"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Definition string          `json:"definition"`
				Query      json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		return nil, fmt.Errorf("want a dashboard with a title, a uid and panels")
	}
	var queries []string
	var walk func([]panel) error
	walk = func(ps []panel) error {
		for _, p := range ps {
			if p.Type == "row" {
				if err := walk(p.Panels); err != nil {
					return err
				}
				continue
			}
			if p.Title == "" || len(p.Targets) == 0 {
				return fmt.Errorf("panel %q (%s) has no title or no query", p.Title, p.Type)
			}
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) == "" {
					return fmt.Errorf("panel %q has a target without expr", p.Title)
				}
				queries = append(queries, t.Expr)
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Query, &s) == nil:
		case json.Unmarshal(v.Query, &q) == nil:
			s = q.Query
		}
		queries = append(queries, v.Definition, s)
	}
	return slices.DeleteFunc(queries, func(q string) bool { return q == "" }), nil
}

// scrapeNames adds the series names the metrics endpoint at url exports
// to names: each family's name, and NAME_bucket, NAME_sum and NAME_count
// for histograms and summaries.
func scrapeNames(client *http.Client, url string, names map[string]bool) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return nil
}
