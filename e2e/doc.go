// Package e2e holds the end-to-end tests of ssmrandom: the command, built
// once from ./cmd/ssmrandom (see TestMain), run as processes on networks
// of network namespaces the tests make (netns_test.go,
// netns_redundant_test.go), feeding a real rngd (rngd_test.go), and
// running the walk-through of docs/deployment.md (deployment_test.go).
// The processes are driven with internal/harness, which bench/e2e uses
// too.
//
// The tests need root and the ip command (iproute2), the rngd tests also
// rngd (rng-tools5). Without them they skip with the reason; with the
// environment variable CI set they fail instead.
package e2e
