package metrics

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// BenchmarkScrape10k: one scrape of a daemon with 10,000 real servers, 100
// virtual services of 100, each virtual with checks counted in three
// classes: a full Gather (the Go and process collectors included) and its
// encoding in the text format Prometheus reads. The Inspection is built
// once; what the daemon spends making it is the daemon's.
func BenchmarkScrape10k(b *testing.B) {
	m := New("bench")
	ins := inspection(100, 100)
	m.Inspect(func() (*plan.Inspection, error) { return ins, nil })
	for _, v := range ins.Instances[0].Virtuals {
		for _, r := range v.Reals[:3] {
			m.CheckDone(v.ID, "negotiate http", checks.Result{Up: r.State == plan.StateUp, Reason: r.Reason, Duration: r.Latency})
		}
		m.CheckDone(v.ID, string(conf.CheckConnect), checks.Result{Up: true, Duration: r0(v).Latency})
	}
	var buf bytes.Buffer
	var size, n int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		mfs, err := m.Registry().Gather()
		if err != nil {
			b.Fatal(err)
		}
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
		n = 0
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				b.Fatal(err)
			}
			n += len(mf.GetMetric())
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(n), "series")
	b.ReportMetric(float64(size), "bytes/scrape")
}

func r0(v plan.VirtualInspection) plan.RealInspection { return v.Reals[0] }

// BenchmarkCheckDone: counting one check, as the daemon does for every
// check it makes, a thousand reals a second and more.
func BenchmarkCheckDone(b *testing.B) {
	m := New("bench")
	v := conf.VirtualID("tcp:10.0.0.1:80")
	up := checks.Result{Up: true, Reason: "HTTP 200 OK", Duration: 2e6}
	b.ReportAllocs()
	for b.Loop() {
		m.CheckDone(v, "negotiate http", up)
	}
}
