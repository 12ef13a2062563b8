package receive

import (
	"bytes"
	"sort"

	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// MaxData returns the most entropy bytes that a frame in a datagram of at
// most maxDatagram bytes can carry: the largest write a [Pipeline] with
// that limit makes to its output. It counts unsigned version 1.0 frames
// too if allowUnsigned is set ([Config.AllowUnsigned]), which carry more
// bytes in a datagram of the same size. An output that takes fewer bytes
// in one write (a FIFO takes sink.PipeBuf) would drop the larger frames as
// [OutputTooBig]. The bound is exact: a frame of that many bytes with a
// source name of one character, and epoch, sequence number and time of
// one digit each (or an unsigned frame without the optional spaces) fits.
func MaxData(maxDatagram int, allowUnsigned bool) int {
	fits := func(n int) bool {
		return minDatagram(n, false) <= maxDatagram || (allowUnsigned && minDatagram(n, true) <= maxDatagram)
	}
	// The largest n in [0, frame.MaxData] that fits: lengths grow with n.
	return sort.Search(frame.MaxData+1, func(n int) bool { return !fits(n) }) - 1
}

// MaxDatagramFor returns the largest datagram size limit with which no
// frame carries more than maxData entropy bytes ([MaxData]).
func MaxDatagramFor(maxData int, allowUnsigned bool) int {
	small, big := minDatagram(maxData+1, false), minDatagram(maxData+1, true)
	if allowUnsigned {
		return min(small, big) - 1
	}
	return small - 1
}

// minDatagram returns the length of the shortest datagram that carries a
// frame of n entropy bytes: signed, or an unsigned version 1.0 frame.
func minDatagram(n int, unsigned bool) int {
	data := make([]byte, n)
	if unsigned {
		b := frame.AppendV1(nil, "x", data)
		// The spaces after ':' and ',' are optional (docs/protocol.md
		// §8); the data, in base64, and the source have none.
		return len(b) - bytes.Count(b, []byte(" "))
	}
	f := frame.Frame{Source: "x", Data: data}
	return sign.DatagramLen(len(f.Append(nil)))
}
