package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ldirectord-go/ldirectord/plan"
)

// daemonCollector makes the series of what the daemon knows at the moment
// of a scrape: each real server's state and weights from one Inspection,
// which the daemon keeps anyway (nothing here keeps a second copy to get
// out of step), and the configurations of the instances it names.
type daemonCollector struct {
	inspect atomic.Pointer[func() (*plan.Inspection, error)]
	configs configs

	state, weight, wanted, failures      *prometheus.Desc
	configInfo, configLoaded, configTook *prometheus.Desc
}

func newDaemonCollector() *daemonCollector {
	real := []string{"config", "virtual", "real"}
	file := []string{"config", "file"}
	return &daemonCollector{
		configs: configs{byFile: map[string]configRecord{}},
		state: prometheus.NewDesc("ldirectord_real_server_state",
			"The state of each real server (up, down, unknown, quiescent, maintenance, draining, drained, fallback), as the state label of its one series; always 1.",
			append(real, "state"), nil),
		weight: prometheus.NewDesc("ldirectord_real_server_weight",
			"The weight of each real server in the IPVS table; no series while it is out of the table.",
			real, nil),
		wanted: prometheus.NewDesc("ldirectord_real_server_wanted_weight",
			"The weight the daemon wants each real server to have in the IPVS table; no series while it wants it out.",
			real, nil),
		failures: prometheus.NewDesc("ldirectord_real_server_consecutive_failures",
			"Failed checks of each real server in a row.",
			real, nil),
		configInfo: prometheus.NewDesc("ldirectord_config_info",
			"The SHA-256 of each configuration file as last read without error, as a label; always 1.",
			append(file, "sha256"), nil),
		configLoaded: prometheus.NewDesc("ldirectord_config_load_timestamp_seconds",
			"When each configuration file was last read without error, in seconds since the epoch.",
			file, nil),
		configTook: prometheus.NewDesc("ldirectord_config_load_duration_seconds",
			"How long the last good read and parse of each configuration file took.",
			file, nil),
	}
}

func (c *daemonCollector) setInspect(f func() (*plan.Inspection, error)) { c.inspect.Store(&f) }

func (c *daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.weight, c.wanted, c.failures, c.configInfo, c.configLoaded, c.configTook} {
		ch <- d
	}
}

func (c *daemonCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.inspect.Load()
	if f == nil {
		c.collectConfigs(ch, nil)
		return
	}
	ins, err := (*f)()
	if err != nil {
		// The scrape still serves the rest, and what could be inspected
		// (the table unread, the reals' health is known), and says what
		// failed.
		ch <- prometheus.NewInvalidMetric(c.state, err)
	}
	if ins == nil {
		c.collectConfigs(ch, nil)
		return
	}
	files := make(map[string]bool, len(ins.Instances))
	for i := range ins.Instances {
		in := &ins.Instances[i]
		files[in.File] = true
		for j := range in.Virtuals {
			v := &in.Virtuals[j]
			vid := string(v.ID)
			for k := range v.Reals {
				c.collectReal(ch, in.Name, vid, &v.Reals[k])
			}
			if fb := v.Fallback; fb != nil && !hasReal(v, fb) {
				c.collectReal(ch, in.Name, vid, fb)
			}
		}
	}
	c.collectConfigs(ch, files)
}

// hasReal: a fallback that is also one of the virtual's reals is shown
// once, as the real, since two series with the same labels would fail the
// whole scrape.
func hasReal(v *plan.VirtualInspection, fb *plan.RealInspection) bool {
	for i := range v.Reals {
		if v.Reals[i].Real == fb.Real {
			return true
		}
	}
	return false
}

func (c *daemonCollector) collectReal(ch chan<- prometheus.Metric, config, virtual string, r *plan.RealInspection) {
	real := string(r.Real)
	state := r.State
	if state == "" {
		state = plan.StateUnknown
	}
	ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, 1, config, virtual, real, state)
	if r.InTable != nil {
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(*r.InTable), config, virtual, real)
	}
	if r.Wanted != nil {
		ch <- prometheus.MustNewConstMetric(c.wanted, prometheus.GaugeValue, float64(*r.Wanted), config, virtual, real)
	}
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(r.Failures), config, virtual, real)
}

// collectConfigs shows the configurations of the running instances (all
// those read when files is nil): a file that an execute directive no longer
// names has no instance, and its series go with it.
func (c *daemonCollector) collectConfigs(ch chan<- prometheus.Metric, files map[string]bool) {
	c.configs.mu.Lock()
	defer c.configs.mu.Unlock()
	for file, r := range c.configs.byFile {
		if files != nil && !files[file] {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.configInfo, prometheus.GaugeValue, 1, r.name, file, r.sha256)
		ch <- prometheus.MustNewConstMetric(c.configLoaded, prometheus.GaugeValue, float64(r.at.UnixNano())/1e9, r.name, file)
		ch <- prometheus.MustNewConstMetric(c.configTook, prometheus.GaugeValue, r.took.Seconds(), r.name, file)
	}
}
