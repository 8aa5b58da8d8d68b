package kernel

import (
	"fmt"
	"sync"
)

// Memory is a Table held in memory, with the kernel's rules and errors, for
// tests of the code above it; the file table that stands in for the kernel
// where there is no IPVS (internal/tablefile) holds its table in one too,
// so that both answer as the kernel does. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	st      *state
	conns   map[ServiceKey]map[DestKey]Conns
	failN   int
	failErr error
	writes  int
	syncs   map[string]SyncDaemon // by state
}

var _ Table = (*Memory)(nil)
var _ SyncDaemons = (*Memory)(nil)

// NewMemory returns an empty table.
func NewMemory() *Memory {
	return &Memory{st: newState()}
}

// NewMemoryOf returns a table holding vs, as List returns it, loaded in
// order under the kernel's rules. A list the kernel could not hold (a
// service twice, a real of the other family without a tunnel, ...) is
// refused with the error its first offending entry meets, so that a table
// read from elsewhere is checked as the kernel would check it.
func NewMemoryOf(vs []Virtual) (*Memory, error) {
	st, err := fromVirtuals(vs)
	if err != nil {
		return nil, err
	}
	return &Memory{st: st}, nil
}

// FailNext makes the next n calls of any method, List and the sync
// daemons' included, fail with
// err without touching the table.
func (m *Memory) FailNext(n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failN, m.failErr = n, err
}

// Writes counts the changes the table accepted, sync daemons started and
// stopped included, so that a test can tell
// that nothing was written, and the file table need not rewrite its file
// when a batch changed nothing.
func (m *Memory) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// injected reports the injected failure for this call, if any. The caller
// holds mu.
func (m *Memory) injected() error {
	if m.failN <= 0 {
		return nil
	}
	m.failN--
	return m.failErr
}

// List returns the table in a fixed order (see state.list).
func (m *Memory) List() ([]Virtual, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return nil, err
	}
	return m.st.list(), nil
}

func (m *Memory) change(c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return err
	}
	if err := m.st.apply(c); err != nil {
		return err
	}
	m.writes++
	return nil
}

// AddService adds a service; ErrExist if it is there.
func (m *Memory) AddService(s Service) error {
	return m.change(Change{Op: OpAddService, Service: s})
}

// UpdateService changes a service's settings; ErrNotExist if it is not there.
func (m *Memory) UpdateService(s Service) error {
	return m.change(Change{Op: OpEditService, Service: s})
}

// DelService deletes a service and its destinations; ErrNotExist if it is
// not there.
func (m *Memory) DelService(s Service) error {
	return m.change(Change{Op: OpDelService, Service: s})
}

// AddDestination adds a destination; ErrExist if it is there, ErrNotExist
// if the service is not.
func (m *Memory) AddDestination(s Service, d Destination) error {
	return m.change(Change{Op: OpAddDest, Service: s, Destination: d})
}

// UpdateDestination changes a destination; ErrNotExist if it or its
// service is not there.
func (m *Memory) UpdateDestination(s Service, d Destination) error {
	return m.change(Change{Op: OpEditDest, Service: s, Destination: d})
}

// DelDestination deletes a destination; ErrNotExist if it or its service is
// not there.
func (m *Memory) DelDestination(s Service, d Destination) error {
	return m.change(Change{Op: OpDelDest, Service: s, Destination: d})
}

// SetConns sets the connections Conns reports for destination d of
// service s, as traffic would in the kernel, for tests of what waits on
// them.
func (m *Memory) SetConns(s Service, d Destination, c Conns) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns == nil {
		m.conns = map[ServiceKey]map[DestKey]Conns{}
	}
	k := s.Key()
	if m.conns[k] == nil {
		m.conns[k] = map[DestKey]Conns{}
	}
	m.conns[k][d.clean().Key()] = c
}

// ListConns is List with the connections SetConns set, for the
// destinations in the table.
func (m *Memory) ListConns() ([]Virtual, map[ServiceKey]map[DestKey]Conns, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return nil, nil, err
	}
	out := map[ServiceKey]map[DestKey]Conns{}
	for k, e := range m.st.services {
		c := make(map[DestKey]Conns, len(e.dests))
		for dk := range e.dests {
			c[dk] = m.conns[k][dk]
		}
		out[k] = c
	}
	return m.st.list(), out, nil
}

// memoryMTU is the MTU of every interface of a Memory table, for the
// defaults of a sync daemon's largest message.
const memoryMTU = 1500

// SyncDaemons lists the sync daemons started, the master first, as the
// kernel lists them (see SyncDaemon.WithDefaults; every interface has an
// MTU of 1500).
func (m *Memory) SyncDaemons() ([]SyncDaemon, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return nil, err
	}
	var out []SyncDaemon
	for _, state := range []string{SyncMaster, SyncBackup} {
		if d, ok := m.syncs[state]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// StartSyncDaemon starts d under the kernel's rules: a known state, an
// interface name (any: the table has no interfaces to know), a multicast
// group if one is given; ErrExist if a daemon of its state runs.
func (m *Memory) StartSyncDaemon(d SyncDaemon) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return err
	}
	if err := d.check(); err != nil {
		return err
	}
	if _, ok := m.syncs[d.State]; ok {
		return fmt.Errorf("%s: %w", d.subject(), ErrExist)
	}
	if m.syncs == nil {
		m.syncs = map[string]SyncDaemon{}
	}
	m.syncs[d.State] = d.WithDefaults(memoryMTU)
	m.writes++
	return nil
}

// StopSyncDaemon stops the daemon of state; ErrNotExist if none runs.
func (m *Memory) StopSyncDaemon(state string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.injected(); err != nil {
		return err
	}
	if _, err := syncState(state); err != nil {
		return err
	}
	if _, ok := m.syncs[state]; !ok {
		return fmt.Errorf("the %s sync daemon: %w", state, ErrNotExist)
	}
	delete(m.syncs, state)
	m.writes++
	return nil
}
