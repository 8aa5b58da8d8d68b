package kernel

import (
	"errors"
	"fmt"
	"slices"
)

// Errors of the fake tables where the kernel answers EINVAL or ERANGE.
var (
	errInvalid = errors.New("invalid argument")
	errRange   = errors.New("out of range")
)

// kernelSchedulers are the schedulers the kernel ships (net/netfilter/ipvs).
var kernelSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// state is a table with the kernel's rules, under Memory and Cached's copy.
// It keeps everything normalized, as the kernel keeps bits rather than
// names. It is not safe for concurrent use.
type state struct {
	services map[ServiceKey]*entry
}

type entry struct {
	svc   Service
	dests map[DestKey]Destination
}

func newState() *state {
	return &state{services: map[ServiceKey]*entry{}}
}

// fromVirtuals builds a state from a list read from a table.
func fromVirtuals(vs []Virtual) (*state, error) {
	st := newState()
	for _, v := range vs {
		if err := st.addService(v.Service); err != nil {
			return nil, err
		}
		for _, d := range v.Destinations {
			if err := st.addDest(v.Service, d); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// list returns the table in a fixed order: services by compareServices,
// destinations by address and port.
func (st *state) list() []Virtual { return st.listOnly(nil) }

// listOnly is list for the services keys holds, or all when keys is nil.
func (st *state) listOnly(keys map[ServiceKey]bool) []Virtual {
	out := make([]Virtual, 0, len(st.services))
	for k, e := range st.services {
		if keys != nil && !keys[k] {
			continue
		}
		v := Virtual{Service: e.svc}
		if len(e.dests) > 0 {
			// Sized at once: a 10,000-real table listed at every
			// write made megabytes of garbage growing these.
			v.Destinations = make([]Destination, 0, len(e.dests))
		}
		v.Service.Flags = slices.Clone(e.svc.Flags)
		for _, d := range e.dests {
			v.Destinations = append(v.Destinations, d)
		}
		slices.SortFunc(v.Destinations, compareDests)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Virtual) int { return compareServices(a.Service, b.Service) })
	return out
}

func checkService(s Service) error {
	if s.FWMark == 0 {
		switch {
		case s.Protocol != "tcp" && s.Protocol != "udp" && s.Protocol != "sctp":
			return fmt.Errorf("service %s: protocol %q is not tcp, udp or sctp: %w", s.Key(), s.Protocol, errInvalid)
		case !s.Addr.IsValid():
			return fmt.Errorf("service %s: no address and no firewall mark: %w", s.Key(), errInvalid)
		}
	}
	if !slices.Contains(kernelSchedulers, s.Scheduler) {
		// The kernel looks the scheduler module up and answers ENOENT.
		return fmt.Errorf("service %s: scheduler %q: %w", s.Key(), s.Scheduler, ErrNotExist)
	}
	for _, f := range s.Flags {
		if _, ok := flagBits[f]; !ok {
			return fmt.Errorf("service %s: unknown flag %q: %w", s.Key(), f, errInvalid)
		}
	}
	return nil
}

func (st *state) addService(s Service) error {
	s = s.Normalize()
	if err := checkService(s); err != nil {
		return err
	}
	k := s.Key()
	if _, ok := st.services[k]; ok {
		return fmt.Errorf("service %s: %w", k, ErrExist)
	}
	st.services[k] = &entry{svc: s, dests: map[DestKey]Destination{}}
	return nil
}

func (st *state) updateService(s Service) error {
	s = s.Normalize()
	e, err := st.lookup(s)
	if err != nil {
		return err
	}
	if err := checkService(s); err != nil {
		return err
	}
	e.svc = s
	return nil
}

func (st *state) delService(s Service) error {
	if _, err := st.lookup(s); err != nil {
		return err
	}
	delete(st.services, s.Key())
	return nil
}

func (st *state) lookup(s Service) (*entry, error) {
	k := s.Key()
	e, ok := st.services[k]
	if !ok {
		return nil, fmt.Errorf("service %s: %w", k, ErrNotExist)
	}
	return e, nil
}

func checkDest(svc Service, d Destination) error {
	switch {
	case !d.Addr.IsValid():
		return fmt.Errorf("service %s: destination without address: %w", svc.Key(), errInvalid)
	case d.Method != Gate && d.Method != Masq && d.Method != IPIP:
		return fmt.Errorf("service %s destination %s: forwarding method %q: %w", svc.Key(), d.Key(), d.Method, errInvalid)
	case d.Addr.Is6() != svc.IPv6 && d.Method != IPIP:
		// Only a tunnel can carry packets to a real of the other family.
		return fmt.Errorf("service %s destination %s: address family differs from the service's and method is %s, not ipip: %w",
			svc.Key(), d.Key(), d.Method, errInvalid)
	case d.Weight < 0:
		return fmt.Errorf("service %s destination %s: weight %d below zero: %w", svc.Key(), d.Key(), d.Weight, errRange)
	case d.Lower > d.Upper:
		// The kernel compares even when the upper threshold is 0 (none).
		return fmt.Errorf("service %s destination %s: lower threshold %d above upper threshold %d: %w",
			svc.Key(), d.Key(), d.Lower, d.Upper, errRange)
	}
	return nil
}

// destEntry finds the service of a destination operation and normalizes
// the destination for it.
func (st *state) destEntry(s Service, d Destination) (*entry, Destination, error) {
	e, err := st.lookup(s)
	if err != nil {
		return nil, d, err
	}
	d = d.clean()
	return e, d, checkDest(e.svc, d)
}

func (st *state) addDest(s Service, d Destination) error {
	e, d, err := st.destEntry(s, d)
	if err != nil {
		return err
	}
	k := d.Key()
	if _, ok := e.dests[k]; ok {
		return fmt.Errorf("service %s destination %s: %w", e.svc.Key(), k, ErrExist)
	}
	e.dests[k] = d
	return nil
}

func (st *state) updateDest(s Service, d Destination) error {
	e, d, err := st.destEntry(s, d)
	if err != nil {
		return err
	}
	k := d.Key()
	if _, ok := e.dests[k]; !ok {
		return fmt.Errorf("service %s destination %s: %w", e.svc.Key(), k, ErrNotExist)
	}
	e.dests[k] = d
	return nil
}

func (st *state) delDest(s Service, d Destination) error {
	e, err := st.lookup(s)
	if err != nil {
		return err
	}
	k := d.Key()
	if _, ok := e.dests[k]; !ok {
		return fmt.Errorf("service %s destination %s: %w", e.svc.Key(), k, ErrNotExist)
	}
	delete(e.dests, k)
	return nil
}

// apply performs one change on the state; List-free operations share it.
func (st *state) apply(c Change) error {
	switch c.Op {
	case OpAddService:
		return st.addService(c.Service)
	case OpEditService:
		return st.updateService(c.Service)
	case OpDelService:
		return st.delService(c.Service)
	case OpAddDest:
		return st.addDest(c.Service, c.Destination)
	case OpEditDest:
		return st.updateDest(c.Service, c.Destination)
	case OpDelDest:
		return st.delDest(c.Service, c.Destination)
	}
	return fmt.Errorf("unknown operation %q: %w", c.Op, errInvalid)
}
