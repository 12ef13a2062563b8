package receive

// Explain runs the checks on datagram, without counting it, consulting the
// sampler or changing any state, and returns the words of its verdict
// ([Verdict.Why]), or nil. The tests hold Handle's verdicts to it.
func (p *Pipeline) Explain(datagram []byte) error {
	w := newWork(p.cfg.MaxDatagram)
	p.check(&w, datagram, false)
	return w.v.Why()
}
