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

// Floor is the least limit [Fit] sets: 8 MiB, the fixed limit recv
// had. A receiver with a few keys holds about 4.7 MiB, so its limit is
// about 9.5 MiB; one with 20,000 keys holds about 22 MiB.
const Floor = 8 << 20

// inUse names the runtime/metrics of the memory the soft limit is held
// against (all the runtime maps, less what it returned to the system),
// and of the heap memory that is free for new objects: what is held is
// the first less the other two.
var inUse = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
}

// Fit collects garbage, then sets the soft memory limit to the larger of
// [Floor] and twice the memory the runtime then holds (live objects,
// stacks and the runtime's own structures, not free heap), and returns
// the limit. Call it once what is kept for good is loaded, and again
// when that changed (a keyring reloaded). It is safe for concurrent use,
// and costs one full collection.
func Fit() int64 {
	runtime.GC()
	s := make([]metrics.Sample, len(inUse))
	copy(s, inUse)
	metrics.Read(s)
	held := int64(s[0].Value.Uint64() - s[1].Value.Uint64() - s[2].Value.Uint64())
	limit := max(Floor, 2*held)
	debug.SetMemoryLimit(limit)
	return limit
}
