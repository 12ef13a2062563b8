package receive_test

import (
	"bytes"
	"testing"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/receive"
)

// TestMaxData checks that MaxData is exact: a frame of MaxData(n) bytes
// fits a datagram of n bytes (signed, with the shortest source, epoch,
// sequence number and time; or unsigned), and one byte more does not; and
// that MaxDatagramFor is its inverse.
func TestMaxData(t *testing.T) {
	k := newKeys(t)
	signedLen := func(n int) int {
		f := frame.Frame{Source: "x", Data: bytes.Repeat([]byte{1}, n)}
		return len(signPayload(t, k.trusted, f.Append(nil)))
	}
	unsignedLen := func(n int) int {
		b := frame.AppendV1(nil, "x", bytes.Repeat([]byte{1}, n))
		return len(b) - bytes.Count(b, []byte(" "))
	}
	for _, limit := range []int{256, 1232, 1472, 7521, 7522, 9000, 65507} {
		for _, unsigned := range []bool{false, true} {
			n := receive.MaxData(limit, unsigned)
			fits := signedLen(n) <= limit
			over := signedLen(n+1) <= limit
			if unsigned {
				fits = fits || unsignedLen(n) <= limit
				over = over || unsignedLen(n+1) <= limit
			}
			if !fits || over {
				t.Errorf("MaxData(%d, unsigned %v) = %d: fits %v, one more fits %v; want true, false", limit, unsigned, n, fits, over)
			}
		}
	}
	for _, unsigned := range []bool{false, true} {
		d := receive.MaxDatagramFor(4096, unsigned)
		if got, next := receive.MaxData(d, unsigned), receive.MaxData(d+1, unsigned); got > 4096 || next <= 4096 {
			t.Errorf("MaxDatagramFor(4096, unsigned %v) = %d: MaxData %d there, %d one byte more; want <= 4096, > 4096", unsigned, d, got, next)
		}
	}
}
