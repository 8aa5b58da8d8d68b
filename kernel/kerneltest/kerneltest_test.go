package kerneltest

import (
	"net/netip"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

func TestConditions(t *testing.T) {
	s := kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wrr"}
	d := kernel.Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Method: kernel.Masq, Weight: 3}
	m := Weights([]kernel.Virtual{{Service: s, Destinations: []kernel.Destination{d}}})
	real := string(s.Key()) + " " + string(d.Key())
	cases := []struct {
		name string
		c    Cond
		want bool
	}{
		{"service there", Has(string(s.Key()), -1), true},
		{"real at its weight", Has(real, 3), true},
		{"real at another weight", Has(real, 1), false},
		{"absent real", Lacks(string(s.Key()) + " 10.0.0.9:80"), true},
		{"present real", Lacks(real), false},
		{"all hold", All(Has(real, 3), Lacks("x")), true},
		{"one fails", All(Has(real, 3), Lacks(real)), false},
	}
	for _, c := range cases {
		if got := c.c(m); got != c.want {
			t.Errorf("%s: %v, want %v (table %v)", c.name, got, c.want, m)
		}
	}
}
