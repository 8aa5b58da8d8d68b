package bench

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func get(t *testing.T, s *Server) (string, error) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Get("http://" + s.Addr.String() + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", s.Addr, resp.StatusCode)
	}
	return string(body), err
}

func startFarm(t *testing.T, n int) *Farm {
	t.Helper()
	f, err := NewFarm(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestFarmAnswersHTTPAndCountsArrivals(t *testing.T) {
	f := startFarm(t, 5)
	for _, s := range f.Servers() {
		if !s.Addr.Addr().Is4() || s.Addr.Addr().As4()[0] != 127 {
			t.Fatalf("server %s is not on 127.0.0.0/8", s.Addr)
		}
		body, err := get(t, s)
		if err != nil || body != Body {
			t.Fatalf("GET %s = %q, %v; want %q", s.Addr, body, err, Body)
		}
	}
	// A connect check: connect and close without a request.
	c, err := net.Dial("tcp4", f.Servers()[0].Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, func() bool { return f.Requests() == 6 }, "6 arrivals")
	if a := f.Servers()[0].Arrivals(); len(a) != 2 || a[1] < a[0] {
		t.Fatalf("arrivals of server 0 = %v, want two in order", a)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFarmRefuseAndRecover(t *testing.T) {
	f := startFarm(t, 3)
	s := f.Servers()[1]
	if err := s.Refuse(); err != nil {
		t.Fatal(err)
	}
	_, err := net.DialTimeout("tcp4", s.Addr.String(), 2*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial refused server %s: %v, want connection refused", s.Addr, err)
	}
	if _, err := get(t, f.Servers()[0]); err != nil {
		t.Fatalf("a neighbour of the refused server fails: %v", err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, s); err != nil || body != Body {
		t.Fatalf("GET %s after recovery = %q, %v", s.Addr, body, err)
	}
	if s.State() != Up {
		t.Fatalf("state after recovery = %v", s.State())
	}
}

func TestFarmBlackHoleAndRecover(t *testing.T) {
	f := startFarm(t, 2)
	s := f.Servers()[0]
	if err := s.BlackHole(); err != nil {
		t.Fatal(err)
	}
	before := len(s.Arrivals())
	// Several clients at once: each must time out, none is refused or
	// answered.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp4", s.Addr.String(), 700*time.Millisecond)
			if err == nil {
				c.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("client %d to black hole %s: %v, want a connect timeout", i, s.Addr, err)
		}
	}
	if _, err := get(t, s); err == nil {
		t.Fatalf("GET %s answered during the black hole", s.Addr)
	}
	if got := len(s.Arrivals()); got != before {
		t.Fatalf("black hole counted %d arrivals", got-before)
	}
	if _, err := get(t, f.Servers()[1]); err != nil {
		t.Fatalf("a neighbour of the black hole fails: %v", err)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, s); err != nil || body != Body {
		t.Fatalf("GET %s after the black hole = %q, %v", s.Addr, body, err)
	}
	// Black hole again after a refusal, and back.
	if err := s.Refuse(); err != nil {
		t.Fatal(err)
	}
	if err := s.BlackHole(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp4", s.Addr.String(), 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatalf("connect to %s succeeded in the second black hole", s.Addr)
	}
	if err := s.Recover(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, s); err != nil {
		t.Fatalf("GET %s after the second black hole: %v", s.Addr, err)
	}
}

func TestFarmOfManyServers(t *testing.T) {
	const n = 2000
	f := startFarm(t, n)
	seen := map[string]bool{}
	for _, s := range f.Servers() {
		seen[s.Addr.String()] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct addresses, want %d", len(seen), n)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	sem := make(chan struct{}, 64)
	for _, s := range f.Servers() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := net.DialTimeout("tcp4", s.Addr.String(), 5*time.Second)
			if err != nil {
				mu.Lock()
				failed = append(failed, err.Error())
				mu.Unlock()
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d servers did not accept: %s", len(failed), n, strings.Join(failed[:min(5, len(failed))], "; "))
	}
	waitFor(t, func() bool { return f.Requests() == n }, "arrival at every server")
}

// TestFarmBlackHoleHoldsUnderLoad black-holes servers while clients keep
// connecting to them, as a daemon's checks do: once BlackHole has returned,
// no connection may get through. An accept loop still running when the
// queue was filled used to take the filler out, and let one client in.
func TestFarmBlackHoleHoldsUnderLoad(t *testing.T) {
	f := startFarm(t, 100)
	var mu sync.Mutex
	black := map[*Server]time.Time{}
	var leaks []time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range f.Servers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				since, isBlack := black[s]
				mu.Unlock()
				c, err := net.DialTimeout("tcp4", s.Addr.String(), 100*time.Millisecond)
				if err != nil {
					continue
				}
				c.Close()
				if isBlack {
					mu.Lock()
					leaks = append(leaks, time.Since(since))
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	for _, s := range f.Servers() {
		if err := s.BlackHole(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		black[s] = time.Now()
		mu.Unlock()
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if len(leaks) > 0 {
		t.Fatalf("%d connections got through a black hole that was in place (%v after it began)", len(leaks), leaks)
	}
}
