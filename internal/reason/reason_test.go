package reason_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/nordunet/ssmrandom/internal/reason"
)

type r int

func TestName(t *testing.T) {
	names := []string{"none", "too_big"}
	for _, tt := range []struct {
		r    r
		want string
	}{{0, "none"}, {1, "too_big"}, {2, "Reason(2)"}, {-1, "Reason(-1)"}} {
		if got := reason.Name(names, tt.r); got != tt.want {
			t.Errorf("Name(%d): got %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestFrom(t *testing.T) {
	if got, want := reason.From(r(1), r(4)), []r{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("From(1, 4): got %v, want %v", got, want)
	}
	if got := reason.From(r(3), r(3)); len(got) != 0 {
		t.Errorf("From(3, 3): got %v, want none", got)
	}
}

func TestOf(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	cases := []reason.Case[r]{{Err: errA, Reason: 1}, {Err: errB, Reason: 2}}
	for _, tt := range []struct {
		err  error
		want r
	}{{errA, 1}, {fmt.Errorf("wrapped: %w", errB), 2}, {errors.New("other"), 9}, {nil, 9}} {
		if got := reason.Of(tt.err, 9, cases...); got != tt.want {
			t.Errorf("Of(%v): got %d, want %d", tt.err, got, tt.want)
		}
	}
}
