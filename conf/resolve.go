package conf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Resolver turns host names into addresses and service names into ports.
// Parse uses NetResolver unless Options.Resolver is set; tests set a fixed one.
type Resolver interface {
	// LookupHost returns the addresses of host of one family: IPv6 when
	// ipv6 is true, else IPv4. Parse takes the first, as ldirectord takes
	// the first answer of getaddrinfo.
	LookupHost(ctx context.Context, host string, ipv6 bool) ([]netip.Addr, error)
	// LookupPort returns the port of a service name ("http") for protocol
	// "tcp" or "udp", or for either when protocol is "".
	LookupPort(ctx context.Context, service, protocol string) (int, error)
}

// NetResolver resolves through the system: /etc/hosts and DNS for hosts,
// /etc/services for service names (Go's resolver reads both).
type NetResolver struct {
	// Timeout bounds each lookup; 0 means 5 seconds.
	Timeout time.Duration
}

func (n NetResolver) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return 5 * time.Second
}

// LookupHost implements Resolver.
func (n NetResolver) LookupHost(ctx context.Context, host string, ipv6 bool) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	network := "ip4"
	if ipv6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, err
}

// LookupPort implements Resolver.
func (n NetResolver) LookupPort(ctx context.Context, service, protocol string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	if protocol != "" {
		return net.DefaultResolver.LookupPort(ctx, protocol, service)
	}
	port, err := net.DefaultResolver.LookupPort(ctx, "tcp", service)
	if err == nil {
		return port, nil
	}
	if p, err2 := net.DefaultResolver.LookupPort(ctx, "udp", service); err2 == nil {
		return p, nil
	}
	return 0, err
}

// StaticResolver answers from fixed tables and never touches the network:
// for tests, fuzzing and tools that must be deterministic.
type StaticResolver struct {
	Hosts map[string][]netip.Addr // host name -> addresses of both families
	Ports map[string]int          // service name -> port, for any protocol
}

// errNotFound is what StaticResolver answers for names it does not know.
var errNotFound = errors.New("not found")

// LookupHost implements Resolver.
func (s StaticResolver) LookupHost(_ context.Context, host string, ipv6 bool) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range s.Hosts[host] {
		if a.Is6() == ipv6 {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, errNotFound
	}
	return out, nil
}

// LookupPort implements Resolver.
func (s StaticResolver) LookupPort(_ context.Context, service, _ string) (int, error) {
	if p, ok := s.Ports[service]; ok {
		return p, nil
	}
	return 0, errNotFound
}

// Options change how a configuration is read. The zero value reads as
// ldirectord does.
type Options struct {
	// Resolver resolves host and service names; nil means NetResolver{}.
	Resolver Resolver
	// Hostname goes into the default login and password of ftp and sip
	// checks ("ldirectord@<hostname>"); "" means $HOSTNAME, else the
	// kernel's host name, as ldirectord does.
	Hostname string
	// Name is the configuration name (Config.Name); "" means the base name
	// of the file.
	Name string

	// maxReals bounds the real servers of one configuration; 0 means
	// MaxReals. The fuzz test sets it low to keep each run quick.
	maxReals int
}
