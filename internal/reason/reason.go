// Package reason names the reasons of a pipeline's verdicts (the
// receive and hostseed packages each have an enumeration of them) as logs,
// metrics and docs write them, and maps a check's error to its reason. It
// is the standard library only.
package reason

import (
	"errors"
	"fmt"
)

// Name returns names[r], the name of the reason r, or "Reason(r)" for an
// r that has no name.
func Name[R ~int](names []string, r R) string {
	if r < 0 || int(r) >= len(names) {
		return fmt.Sprintf("Reason(%d)", int(r))
	}
	return names[r]
}

// From returns the reasons from first up to, not including, end, in
// order: the check order, where the reasons are declared so.
func From[R ~int](first, end R) []R {
	rs := make([]R, 0, max(0, int(end-first)))
	for r := first; r < end; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Case pairs a sentinel error with the reason of an error that matches
// it.
type Case[R any] struct {
	Err    error
	Reason R
}

// Of returns the reason of the first of cases whose sentinel err matches
// (errors.Is), or otherwise if none does: the reason of a check's error.
func Of[R any](err error, otherwise R, cases ...Case[R]) R {
	for _, c := range cases {
		if errors.Is(err, c.Err) {
			return c.Reason
		}
	}
	return otherwise
}
