package main

import (
	"strings"
	"testing"
)

// A stream as go test -json writes it: a package that passes with a
// skipped test, one with a failing subtest, one whose test binary died in
// the middle of a test, and one that does not build.
const stream = `{"Action":"start","Package":"example.org/a"}
{"Action":"run","Package":"example.org/a","Test":"TestOK"}
{"Action":"output","Package":"example.org/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.org/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"example.org/a","Test":"TestOK"}
{"Action":"run","Package":"example.org/a","Test":"TestNetns"}
{"Action":"output","Package":"example.org/a","Test":"TestNetns","Output":"=== RUN   TestNetns\n"}
{"Action":"output","Package":"example.org/a","Test":"TestNetns","Output":"    netns_test.go:12: needs root\n"}
{"Action":"output","Package":"example.org/a","Test":"TestNetns","Output":"--- SKIP: TestNetns (0.00s)\n"}
{"Action":"skip","Package":"example.org/a","Test":"TestNetns"}
{"Action":"output","Package":"example.org/a","Output":"PASS\n"}
{"Action":"output","Package":"example.org/a","Output":"ok  \texample.org/a\t0.01s\n"}
{"Action":"pass","Package":"example.org/a"}
{"Action":"run","Package":"example.org/b","Test":"TestT"}
{"Action":"run","Package":"example.org/b","Test":"TestT/sub"}
{"Action":"output","Package":"example.org/b","Test":"TestT/sub","Output":"    b_test.go:7: got 1, want 2\n"}
{"Action":"output","Package":"example.org/b","Test":"TestT/sub","Output":"    --- FAIL: TestT/sub (0.00s)\n"}
{"Action":"fail","Package":"example.org/b","Test":"TestT/sub"}
{"Action":"output","Package":"example.org/b","Test":"TestT","Output":"--- FAIL: TestT (0.00s)\n"}
{"Action":"fail","Package":"example.org/b","Test":"TestT"}
{"Action":"output","Package":"example.org/b","Output":"FAIL\n"}
{"Action":"output","Package":"example.org/b","Output":"FAIL\texample.org/b\t0.02s\n"}
{"Action":"fail","Package":"example.org/b"}
{"Action":"run","Package":"example.org/c","Test":"TestHang"}
{"Action":"output","Package":"example.org/c","Test":"TestHang","Output":"panic: test timed out after 10m0s\n"}
{"Action":"output","Package":"example.org/c","Output":"FAIL\texample.org/c\t600.01s\n"}
{"Action":"fail","Package":"example.org/c"}
{"ImportPath":"example.org/d [example.org/d.test]","Action":"build-output","Output":"d/d.go:3:1: syntax error\n"}
{"ImportPath":"example.org/d [example.org/d.test]","Action":"build-fail"}
{"Action":"output","Package":"example.org/d","Output":"FAIL\texample.org/d [build failed]\n"}
{"Action":"fail","Package":"example.org/d"}
not json: passed on
`

func TestSummary(t *testing.T) {
	var s summary
	var out strings.Builder
	if err := s.read(strings.NewReader(stream), &out); err != nil {
		t.Fatal(err)
	}
	// 1 pass; TestT, TestT/sub, TestHang and package d fail; 1 skip.
	if got, want := s.line(), "1 passed, 4 failed, 1 skipped"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if s.packages != 4 {
		t.Errorf("got %d packages, want 4", s.packages)
	}
	report := out.String()
	for _, want := range []string{
		"ok  \texample.org/a\t0.01s\n",
		"    netns_test.go:12: needs root\n--- SKIP: TestNetns (0.00s)\n",
		"    b_test.go:7: got 1, want 2\n    --- FAIL: TestT/sub (0.00s)\n",
		"--- FAIL: TestT (0.00s)\n",
		"FAIL\texample.org/b\t0.02s\n",
		"--- FAIL: TestHang (did not finish)\npanic: test timed out after 10m0s\n",
		"d/d.go:3:1: syntax error\n",
		"FAIL\texample.org/d [build failed]\n",
		"not json: passed on\n",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q; got:\n%s", want, report)
		}
	}
	for _, unwanted := range []string{"=== RUN", "--- PASS", "PASS\n"} {
		if strings.Contains(report, unwanted) {
			t.Errorf("report has %q, which go test without -v leaves out; got:\n%s", unwanted, report)
		}
	}
}
