package checks

import (
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestRegistryMatchesConf: every service that service = accepts has a
// check, and the registry checks no service that conf would refuse.
func TestRegistryMatchesConf(t *testing.T) {
	t.Parallel()
	for _, s := range conf.Services() {
		if services[s] == nil {
			t.Errorf("conf knows service %q, the registry has no check for it", s)
		}
	}
	for s := range services {
		if !conf.IsService(s) {
			t.Errorf("the registry checks service %q, which conf does not know", s)
		}
	}
}
