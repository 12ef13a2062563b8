package main

import (
	"net/netip"
	"testing"

	"github.com/nordunet/ssmrandom/internal/mcast"
)

func TestDefaultGroups(t *testing.T) {
	for _, s := range []string{defaultGroup, defaultGroup6} {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		if !mcast.IsSSM(a) {
			t.Errorf("IsSSM(%s): got false, want true", s)
		}
	}
	if got := netip.MustParseAddr(defaultGroup6).Is6(); !got {
		t.Errorf("defaultGroup6 %s is IPv6: got false, want true", defaultGroup6)
	}
}
