package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportBoundaries holds the packages to their jobs (STYLE.md): frame
// and membertag are pure, sign knows keys and JWS but not sockets, mcast knows sockets but
// not keys or frames, sink knows outputs only, receive composes frame,
// sign and sink without sockets, hostseed takes a host's seeds without
// sockets, outputs or logs, send frames and signs without knowing
// receive or a socket type, pidfile is the standard library only, memlimit
// is the runtime's only (no environment), amt and driad know datagrams
// and DNS but no key, watch
// knows paths and fsnotify but no key, flag or logger, metrics reads the pipeline's counters
// without sockets, outputs, flags, the environment or a logger, words is
// the standard library only, keylist and describe word keys and datagrams
// without sockets, files or a logger, manual and completion know
// urfave/cli but nothing of ssmrandom's packages, and control answers
// status queries without a logger or flags, and keyfile, which sign and
// seal share, and reason, which receive and hostseed share, are the
// standard library only. It checks
// each package's own imports.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/nordunet/ssmrandom/internal/"
	forbidden := map[string][]string{
		"frame":      {mod, "net", "os", "github.com/", "golang.org/x/"},
		"membertag":  {mod, "net", "os", "time", "github.com/", "golang.org/x/"},
		"sign":       {mod, "net", "github.com/rs/zerolog"},
		"mcast":      {mod, "github.com/go-jose/", "github.com/rs/zerolog"},
		"sink":       {mod, "net", "github.com/go-jose/", "github.com/rs/zerolog"},
		"receive":    {mod + "mcast", "net", "os", "github.com/rs/zerolog", "github.com/go-jose/"},
		"metrics":    {mod + "mcast", mod + "sink", "os", "flag", "github.com/rs/zerolog", "github.com/urfave/cli"},
		"send":       {mod + "receive", mod + "mcast", mod + "metrics", mod + "sink", "net", "os", "flag", "github.com/rs/zerolog", "github.com/urfave/cli"},
		"hostseed":   {mod + "mcast", mod + "sink", mod + "receive", mod + "metrics", "net", "os", "flag", "github.com/rs/zerolog", "github.com/go-jose/", "github.com/urfave/cli"},
		"pidfile":    {mod, "github.com/", "golang.org/x/net", "golang.org/x/time", "golang.org/x/crypto", "flag"},
		"watch":      {mod, "net", "flag", "github.com/rs/zerolog", "github.com/urfave/cli", "github.com/go-jose/"},
		"words":      {mod, "github.com/", "golang.org/x/"},
		"keylist":    {mod + "mcast", mod + "sink", mod + "receive", mod + "send", "net", "os", "flag", "github.com/rs/zerolog", "github.com/urfave/cli", "github.com/go-jose/"},
		"manual":     {mod, "net", "os", "flag", "github.com/rs/zerolog", "github.com/go-jose/"},
		"completion": {mod, "net", "os", "flag", "github.com/rs/zerolog", "github.com/go-jose/"},
		"describe":   {mod + "mcast", mod + "sink", "net", "os", "flag", "github.com/rs/zerolog", "github.com/urfave/cli", "github.com/go-jose/"},
		"control":    {"github.com/rs/zerolog", "github.com/urfave/cli", "flag"},
		"memlimit":   {mod, "os", "flag", "github.com/", "golang.org/x/"},
		"amt":        {mod, "os", "flag", "github.com/", "golang.org/x/"},
		"driad":      {mod, "os", "flag", "github.com/rs/zerolog", "github.com/go-jose/", "github.com/urfave/cli"},
		"reason":     {mod, "github.com/", "golang.org/x/"},
		"buildinfo":  {mod, "github.com/", "golang.org/x/", "os", "flag"},
	}
	// allowed are the exceptions: sign may use keyfile and membertag,
	// which hold only the standard library.
	allowed := map[string][]string{"sign": {mod + "keyfile", mod + "membertag"}}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", "./../../internal/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list internal/%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+pkg || slices.Contains(allowed[pkg], dep) {
				continue
			}
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b) && (strings.HasSuffix(b, "/") || strings.HasPrefix(dep, b+"/")) {
					t.Errorf("internal/%s depends on %s; it must not depend on %s", pkg, dep, b)
				}
			}
		}
	}
}
