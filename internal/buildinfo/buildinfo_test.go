package buildinfo_test

import (
	"runtime/debug"
	"testing"

	"github.com/nordunet/ssmrandom/internal/buildinfo"
)

func TestVersion(t *testing.T) {
	vcs := func(rev, when, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "6fd7812ad7bf79f4d1f16cbd4cf4eb5c129d6da1"
	for _, tc := range []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"make build wins", "v1.2.0-3-g6fd7812", &debug.BuildInfo{Main: debug.Module{Version: "v1.1.0"}}, "v1.2.0-3-g6fd7812"},
		{"no build info", "", nil, "dev"},
		{"go install module@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.1.0"}}, "v1.1.0"},
		{"go build in a clone", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261124205024-6fd7812ad7bf+dirty"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "true")}, "v0.0.0-20261124205024-6fd7812ad7bf+dirty"},
		{"devel with vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "false")}, "devel-20261124205024-6fd7812ad7bf"},
		{"devel with vcs, modified", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T20:50:24Z", "true")}, "devel-20261124205024-6fd7812ad7bf+dirty"},
		{"devel without vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := buildinfo.Version(tc.linked, tc.info); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
