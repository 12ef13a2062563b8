package sign

// Diff returns the ids of the keys that next has and prev has not
// (added), those prev has and next has not (removed), and those in both
// whose validity period differs (changed), each in next's or prev's key
// order; none is nil.
func Diff(prev, next *Keyring) (added, removed, changed []string) {
	added, removed, changed = []string{}, []string{}, []string{}
	for _, k := range next.Keys() {
		old, ok := prev.Lookup(k.ID)
		switch {
		case !ok:
			added = append(added, k.ID)
		case old.Valid != k.Valid:
			changed = append(changed, k.ID)
		}
	}
	for _, k := range prev.Keys() {
		if _, ok := next.Lookup(k.ID); !ok {
			removed = append(removed, k.ID)
		}
	}
	return added, removed, changed
}
