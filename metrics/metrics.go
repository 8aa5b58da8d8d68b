package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// Metrics is the daemon's registry and the actors.Observer that feeds it.
// Its methods are safe for concurrent use and never block for long: the
// Observer's are called on the daemon's hot paths.
type Metrics struct {
	reg *prometheus.Registry

	checkDuration *prometheus.HistogramVec
	checks        *prometheus.CounterVec
	// checkSeries keeps, by checkKey, the series a check lands in: a
	// check finds them without hashing and checking its labels, which
	// was about half of what counting it cost (BenchmarkCheckDone).
	// Series are never deleted, so none kept goes stale.
	checkSeries sync.Map

	tableWrites       prometheus.Counter
	tableChanges      prometheus.Counter
	tableWriteErrors  prometheus.Counter
	tableWriteSeconds prometheus.Histogram
	driftRepairs      prometheus.Counter
	driftChanges      prometheus.Counter

	reloads *prometheus.CounterVec

	gateLimit    prometheus.Gauge
	gateInFlight prometheus.Gauge

	daemon *daemonCollector
}

// checkBuckets span a check on loopback (a millisecond) to one that runs
// into a long negotiatetimeout.
var checkBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// writeBuckets span a single change through netlink (tens of
// microseconds) to a whole table of 10,000 destinations read and written
// (a second or more).
var writeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New makes the registry, with the Go runtime's and the process's metrics
// and the version as ldirectord_build_info.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ldirectord_check_duration_seconds",
			Help:    "How long health checks of real servers took, by virtual service and check kind.",
			Buckets: checkBuckets,
		}, []string{"virtual", "check"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ldirectord_checks_total",
			Help: "Health checks of real servers, by virtual service, check kind, result (up or down) and the class of the reason of a failure.",
		}, []string{"virtual", "check", "result", "reason"}),
		tableWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ldirectord_table_writes_total",
			Help: "Writes of the IPVS table: attempts to bring it in step that had changes to make or failed.",
		}),
		tableChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ldirectord_table_changes_total",
			Help: "Changes (ipvsadm commands) written to the IPVS table by writes that succeeded.",
		}),
		tableWriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ldirectord_table_write_errors_total",
			Help: "Writes of the IPVS table that failed; each is retried.",
		}),
		tableWriteSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ldirectord_table_write_duration_seconds",
			Help:    "How long writes of the IPVS table took, reading it back when due included.",
			Buckets: writeBuckets,
		}),
		driftRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ldirectord_table_drift_repairs_total",
			Help: "Reads of the IPVS table that found it changed under the daemon (by ipvsadm, another program) and put it right.",
		}),
		driftChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ldirectord_table_drift_changes_total",
			Help: "Changes written to undo what others changed in the IPVS table.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ldirectord_config_reloads_total",
			Help: "Reloads of the configuration asked for (SIGHUP, ldirectord reload), by result: success, or failure when the running configuration stayed.",
		}, []string{"result"}),
		gateLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ldirectord_check_gate_limit",
			Help: "The admission gate's limit on health checks in flight while the daemon is short of CPU; 0 when there is none.",
		}),
		gateInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ldirectord_checks_in_flight",
			Help: "Health checks running, as the admission gate last counted them.",
		}),
		daemon: newDaemonCollector(),
	}
	// Both results exist from the start, so that a rate over them is
	// defined before the first reload.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ldirectord_build_info",
		Help:        "The version of the daemon, as a label; always 1.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
		m.checkDuration, m.checks,
		m.tableWrites, m.tableChanges, m.tableWriteErrors, m.tableWriteSeconds, m.driftRepairs, m.driftChanges,
		m.reloads, m.gateLimit, m.gateInFlight,
		m.daemon,
	)
	return m
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Inspect sets where the per-real-server series come from at each scrape:
// the running daemon's Inspect. Until it is set, there are none.
func (m *Metrics) Inspect(inspect func() (*plan.Inspection, error)) {
	m.daemon.setInspect(inspect)
}

// checkKey names the series of a check's result.
type checkKey struct {
	virtual              conf.VirtualID
	check, result, class string
}

// checkSeries are the series a check's result lands in.
type checkSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// CheckDone counts a check and its duration.
func (m *Metrics) CheckDone(virtual conf.VirtualID, check string, res checks.Result) {
	result := "down"
	if res.Up {
		result = "up"
	}
	k := checkKey{virtual: virtual, check: check, result: result, class: ReasonClass(res.Up, res.Reason)}
	s, ok := m.checkSeries.Load(k)
	if !ok {
		s, _ = m.checkSeries.LoadOrStore(k, &checkSeries{
			count:    m.checks.WithLabelValues(string(virtual), check, result, k.class),
			duration: m.checkDuration.WithLabelValues(string(virtual), check),
		})
	}
	cs := s.(*checkSeries)
	cs.count.Inc()
	cs.duration.Observe(res.Duration.Seconds())
}

// TableWritten counts a write of the table. The writer reports every pass,
// most of them, between changes, finding nothing to do: those are not
// writes, and their times would drown those of the writes in the
// histogram.
func (m *Metrics) TableWritten(changes int, took time.Duration, err error) {
	if changes == 0 && err == nil {
		return
	}
	m.tableWrites.Inc()
	m.tableWriteSeconds.Observe(took.Seconds())
	if err != nil {
		m.tableWriteErrors.Inc()
		return
	}
	m.tableChanges.Add(float64(changes))
}

// DriftRepaired counts a repair of changes made under the daemon.
func (m *Metrics) DriftRepaired(changes int) {
	m.driftRepairs.Inc()
	m.driftChanges.Add(float64(changes))
}

// GateChanged sets the admission gate's gauges.
func (m *Metrics) GateChanged(limit, inFlight int) {
	m.gateLimit.Set(float64(limit))
	m.gateInFlight.Set(float64(inFlight))
}

// Reloaded counts a reload asked for, and whether it took.
func (m *Metrics) Reloaded(err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// configRecord is what is known of the last good load of one file.
type configRecord struct {
	name   string
	sha256 string
	at     time.Time
	took   time.Duration
}

// configs are the records by file; the collector reads them at scrape.
type configs struct {
	mu     sync.Mutex
	byFile map[string]configRecord
}
