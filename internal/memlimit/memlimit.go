// Package memlimit fits the Go runtime's soft memory limit to what a
// daemon holds for good, so that the limit bounds garbage without making
// the collector run all the time.
//
// A fixed limit keeps the heap small under a flood of datagrams whose
// checks make short-lived garbage. But once the memory a daemon keeps
// (a keyring of 20,000 keys and their producers' state, say) comes near
// a fixed limit, every few allocations start a collection that marks all
// of it again: a frame then costs several times the CPU
// (docs/performance.md, "Many trusted keys").
package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Floor is the least limit [Fit] sets: 8 MiB, about twice what a
// receiver with a few keys holds, so that such a receiver lets at most a
// few MiB of garbage pile up.
const Floor = 8 << 20

// inUse is the runtime/metrics name of the memory the soft limit is held
// against, less the memory returned to the system.
var inUse = []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}

// Fit collects garbage, then sets the soft memory limit to the larger of
// [Floor] and twice the memory the runtime then holds, and returns the
// limit. Call it once what is kept for good is loaded, and again when it
// changed (a keyring reloaded). It is safe for concurrent use, and costs
// one full collection.
func Fit() int64 {
	runtime.GC()
	s := make([]metrics.Sample, len(inUse))
	copy(s, inUse)
	metrics.Read(s)
	held := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	limit := max(Floor, 2*held)
	debug.SetMemoryLimit(limit)
	return limit
}
