package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/nordunet/ssmrandom/internal/amt"
	"github.com/nordunet/ssmrandom/internal/driad"
	"github.com/nordunet/ssmrandom/internal/mcast"
	"github.com/nordunet/ssmrandom/internal/metrics"
	"github.com/nordunet/ssmrandom/internal/receive"
	"github.com/nordunet/ssmrandom/internal/report"
)

// envDNSServer names the DNS server (ADDRESS:PORT) --amt-relay auto asks
// instead of /etc/resolv.conf's first name server.
const envDNSServer = "SSMRANDOM_DNS_SERVER"

// amtRelayFlag is --amt-relay, of recv and seed.
func amtRelayFlag() cli.Flag {
	return &cli.StringFlag{Name: "amt-relay", Usage: "reach the channel through an AMT relay (RFC 7450) at `ADDRESS`, or auto: found by DNS (RFC 8777)", DefaultText: "a native join"}
}

// datagramConn is where recv reads datagrams: a native SSM receiver or an
// AMT gateway.
type datagramConn interface {
	Read(b []byte) (n int, src netip.Addr, err error)
	Foreign() uint64
	Close() error
}

// joinChannel joins the producers' channel natively, or through an AMT
// relay with --amt-relay. It returns no conn and no error if ctx ends
// first (SIGINT or SIGTERM).
func joinChannel(ctx context.Context, c *cli.Context, hosts []string, group netip.AddrPort, ifi *net.Interface, log zerolog.Logger) (datagramConn, error) {
	spec := c.String("amt-relay")
	if spec == "" {
		conn, err := joinProducers(ctx, hosts, group, ifi, log)
		if conn == nil {
			return nil, err
		}
		if err := setRcvbuf(c, conn, log); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sources, err := mcast.ResolveSources(rctx, hosts, group.Addr())
	if err != nil && ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		return nil, asUsage(err, "producers are host names or addresses of the group's family")
	}
	disc, err := amtDiscovery(rctx, spec, sources[0], log)
	if err != nil {
		return nil, err
	}
	g, err := amt.Open(amt.Config{Discovery: disc, Group: group, Sources: sources})
	if err != nil {
		return nil, err
	}
	for _, s := range sources {
		log.Info().Str("source", s.String()).Str("group", group.String()).Str("transport", "amt").
			Str("discovery", disc.String()).Msg("joining through an AMT relay")
	}
	return g, nil
}

// amtDiscovery returns where the gateway sends Relay Discovery: the
// --amt-relay address (or host name), or with auto the relay source's
// DRIAD records name, or the AMT anycast address when they name none.
func amtDiscovery(ctx context.Context, spec string, source netip.Addr, log zerolog.Logger) (netip.AddrPort, error) {
	if spec != "auto" {
		if ap, err := netip.ParseAddrPort(spec); err == nil {
			return ap, nil
		}
		if a, err := netip.ParseAddr(spec); err == nil {
			return netip.AddrPortFrom(a, amt.Port), nil
		}
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", spec)
		if err != nil || len(addrs) == 0 {
			return netip.AddrPort{}, withHint(fmt.Errorf("amt relay %q: %w", spec, err), "--amt-relay takes an address, a host name or auto")
		}
		return netip.AddrPortFrom(addrs[0].Unmap(), amt.Port), nil
	}
	server, err := amtDNSServer()
	if err != nil {
		return netip.AddrPort{}, err
	}
	relays, err := driad.Resolver{Server: server}.Lookup(ctx, source)
	if errors.Is(err, driad.ErrNoRelay) {
		anycast := driad.Anycast(source)
		log.Warn().Str("source", source.String()).Str("anycast", anycast.String()).
			Msg("no AMTRELAY record for the source (RFC 8777); trying the AMT anycast discovery address (RFC 7450)")
		return netip.AddrPortFrom(anycast, amt.Port), nil
	}
	if err != nil {
		return netip.AddrPort{}, withHint(err, "--amt-relay auto asks "+envDNSServer+" or /etc/resolv.conf's first name server")
	}
	r := relays[0]
	log.Info().Str("source", source.String()).Str("relay", r.Addr.String()).Str("name", r.Name).
		Uint8("precedence", r.Precedence).Int("records", len(relays)).Msg("found an AMT relay by DNS (RFC 8777)")
	return netip.AddrPortFrom(r.Addr, amt.Port), nil
}

// amtDNSServer is the DNS server of --amt-relay auto.
func amtDNSServer() (netip.AddrPort, error) {
	if s := os.Getenv(envDNSServer); s != "" {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.AddrPort{}, usagef(envDNSServer+" takes ADDRESS:PORT, e.g. 192.0.2.53:53", "bad %s %q", envDNSServer, s)
		}
		return ap, nil
	}
	return driad.SystemServer("/etc/resolv.conf")
}

// transportMetrics says how datagrams arrive, for the metrics.
func transportMetrics(conn datagramConn) func() metrics.Transport {
	return func() metrics.Transport {
		if native, ok := conn.(*mcast.Receiver); ok {
			return metrics.Transport{Kind: "native", KernelDrops: native.Drops(), ReadBuffer: native.ReadBufferSize()}
		}
		g, ok := conn.(*amt.Gateway)
		if !ok {
			return metrics.Transport{Kind: "native"}
		}
		s := g.Stats()
		t := metrics.Transport{Kind: "amt", State: s.State.String(), Rediscoveries: s.Rediscoveries}
		if s.Relay.IsValid() {
			t.Relay = s.Relay.String()
		}
		return t
	}
}

// socketStats returns conn's counters of the datagrams that never
// reached the pipeline, for the summaries.
func socketStats(conn datagramConn) func() receive.SocketStats {
	return func() receive.SocketStats {
		s := receive.SocketStats{Foreign: conn.Foreign()}
		if native, ok := conn.(*mcast.Receiver); ok {
			s.KernelDrops = native.Drops()
		}
		return s
	}
}

// transportFields says how datagrams arrive, for the summaries.
func transportFields(conn datagramConn) report.Fields {
	if g, ok := conn.(*amt.Gateway); ok {
		s := g.Stats()
		return report.Transport(&s)
	}
	return report.Transport(nil)
}
