package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPlotFlood draws docs/flood.csv with scripts/plot-flood.py and checks
// that the result is docs/flood.svg byte for byte: the figure in
// docs/performance.md is the one its CSV gives.
func TestPlotFlood(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to run scripts/plot-flood.py")
	}
	root := filepath.Join("..", "..")
	out := filepath.Join(t.TempDir(), "flood.svg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(root, "scripts", "plot-flood.py"), filepath.Join(root, "docs", "flood.csv"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plot-flood.py: %v: %s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(got, new(struct{})); err != nil {
		t.Errorf("the SVG is not XML: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(root, "docs", "flood.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/flood.svg is not what scripts/plot-flood.py draws from docs/flood.csv: run it again")
	}
}
