package ipvsadm

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// memTable is a minimal kernel.Table for these tests, failing as the
// Table contract says.
type memTable struct{ vs []kernel.Virtual }

func (m *memTable) find(s kernel.Service) int {
	return slices.IndexFunc(m.vs, func(v kernel.Virtual) bool { return svcID(v.Service) == svcID(s) })
}

func (m *memTable) List() ([]kernel.Virtual, error) {
	out := make([]kernel.Virtual, len(m.vs))
	for i, v := range m.vs {
		out[i] = kernel.Virtual{Service: v.Service, Destinations: slices.Clone(v.Destinations)}
	}
	return out, nil
}

func (m *memTable) AddService(s kernel.Service) error {
	if m.find(s) >= 0 {
		return fmt.Errorf("add service %s: %w", svcID(s), kernel.ErrExist)
	}
	m.vs = append(m.vs, kernel.Virtual{Service: s})
	return nil
}

func (m *memTable) UpdateService(s kernel.Service) error {
	i := m.find(s)
	if i < 0 {
		return fmt.Errorf("update service %s: %w", svcID(s), kernel.ErrNotExist)
	}
	m.vs[i].Service = s
	return nil
}

func (m *memTable) DelService(s kernel.Service) error {
	i := m.find(s)
	if i < 0 {
		return fmt.Errorf("delete service %s: %w", svcID(s), kernel.ErrNotExist)
	}
	m.vs = slices.Delete(m.vs, i, i+1)
	return nil
}

func (m *memTable) dest(s kernel.Service, d kernel.Destination) (int, int, error) {
	i := m.find(s)
	if i < 0 {
		return -1, -1, fmt.Errorf("service %s: %w", svcID(s), kernel.ErrNotExist)
	}
	j := slices.IndexFunc(m.vs[i].Destinations, func(x kernel.Destination) bool {
		return netip.AddrPortFrom(x.Addr, x.Port) == netip.AddrPortFrom(d.Addr, d.Port)
	})
	return i, j, nil
}

func (m *memTable) AddDestination(s kernel.Service, d kernel.Destination) error {
	i, j, err := m.dest(s, d)
	if err != nil {
		return err
	}
	if j >= 0 {
		return fmt.Errorf("add destination: %w", kernel.ErrExist)
	}
	m.vs[i].Destinations = append(m.vs[i].Destinations, d)
	return nil
}

func (m *memTable) UpdateDestination(s kernel.Service, d kernel.Destination) error {
	i, j, err := m.dest(s, d)
	if err != nil {
		return err
	}
	if j < 0 {
		return fmt.Errorf("update destination: %w", kernel.ErrNotExist)
	}
	m.vs[i].Destinations[j] = d
	return nil
}

func (m *memTable) DelDestination(s kernel.Service, d kernel.Destination) error {
	i, j, err := m.dest(s, d)
	if err != nil {
		return err
	}
	if j < 0 {
		return fmt.Errorf("delete destination: %w", kernel.ErrNotExist)
	}
	m.vs[i].Destinations = slices.Delete(m.vs[i].Destinations, j, j+1)
	return nil
}
