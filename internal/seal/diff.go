package seal

// Diff counts the members next has and prev has not (added), and those
// prev has and next has not (removed), by host key id.
func Diff(prev, next *Members) (added, removed int) {
	in := func(s *Members) map[string]bool {
		m := make(map[string]bool, s.Len())
		for _, x := range s.All() {
			m[x.ID] = true
		}
		return m
	}
	p, n := in(prev), in(next)
	for id := range n {
		if !p[id] {
			added++
		}
	}
	for id := range p {
		if !n[id] {
			removed++
		}
	}
	return added, removed
}
