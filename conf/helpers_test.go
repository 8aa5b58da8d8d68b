package conf

import (
	"net/netip"
	"strings"
	"testing"
)

// testResolver answers the names the tests use, without the network.
var testResolver = StaticResolver{
	Hosts: map[string][]netip.Addr{
		"localhost":       {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		"www.example.com": {netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")},
		"web1":            {netip.MustParseAddr("10.0.0.11")},
		"sql01":           {netip.MustParseAddr("10.0.1.1")},
		"sql03":           {netip.MustParseAddr("10.0.1.3")},
		"v6only":          {netip.MustParseAddr("2001:db8::99")},
		"mail.example":    {netip.MustParseAddr("192.0.2.25")},
	},
	Ports: map[string]int{
		"http": 80, "www": 80, "https": 443, "domain": 53, "ftp": 21, "smtp": 25,
		"mysql": 3306, "postgresql": 5432, "ldap": 389, "sip": 5060,
	},
}

var testOptions = Options{Resolver: testResolver, Hostname: "testhost"}

// parse reads src as test.cf with the test resolver.
func parse(src string) (*Config, error) {
	return testOptions.Parse("test.cf", []byte(src))
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := parse(src)
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", src, err)
	}
	return cfg
}

// block wraps virtual-block lines in a minimal virtual with one real.
func block(lines ...string) string {
	return "virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n" + indent(lines...)
}

func indent(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\t" + l + "\n")
	}
	return b.String()
}

// errorLines returns the messages of a failed parse, one per problem.
func errorLines(t *testing.T, src string) []string {
	t.Helper()
	cfg, err := parse(src)
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\nwant an error", src)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config with its error: nothing may be half-loaded")
	}
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("error is %T, want Errors", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}
