package driad_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nordunet/ssmrandom/internal/driad"
)

// serve runs a DNS server on loopback answering from zone, a map from
// "name type" to records.
func serve(t *testing.T, zone map[string][]dns.RR) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback UDP socket: %v", err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		qq := q.Question[0]
		m.Answer = zone[strings.ToLower(qq.Name)+" "+dns.TypeToString[qq.Qtype]]
		if m.Answer == nil {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func rr(t *testing.T, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookup(t *testing.T) {
	rev := "1.100.51.198.in-addr.arpa."
	zone := map[string][]dns.RR{
		rev + " AMTRELAY": {
			rr(t, rev+" 60 IN AMTRELAY 20 0 1 192.0.2.20"),
			// D set, type 3: raw, as miekg/dns v1.1.73 packs no relay
			// field when D is set.
			&dns.RFC3597{Hdr: dns.RR_Header{Name: rev, Rrtype: dns.TypeAMTRELAY, Class: dns.ClassINET, Ttl: 60},
				Rdata: "0a83" + "0572656c6179076578616d706c65036f726700"},
			rr(t, rev+" 60 IN AMTRELAY 5 0 0 ."), // type 0: no relay, passed over
			rr(t, rev+" 60 IN AMTRELAY 30 0 2 2001:db8::30"),
		},
		"relay.example.org. A":    {rr(t, "relay.example.org. 60 IN A 192.0.2.10")},
		"relay.example.org. AAAA": {rr(t, "relay.example.org. 60 IN AAAA 2001:db8::10")},
	}
	r := driad.Resolver{Server: serve(t, zone)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	relays, err := r.Lookup(ctx, netip.MustParseAddr("198.51.100.1"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rel := range relays {
		got = append(got, rel.Addr.String())
	}
	if len(relays) != 4 || relays[0].Precedence != 10 || relays[1].Precedence != 10 || !relays[0].DiscoveryOptional ||
		relays[0].Name != "relay.example.org." || relays[2].Addr.String() != "192.0.2.20" || relays[3].Addr.String() != "2001:db8::30" {
		t.Errorf("got %v %+v, want relay.example.org's two addresses (precedence 10), 192.0.2.20, 2001:db8::30", got, relays)
	}
	if _, err := r.Lookup(ctx, netip.MustParseAddr("198.51.100.2")); !errors.Is(err, driad.ErrNoRelay) {
		t.Errorf("no record: got %v, want ErrNoRelay", err)
	}
}

func TestAnycast(t *testing.T) {
	if got := driad.Anycast(netip.MustParseAddr("198.51.100.1")); got != driad.AnycastIPv4 {
		t.Errorf("got %s, want %s", got, driad.AnycastIPv4)
	}
	if got := driad.Anycast(netip.MustParseAddr("2001:db8::1")); got != driad.AnycastIPv6 {
		t.Errorf("got %s, want %s", got, driad.AnycastIPv6)
	}
}
