package metrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports holds the package to its job (STYLE.md): it may read the
// receive pipeline's types, but not sockets, outputs, flags, the
// environment or a logger.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/nordunet/ssmrandom/internal/"
	forbidden := []string{mod + "mcast", mod + "sink", "os", "flag", "github.com/rs/zerolog", "github.com/urfave/cli"}
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: got error %v, want nil", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("internal/metrics imports %s; it must not", dep)
			}
		}
	}
}
