package report

import (
	"net/netip"

	"github.com/nordunet/ssmrandom/internal/hostseed"
)

// SeedVerdict returns the line of one datagram's verdict for seed: a seed
// taken at info level, anything else at debug level. A verdict holds no
// seed, and neither does the line.
func SeedVerdict(src netip.Addr, v hostseed.Verdict) Line {
	if v.Reason == hostseed.Taken {
		return Line{Level: Info, Fields: Fields{{"from", src.String()}, {"kid", v.Facts.KeyID}, {"round", v.Facts.Round}}, Msg: "took a seed"}
	}
	return Line{Level: Debug, Fields: Fields{{"from", src.String()}, {"reason", v.Reason.String()}, {"why", v.Why()}}, Msg: "skipped"}
}
