package plan

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaintenanceNames lists, in the order ldirectord(8) gives, the file names
// that put a real server into maintenance: address:port, address, then for
// each reverse DNS name the full name and its first label, with and without
// the port.
func MaintenanceNames(addr netip.Addr, port uint16, hostnames []string) []string {
	p := strconv.Itoa(int(port))
	a := addr.String()
	names := []string{a + ":" + p, a}
	for _, h := range hostnames {
		h = strings.TrimSuffix(h, ".")
		if h == "" {
			continue
		}
		names = append(names, h+":"+p, h)
		if short, _, ok := strings.Cut(h, "."); ok && short != "" {
			names = append(names, short+":"+p, short)
		}
	}
	return names
}

// InMaintenance reports the first of names that exists in dir, if any.
func InMaintenance(dir string, names []string) (string, bool) {
	if dir == "" {
		return "", false
	}
	for _, n := range names {
		if strings.ContainsRune(n, '/') {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return n, true
		}
	}
	return "", false
}
