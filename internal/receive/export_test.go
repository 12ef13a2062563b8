package receive

import "github.com/nordunet/ssmrandom/internal/membertag"

// Explain runs the checks on datagram, without counting it, consulting the
// sampler or changing any state, and returns the words of its verdict
// ([Verdict.Why]), or nil. The tests hold Handle's verdicts to it.
func (p *Pipeline) Explain(datagram []byte) error {
	w := newWork(p.cfg.MaxDatagram)
	p.check(&w, datagram, false)
	return w.v.Why()
}

// HoldMemberKey gives the member state of producer key kid the member key
// k, as if this host had opened it from a seed datagram, at the
// pipeline's now.
func (p *Pipeline) HoldMemberKey(kid string, k *membertag.Key) {
	p.trust.Load().producers[kid].learn(k, p.now().UnixNano())
}
