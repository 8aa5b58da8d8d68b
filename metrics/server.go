package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Server serves /metrics at the address of the metrics directive, at one
// address at a time: a reload that changes the directive moves it, one that
// removes it stops it.
type Server struct {
	m   *Metrics
	log *zap.Logger

	mu   sync.Mutex
	addr netip.AddrPort
	srv  *http.Server
	done chan struct{}
}

// NewServer serves m once Move gives it an address; log hears of failed
// scrapes.
func NewServer(m *Metrics, log *zap.Logger) *Server {
	return &Server{m: m, log: log}
}

// Handler is the /metrics handler. A part that cannot be collected (the
// daemon did not answer in time) is left out and logged, and the rest is
// still served: a scrape that fails whole would hide the daemon's health
// when it matters most.
func (m *Metrics) Handler(log *zap.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            zap.NewStdLog(log),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// Move serves at addr from now on; the zero AddrPort stops serving. The
// same address again changes nothing. When addr cannot be listened on, the
// error says so and nothing is served: the daemon balances on without its
// metrics rather than refusing to start or to reload.
func (s *Server) Move(addr netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr == s.addr {
		return nil // s.addr is zero whenever nothing is served
	}
	s.stop()
	if !addr.IsValid() {
		return nil
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.m.Handler(s.log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: zap.NewStdLog(s.log)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics endpoint stopped", zap.String("address", addr.String()), zap.Error(err))
		}
	}()
	s.addr, s.srv, s.done = addr, srv, done
	s.log.Info("serving metrics", zap.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return nil
}

// Close stops serving.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
}

// stop ends the server, if any, and waits for it; s.mu is held.
func (s *Server) stop() {
	if s.srv == nil {
		s.addr = netip.AddrPort{}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	s.srv, s.done, s.addr = nil, nil, netip.AddrPort{}
}
