package actors

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Ready returns once the virtual services of every configuration are in the
// table, which is after the first checks: here a black-holed real server
// holds them back for its whole checktimeout.
func TestReadyMeansServicesInTable(t *testing.T) {
	slow := mkVirtual("10.0.0.1", 80, mkReal("192.168.0.1", 80, 1))
	slow.Settings.CheckTimeout = 700 * time.Millisecond
	quick := mkVirtual("10.0.0.2", 80, mkReal("192.168.0.2", 80, 1))
	h := &harness{t: t, table: kernel.NewMemory(), fake: newFakeChecks()}
	h.fake.blackhole("192.168.0.1", true)
	h.fake.set("192.168.0.2", true)
	began := time.Now()
	h.run(mkConfig("a.cf", slow), mkConfig("b.cf", quick))
	if err := h.d.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	took := time.Since(began)
	w := h.weights()
	for _, key := range []string{"ipv4/tcp/10.0.0.1:80", "ipv4/tcp/10.0.0.2:80"} {
		if _, ok := w[key]; !ok {
			t.Errorf("Ready returned before virtual service %s was in the table: %v", key, w)
		}
	}
	if took < slow.Settings.CheckTimeout {
		t.Errorf("Ready returned after %v, before the first check of the black-holed real server could end (%v)", took, slow.Settings.CheckTimeout)
	}
}

// A table that cannot be written makes Ready fail with the write error,
// once ReadyWrite has passed after the start grace time.
func TestReadyReportsWriteFailure(t *testing.T) {
	h := &harness{t: t, table: kernel.NewMemory(), fake: newFakeChecks()}
	h.opts.ReadyWrite = 300 * time.Millisecond
	denied := errors.New("netlink: operation not permitted")
	h.table.FailNext(1<<30, denied)
	h.fake.set("192.168.0.1", true)
	h.run(mkConfig("a.cf", mkVirtual("10.0.0.1", 80, mkReal("192.168.0.1", 80, 1))))
	err := h.d.Ready()
	if !errors.Is(err, denied) || !strings.Contains(err.Error(), "IPVS table") {
		t.Fatalf("Ready = %v, want the write error %q in context", err, denied)
	}
	h.table.FailNext(0, nil)
}
