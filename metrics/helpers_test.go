package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

func weight(w int) *int { return &w }

// inspection builds virtuals × reals real servers in one configuration:
// every third up at weight 1, every third down and out, every third
// quiescent at weight 0, with a fallback per virtual.
func inspection(virtuals, reals int) *plan.Inspection {
	in := plan.InstanceInspection{File: "/etc/ha.d/big.cf", Name: "big.cf"}
	now := time.Unix(1700000000, 0)
	for v := range virtuals {
		vi := plan.VirtualInspection{ID: conf.VirtualID(fmt.Sprintf("tcp:10.%d.%d.1:80", v/256, v%256)), CheckType: "negotiate http"}
		for r := range reals {
			ri := plan.RealInspection{
				Real:      conf.RealID(fmt.Sprintf("10.%d.%d.%d:80", 100+v/256, v%256, r+2)),
				Weight:    1,
				LastCheck: now,
				Latency:   3 * time.Millisecond,
			}
			switch r % 3 {
			case 0:
				ri.State, ri.Wanted, ri.InTable, ri.Reason = plan.StateUp, weight(1), weight(1), "HTTP 200 OK"
			case 1:
				ri.State, ri.Failures, ri.Reason = plan.StateDown, 4, "connect: connection refused"
			case 2:
				ri.State, ri.Wanted, ri.InTable, ri.Failures, ri.Reason = plan.StateQuiescent, weight(0), weight(0), 2, "timeout after 5s waiting for HTTP response"
			}
			vi.Reals = append(vi.Reals, ri)
		}
		vi.Fallback = &plan.RealInspection{Real: "127.0.0.1:80", State: plan.StateUnknown}
		in.Virtuals = append(in.Virtuals, vi)
	}
	return &plan.Inspection{Instances: []plan.InstanceInspection{in}}
}

// scrape is what Prometheus reads at /metrics.
func scrape(t testing.TB, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler(zap.NewNop()))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	return string(b)
}

// series returns the lines of text for the metric name, without comments.
func series(text, name string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			out = append(out, l)
		}
	}
	return out
}
