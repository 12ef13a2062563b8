// Package metrics turns the counters of ssmrandom's recv and send into
// Prometheus metrics and serves them over HTTP. docs/metrics.md lists
// every metric, with example queries and alerts.
//
// The package does nothing else: it does not log, read flags or the
// environment, or exit. Metrics are off unless the command asks for them;
// [SuggestedPort] is the port to suggest in its help text.
//
// # Receiver
//
// A [Recv] reads most of its metrics at scrape time, from snapshot
// functions the caller supplies in a [Source] (the pipeline's
// [receive.Pipeline.Stats] and [receive.Pipeline.Producers], the socket's
// count of datagrams from foreign sources), so the per-frame path costs
// nothing. The rest are events the pipeline does not count, which the
// caller reports with methods: [Recv.ObserveVerify] (its signature fits
// [receive.Config.ObserveVerify]), [Recv.HealthFailure],
// [Recv.BlockFailure], [Recv.SinkError] and [Recv.TrustReloaded].
//
// Metrics labelled kid exist only for the producer keys that
// [receive.Pipeline.Producers] reports: the keys of the keyring in use and
// keys that sent a verified frame before they were removed from it. Every
// one of them was trusted, so the label set is bounded by the keys trusted
// since the start, whatever an attacker sends: a datagram naming a key
// that is not trusted never makes a series.
//
// Until [Recv.SetSource], a scrape shows the pipeline's counters at zero;
// serving may start as soon as the address is bound.
//
// # Sender
//
// A [Send] holds the sender's counters, which the caller increments
// with [Send.Sent], [Send.SendError] and [Send.ReadError].
//
// # Serving
//
// [Listen] binds the address at once, so that the command can refuse a
// bad or busy address (a usage error) before it joins a group or opens
// an output; [Server.Serve] then serves a [Recv] or [Send] (any
// [prometheus.Gatherer]) at /metrics, with a small index at /, until its
// context is done. Each Recv and Send has a registry of its own, with the
// Go runtime and process collectors and ssmrandom_build_info; nothing is
// registered in client_golang's global default registry.
//
// # Reading
//
// [LastFrames] is the other side: a scrape client that reads, from a
// running receiver's endpoint, when each producer key last had a verified
// frame ([LastFrameName]).
package metrics

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/nordunet/ssmrandom/internal/receive"
)

// SuggestedPort is the TCP port to suggest for --metrics-addr, as in
// "127.0.0.1:9641" (loopback only: the metrics name key files) or ":9641".
// Nothing listens on it unless the command is told to.
const SuggestedPort = 9641

// Buckets of ssmrandom_recv_verify_duration_seconds: verifyBucketCount
// upper bounds from verifyBucketStart, each double the one before, so 5 µs
// to 5.12 ms (and +Inf). One
// Ed25519 verification takes about 20 µs (in a batch) to 60 µs (alone) on
// a current core (docs/performance.md); the buckets leave room on either
// side for faster and slower machines and for a loaded host.
const (
	verifyBucketStart = 5e-6
	verifyBucketCount = 11
)

// RecvConfig configures a [Recv].
type RecvConfig struct {
	// Version is the program's version, the version label of
	// ssmrandom_build_info; "" means "unknown".
	Version string
	// Now returns the current time, for
	// ssmrandom_recv_last_frame_age_seconds; nil means time.Now. For
	// tests.
	Now func() time.Time
}

// Source is where a [Recv] reads its snapshot metrics at scrape time.
// Each function is called once per scrape, from the goroutine serving it,
// and so must be safe to call from any goroutine.
type Source struct {
	// Stats returns the pipeline's counters: [receive.Pipeline.Stats].
	// Nil reads as all zeros.
	Stats func() receive.Stats
	// Producers returns the per-key counters:
	// [receive.Pipeline.Producers]. Its keys are the only kid label
	// values (see the package doc). Nil reads as no producers.
	Producers func() []receive.ProducerStats
	// Foreign returns how many datagrams from sources that were not
	// joined were skipped: the mcast receiver's Foreign. Nil leaves out
	// ssmrandom_recv_foreign_source_datagrams_total.
	Foreign func() uint64
	// Alarms returns the alarms raised now: [receive.Pipeline.Alarms] for
	// the time the caller chose. Nil leaves out ssmrandom_recv_alarm, and
	// [Recv.Health] reports no alarm.
	Alarms func() receive.Alarms
	// Transport says how datagrams arrive: natively or through an AMT
	// relay. Nil leaves out ssmrandom_recv_transport_info,
	// ssmrandom_recv_amt_rediscoveries_total,
	// ssmrandom_recv_kernel_drops_total and ssmrandom_recv_rcvbuf_bytes.
	Transport func() Transport
}

// Transport is how a receiver gets its datagrams.
type Transport struct {
	Kind  string // "native" or "amt"
	Relay string // the AMT relay's address and port; "" before one advertised itself, or native
	State string // the AMT tunnel's state (discovering, requesting, up, closed); "" native
	// Rediscoveries counts the times the AMT relay went silent and was
	// discovered again.
	Rediscoveries uint64
	// KernelDrops counts the datagrams the kernel dropped at a native
	// receiver's socket, nearly always because its receive buffer was
	// full.
	KernelDrops uint64
	// ReadBuffer is the socket's receive buffer in bytes, as the kernel
	// reports it; 0 if not known.
	ReadBuffer int
}

// Recv is the receiver's metrics. Make one with [NewRecv] and give it
// its [Source] with [Recv.SetSource]; the zero value is not usable, but a
// nil *Recv is: its methods do nothing, so a caller with metrics off may
// keep a nil one. Its methods are safe for concurrent use, and so is
// scraping it at any time.
type Recv struct {
	reg       *prometheus.Registry
	now       func() time.Time
	src       atomic.Pointer[Source]
	verify    prometheus.Histogram
	reloadsOK prometheus.Counter
	reloadsKO prometheus.Counter
	skipped   prometheus.Gauge

	sinkErrors atomic.Uint64
	health     sync.Map // kid → *atomic.Uint64
	blocks     sync.Map // kid → *atomic.Uint64, isolated FIPS block failures
}

// NewRecv returns the receiver's metrics, with an empty [Source]: until
// [Recv.SetSource], the pipeline's counters read as zeros and there are
// no per-key metrics. So it can be made before the pipeline, whose
// [receive.Config.ObserveVerify] takes [Recv.ObserveVerify].
func NewRecv(cfg RecvConfig) *Recv {
	r := &Recv{
		now: cfg.Now,
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    recvVerifyName,
			Help:    "Time spent on one frame's Ed25519 signature verification (a batch's time divided among its frames).",
			Buckets: prometheus.ExponentialBuckets(verifyBucketStart, 2, verifyBucketCount),
		}),
		skipped: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: recvTrustSkippedName,
			Help: "Trust files passed over at the last successful trust reload because they did not parse.",
		}),
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.src.Store(new(Source))
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: recvTrustReloadsName,
		Help: "Trust reloads, by result: ok, or error when the trust path could not be read at all (the keyring in use is kept).",
	}, []string{"result"})
	r.reloadsOK = reloads.WithLabelValues("ok")
	r.reloadsKO = reloads.WithLabelValues("error")
	r.reg = newRegistry(cfg.Version, r.verify, r.skipped, reloads, recvCollector{r})
	return r
}

// SetSource makes r read its snapshot metrics from src, from the next
// scrape on. It may be called again, from any goroutine.
func (r *Recv) SetSource(src Source) {
	if r != nil {
		r.src.Store(&src)
	}
}

// Gather implements [prometheus.Gatherer]: it collects every metric of
// the receiver, the Go runtime and the process. It is what [Server.Serve]
// serves; a nil *Recv gathers nothing.
func (r *Recv) Gather() ([]*dto.MetricFamily, error) {
	if r == nil {
		return nil, nil
	}
	return r.reg.Gather()
}

// ObserveVerify records how long one Ed25519 verification took. Its
// signature fits [receive.Config.ObserveVerify]: pass the method value
// m.ObserveVerify (not one of a nil *Recv, which would be called for
// nothing: pass nil instead). It allocates nothing and takes no lock.
func (r *Recv) ObserveVerify(d time.Duration) {
	if r != nil {
		r.verify.Observe(d.Seconds())
	}
}

// HealthFailure counts one health test failure of the producer key kid:
// call it once per failure event (a verified frame dropped as
// [receive.Unhealthy] whose error does not wrap health.ErrFailed), not for
// the frames refused while the producer is on probation. Only the kids
// that the Producers function reports, and [receive.UnsignedID], are
// exported, so kid should be the key of a verified frame
// ([receive.Verdict.KeyID]).
func (r *Recv) HealthFailure(kid string) {
	if r != nil {
		count(&r.health, kid)
	}
}

// BlockFailure counts one isolated FIPS 140-2 block failure of the
// producer key kid ([receive.Verdict.BlockFailed]): a frame refused with
// no change of the producer's state, the chance failure of a good source
// about once in 1,270 blocks. The kids exported are as for
// [Recv.HealthFailure].
func (r *Recv) BlockFailure(kid string) {
	if r != nil {
		count(&r.blocks, kid)
	}
}

// count adds one to the counter of kid in m.
func count(m *sync.Map, kid string) {
	v, ok := m.Load(kid)
	if !ok {
		v, _ = m.LoadOrStore(kid, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// SinkError counts one write to the output that failed with an error
// other than a full output, which the pipeline returns rather than
// counts. Writes refused because the output was full are counted by the
// pipeline ([receive.OutputFull]) and need no call.
func (r *Recv) SinkError() {
	if r != nil {
		r.sinkErrors.Add(1)
	}
}

// TrustReloaded counts one reload of the trusted keys (sign.ReloadTrust),
// by result: err not nil is a failed reload, which leaves the gauge of
// skipped files as it was; otherwise skipped is the number of files passed
// over because they did not parse.
func (r *Recv) TrustReloaded(skipped int, err error) {
	if r == nil {
		return
	}
	if err != nil {
		r.reloadsKO.Inc()
		return
	}
	r.reloadsOK.Inc()
	r.skipped.Set(float64(skipped))
}

// Health returns nil while the receiver does its job, and otherwise an
// error that says which alarm of its [Source] is raised: what the health
// endpoint ([Handler]) answers. A nil *Recv, or one whose Source has no
// Alarms, is healthy.
func (r *Recv) Health() error {
	if r == nil {
		return nil
	}
	src := r.src.Load()
	if src.Alarms == nil {
		return nil
	}
	a := src.Alarms()
	var errs []error
	if a.Silent {
		errs = append(errs, fmt.Errorf("silence: no verified frame from any producer since %s", since(a.Heard)))
	}
	if a.Stuck {
		errs = append(errs, fmt.Errorf("output stuck: the output is full and took nothing since %s", since(a.Wrote)))
	}
	return errors.Join(errs...)
}

// since formats t for [Recv.Health]; zero is "the start".
func since(t time.Time) string {
	if t.IsZero() {
		return "the start"
	}
	return t.UTC().Format(time.RFC3339)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// recvCollector reads the receiver's snapshot metrics at scrape time.
type recvCollector struct{ r *Recv }

var (
	descDatagrams = prometheus.NewDesc(recvDatagramsName,
		"Datagrams from the joined sources handed to the receive pipeline.", nil, nil)
	descDropped = prometheus.NewDesc(recvDroppedName,
		"Datagrams not forwarded, by reason: sampled_out is by choice, seed counts seed datagrams (for ssmrandom seed), every other reason is a reject.", []string{"reason"}, nil)
	descFrames = prometheus.NewDesc(recvFramesName,
		"Frames whose signature verified, forwarded or not, by producer key.", []string{"kid"}, nil)
	descForwardedFrames = prometheus.NewDesc(recvForwardedFramesName,
		"Frames whose entropy bytes were written to the output, by producer key.", []string{"kid"}, nil)
	descForwardedBytes = prometheus.NewDesc(recvForwardedBytesName,
		"Entropy bytes written to the output, by producer key.", []string{"kid"}, nil)
	descLastFrame = prometheus.NewDesc(LastFrameName,
		"Unix time at which the producer key's last verified frame was checked; absent before its first.", []string{"kid"}, nil)
	descLastAge = prometheus.NewDesc(recvLastAgeName,
		"Seconds since the trusted producer key's last verified frame, at scrape time; absent before its first.", []string{"kid"}, nil)
	descTrustedKeys = prometheus.NewDesc(recvTrustedKeysName,
		"Keys in the keyring in use.", nil, nil)
	descKeyInfo = prometheus.NewDesc(recvKeyInfoName,
		"Always 1: a producer key, the file it was loaded from, its validity period (RFC 3339, empty for an open end) and whether it is in the keyring in use.",
		[]string{"kid", "file", "not_before", "not_after", "trusted"}, nil)
	descForeign = prometheus.NewDesc(recvForeignName,
		"Datagrams from a source that was not joined, skipped by the socket before the pipeline.", nil, nil)
	descHealth = prometheus.NewDesc(recvHealthName,
		"Health test failures of a producer key's verified bytes that made it unhealthy or kept it so, one per failure (not per frame refused on probation, nor isolated FIPS 140-2 block failures).", []string{"kid"}, nil)
	descBlock = prometheus.NewDesc(recvBlockName,
		"Isolated FIPS 140-2 block failures of a producer key's verified bytes: each refused the frame ending the block and changed nothing else (a good source fails about one block in 1,270).", []string{"kid"}, nil)
	descSinkErrors = prometheus.NewDesc(recvSinkErrorsName,
		"Writes to the output that failed, by kind: full (the output would block; the frame was dropped) or error (any other write error).", []string{"kind"}, nil)
	descAlarm = prometheus.NewDesc(recvAlarmName,
		"1 while the alarm is raised, else 0: silence (no verified frame from any producer for recv's --silence) or output_stuck (the output full and taking nothing for that long).", []string{"alarm"}, nil)
	descTransport = prometheus.NewDesc(recvTransportName,
		"Always 1: how datagrams arrive (kind native or amt), the AMT relay and the tunnel's state.", []string{"kind", "relay", "state"}, nil)
	descRediscoveries = prometheus.NewDesc(recvAMTRediscoveriesName,
		"Times the AMT relay went silent and was discovered again; absent for a native join.", nil, nil)
	descMember = prometheus.NewDesc(recvMemberName,
		"A member's counters (recv --host-key): keys (member keys learned from this host's entries), seeds (seeds credited to the kernel), tagged (datagrams whose member tag checked), probes (untagged or unknown-round datagrams let on to the signature check), key_drops (times a producer's member keys were dropped).", []string{"kind"}, nil)
	descKernelDrops = prometheus.NewDesc(recvKernelDropsName,
		"Datagrams the kernel dropped at the receiver's socket before they could be read, nearly always because its receive buffer was full (recv --rcvbuf); absent through an AMT relay.", nil, nil)
	descRcvbuf = prometheus.NewDesc(recvRcvbufName,
		"The receive buffer of the receiver's socket in bytes, as the kernel reports it (twice the size set; see recv --rcvbuf); absent when not known.", nil, nil)
	descUnsigned = prometheus.NewDesc(recvUnsignedName,
		"Unsigned version 1.0 frames of the original ssmrandom forwarded (recv --allow-unsigned); always 0 without it.", nil, nil)
)

func (c recvCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatagrams, descDropped, descFrames, descForwardedFrames, descForwardedBytes,
		descLastFrame, descLastAge, descTrustedKeys, descKeyInfo, descForeign, descHealth, descBlock, descSinkErrors, descUnsigned, descMember, descAlarm, descTransport, descRediscoveries, descKernelDrops, descRcvbuf} {
		ch <- d
	}
}

func (c recvCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.r.src.Load()
	var s receive.Stats
	if src.Stats != nil {
		s = src.Stats()
	}
	send(ch, descDatagrams, prometheus.CounterValue, float64(s.Datagrams))
	send(ch, descUnsigned, prometheus.CounterValue, float64(s.Unsigned))
	for _, m := range []struct {
		kind string
		n    uint64
	}{{"keys", s.Member.Keys}, {"seeds", s.Member.Seeds}, {"tagged", s.Member.Tagged}, {"probes", s.Member.Probes}, {"key_drops", s.Member.KeyDrops}} {
		send(ch, descMember, prometheus.CounterValue, float64(m.n), m.kind)
	}
	for _, reason := range receive.Reasons() {
		send(ch, descDropped, prometheus.CounterValue, float64(s.Dropped[reason]), reason.String())
	}
	send(ch, descSinkErrors, prometheus.CounterValue, float64(s.Dropped[receive.OutputFull]), "full")
	send(ch, descSinkErrors, prometheus.CounterValue, float64(c.r.sinkErrors.Load()), "error")
	if src.Foreign != nil {
		send(ch, descForeign, prometheus.CounterValue, float64(src.Foreign()))
	}
	if src.Alarms != nil {
		a := src.Alarms()
		send(ch, descAlarm, prometheus.GaugeValue, boolFloat(a.Silent), "silence")
		send(ch, descAlarm, prometheus.GaugeValue, boolFloat(a.Stuck), "output_stuck")
	}
	if src.Transport != nil {
		t := src.Transport()
		send(ch, descTransport, prometheus.GaugeValue, 1, t.Kind, t.Relay, t.State)
		if t.Kind == "amt" {
			send(ch, descRediscoveries, prometheus.CounterValue, float64(t.Rediscoveries))
		} else {
			send(ch, descKernelDrops, prometheus.CounterValue, float64(t.KernelDrops))
		}
		if t.ReadBuffer > 0 {
			send(ch, descRcvbuf, prometheus.GaugeValue, float64(t.ReadBuffer))
		}
	}

	var producers []receive.ProducerStats
	if src.Producers != nil {
		producers = src.Producers()
	}
	now := c.r.now()
	trusted := 0
	// The original ssmrandom's unsigned frames (recv --allow-unsigned)
	// are health-tested under one fixed id, which no key can have.
	for _, m := range []struct {
		desc *prometheus.Desc
		kids *sync.Map
	}{{descHealth, &c.r.health}, {descBlock, &c.r.blocks}} {
		if v, ok := m.kids.Load(receive.UnsignedID); ok {
			send(ch, m.desc, prometheus.CounterValue, float64(v.(*atomic.Uint64).Load()), receive.UnsignedID)
		}
	}
	for _, p := range producers {
		kid := p.KeyID
		send(ch, descFrames, prometheus.CounterValue, float64(p.Frames), kid)
		send(ch, descForwardedFrames, prometheus.CounterValue, float64(p.Forwarded), kid)
		send(ch, descForwardedBytes, prometheus.CounterValue, float64(p.Bytes), kid)
		var failures, blocks uint64
		if v, ok := c.r.health.Load(kid); ok {
			failures = v.(*atomic.Uint64).Load()
		}
		if v, ok := c.r.blocks.Load(kid); ok {
			blocks = v.(*atomic.Uint64).Load()
		}
		send(ch, descHealth, prometheus.CounterValue, float64(failures), kid)
		send(ch, descBlock, prometheus.CounterValue, float64(blocks), kid)
		if !p.LastFrame.IsZero() {
			send(ch, descLastFrame, prometheus.GaugeValue, float64(p.LastFrame.UnixNano())/1e9, kid)
			if p.Trusted {
				send(ch, descLastAge, prometheus.GaugeValue, max(now.Sub(p.LastFrame).Seconds(), 0), kid)
			}
		}
		if p.Trusted {
			trusted++
		}
		send(ch, descKeyInfo, prometheus.GaugeValue, 1, kid, p.File, rfc3339(p.Valid.NotBefore), rfc3339(p.Valid.NotAfter), boolString(p.Trusted))
	}
	send(ch, descTrustedKeys, prometheus.GaugeValue, float64(trusted))
}

// send sends one constant metric. Label values that are not valid UTF-8
// (a file name can be anything) have the bad bytes replaced, so that no
// file name can fail a scrape.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// rfc3339 formats one end of a validity period; "" for an open end.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// newRegistry returns a registry with the Go runtime and process
// collectors, ssmrandom_build_info and cs. It panics only on a bug: two
// collectors of one metric name.
func newRegistry(version string, cs ...prometheus.Collector) *prometheus.Registry {
	if version == "" {
		version = "unknown"
	}
	reg := prometheus.NewRegistry()
	build := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: buildInfoName,
		Help: "Always 1: the ssmrandom version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{
			"version":   strings.ToValidUTF8(version, "\uFFFD"),
			"goversion": runtime.Version(),
		},
	}, func() float64 { return 1 })
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build)
	reg.MustRegister(cs...)
	return reg
}
