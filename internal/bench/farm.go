// Package bench owns the benchmark harness that sets our ldirectord beside
// the Perl one: a farm of real servers served by this one process, with
// failures injected per server; the measurement of a daemon's process tree
// (CPU seconds, peak RSS); latency statistics; and the runs themselves
// (start-up, steady state, detection of failures, reload) that cmd/ldbench
// drives. Nothing here is a pass/fail test of the daemons: it measures.
package bench

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// State is what a real server of the farm does with a connection.
type State int

// The states of a real server.
const (
	// Up accepts connections and answers HTTP requests with 200 OK.
	Up State = iota
	// Refused has no listener: connections are refused (RST).
	Refused
	// BlackHole neither accepts nor answers: its accept queue is kept
	// full, so the kernel drops new SYNs and a client's connect times out,
	// as it does when a firewall drops the packets.
	BlackHole
)

func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Refused:
		return "refused"
	case BlackHole:
		return "black hole"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText names the state in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Body is what every real server answers to an HTTP request; a negotiate
// check's receive string should match it.
const Body = "ok from the ldbench farm\n"

var response = []byte("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n" +
	fmt.Sprintf("Content-Length: %d\r\n\r\n", len(Body)) + Body)

// Farm is many real servers on loopback addresses, all on one port, served
// by goroutines of this process.
type Farm struct {
	// Port is the TCP port every server listens on.
	Port    uint16
	start   time.Time
	servers []*Server
}

// Server is one real server of a Farm.
type Server struct {
	// Addr is where it listens.
	Addr  netip.AddrPort
	start time.Time

	mu       sync.Mutex
	state    State
	ln       *net.TCPListener
	resume   chan struct{} // closed when a black hole ends
	parked   chan struct{} // closed when the accept loop waits for resume
	filler   net.Conn      // our own connection that fills the accept queue
	held     []net.Conn    // connections accepted while black-holed
	arrivals []time.Duration
	wg       sync.WaitGroup
}

// NewFarm starts n real servers on 127.B.x.y:port, with B and the port
// chosen at random so that farms of tests running at once do not meet; it
// retries elsewhere when an address is taken. It raises the open-file limit
// first: each server holds a listener and its connections.
func NewFarm(n int) (*Farm, error) {
	if n < 1 || n > 250*250 {
		return nil, fmt.Errorf("farm of %d real servers: want 1 to %d", n, 250*250)
	}
	if err := RaiseFileLimit(uint64(4*n+1024), uint64(n+512)); err != nil {
		return nil, err
	}
	var lastErr error
	for try := 0; try < 8; try++ {
		f, err := newFarm(n, byte(100+rand.IntN(100)), uint16(20000+rand.IntN(10000)))
		if err == nil {
			return f, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("farm of %d real servers: no free range after 8 tries: %w", n, lastErr)
}

func newFarm(n int, b byte, port uint16) (*Farm, error) {
	f := &Farm{Port: port, start: time.Now()}
	for i := 0; i < n; i++ {
		addr := netip.AddrFrom4([4]byte{127, b, byte(i / 250), byte(i%250 + 1)})
		s := &Server{Addr: netip.AddrPortFrom(addr, port), start: f.start}
		if err := s.listen(); err != nil {
			f.Close()
			return nil, err
		}
		f.servers = append(f.servers, s)
	}
	return f, nil
}

// RaiseFileLimit raises the soft limit on open files to want, and the hard
// limit too where it may (CAP_SYS_RESOURCE); short of that, to the hard
// limit, which must leave at least need.
func RaiseFileLimit(want, need uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if rl.Cur >= want {
		return nil
	}
	up := rl
	up.Cur, up.Max = want, max(rl.Max, want)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
		return nil
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raise the open-file limit to %d: %w", rl.Max, err)
	}
	if rl.Cur < need {
		return fmt.Errorf("open-file limit %d (hard), want at least %d: one per real server and connection", rl.Cur, need)
	}
	return nil
}

// Servers returns the servers, in address order.
func (f *Farm) Servers() []*Server { return f.servers }

// Since is the time since the farm started, the clock of Arrivals.
func (f *Farm) Since(t time.Time) time.Duration { return t.Sub(f.start) }

// Requests counts the connections that reached any server so far.
func (f *Farm) Requests() int {
	n := 0
	for _, s := range f.servers {
		s.mu.Lock()
		n += len(s.arrivals)
		s.mu.Unlock()
	}
	return n
}

// Reset forgets the arrivals so far, between two peers.
func (f *Farm) Reset() {
	for _, s := range f.servers {
		s.mu.Lock()
		s.arrivals = nil
		s.mu.Unlock()
	}
}

// Close stops every server and waits for their goroutines.
func (f *Farm) Close() {
	for _, s := range f.servers {
		s.close()
	}
}

func (s *Server) listen() error {
	ln, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(s.Addr))
	if err != nil {
		return fmt.Errorf("real server %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

// accept serves one listener until it is closed; while the server is a
// black hole it waits, leaving the accept queue full.
func (s *Server) accept(ln *net.TCPListener) {
	defer s.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.mu.Lock()
				resume, parked := s.resume, s.parked
				s.parked = nil
				s.mu.Unlock()
				if resume != nil {
					if parked != nil {
						close(parked)
					}
					<-resume
				}
				continue
			}
			return // closed
		}
		at := time.Since(s.start)
		s.mu.Lock()
		if s.filler != nil && c.RemoteAddr().String() == s.filler.LocalAddr().String() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.arrivals = append(s.arrivals, at)
		if s.state == BlackHole {
			// Accepted just before the black hole began: never answer.
			s.held = append(s.held, c)
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		go serve(c)
	}
}

// serve answers one HTTP request, or nothing to a client that only
// connects and closes (a connect check).
func serve(c *net.TCPConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 1024)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) <= 2 { // the blank line that ends the request head
			break
		}
	}
	c.Write(response)
}

// State returns what the server does now.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Arrivals returns when each connection reached the server, as durations
// since the farm started.
func (s *Server) Arrivals() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.arrivals...)
}

// Refuse closes the listener, so that connections are refused.
func (s *Server) Refuse() error {
	if err := s.Recover(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.ln, s.state = nil, Refused
	s.mu.Unlock()
	err := ln.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("real server %s: close the listener: %w", s.Addr, err)
	}
	return nil
}

// BlackHole stops accepting and shrinks the accept queue to one connection,
// which it fills itself: from then on the kernel drops the SYNs of new
// connections, and clients time out. The accept loop is parked before the
// queue is filled: a loop still accepting would take the filler out of the
// queue, and the next client would get in (seen as checks that succeeded
// up to 60 ms after the black hole began, which made detection look a
// checkinterval late).
func (s *Server) BlackHole() error {
	if err := s.Recover(); err != nil {
		return err
	}
	parked := make(chan struct{})
	s.mu.Lock()
	s.state = BlackHole
	s.resume, s.parked = make(chan struct{}), parked
	ln := s.ln
	s.mu.Unlock()
	if err := setBacklog(ln, 0); err != nil {
		return fmt.Errorf("real server %s: black hole: %w", s.Addr, err)
	}
	// Wakes the accept loop, which then parks until resume.
	if err := ln.SetDeadline(time.Now()); err != nil {
		return fmt.Errorf("real server %s: black hole: %w", s.Addr, err)
	}
	<-parked
	// The queue may already hold a client's connection that arrived after
	// the loop parked, in which case this dial is dropped and times out:
	// the queue is full either way. On loopback a SYN that finds room is
	// answered at once; a dropped one is sent again only after a second.
	filler, err := net.DialTimeout("tcp4", s.Addr.String(), 250*time.Millisecond)
	if err == nil {
		s.mu.Lock()
		s.filler = filler
		s.mu.Unlock()
	}
	return nil
}

// Recover makes the server answer again, whatever its state.
func (s *Server) Recover() error {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch state {
	case Refused:
		s.mu.Lock()
		s.state = Up
		s.mu.Unlock()
		return s.listen()
	case BlackHole:
		s.mu.Lock()
		ln, resume, filler, held := s.ln, s.resume, s.filler, s.held
		s.state, s.resume, s.held = Up, nil, nil
		s.mu.Unlock()
		if err := setBacklog(ln, 4096); err != nil {
			return fmt.Errorf("real server %s: recover from black hole: %w", s.Addr, err)
		}
		if err := ln.SetDeadline(time.Time{}); err != nil {
			return fmt.Errorf("real server %s: recover from black hole: %w", s.Addr, err)
		}
		close(resume)
		for _, c := range held {
			c.Close()
		}
		if filler != nil {
			// Accepted and dropped by the loop, which knows its address,
			// so it is not counted as a check.
			filler.Close()
		}
	}
	return nil
}

func (s *Server) close() {
	s.Recover()
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.wg.Wait()
}

// setBacklog calls listen(2) again on a listening socket, which Linux takes
// as a new accept-queue length.
func setBacklog(ln *net.TCPListener, n int) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("listen(backlog %d): %w", n, lerr)
	}
	return nil
}
