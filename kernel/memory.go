package kernel

import (
	"sync"
)

// Memory is a Table held in memory, with the kernel's rules and errors, for
// tests of the code above it. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	st      *state
	failN   int
	failErr error
	writes  int
}

var _ Table = (*Memory)(nil)

// NewMemory returns an empty table.
func NewMemory() *Memory {
	return &Memory{st: newState()}
}

// FailNext makes the next n calls of any method, List included, fail with
// err without touching the table.
func (m *Memory) FailNext(n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failN, m.failErr = n, err
}

// Writes counts the changes the table accepted, so that a test can tell
// that nothing was written.
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
