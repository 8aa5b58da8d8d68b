package metrics

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// freePort finds a loopback port nothing listens on.
func freePort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func get(addr netip.AddrPort) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestServerMoves: the endpoint serves where it is told, moves when the
// address changes, stops at the zero address and at Close, and an address
// in use is an error that leaves nothing served.
func TestServerMoves(t *testing.T) {
	s := NewServer(New("test"), zap.NewNop())
	defer s.Close()
	a, b := freePort(t), freePort(t)
	if err := s.Move(a); err != nil {
		t.Fatal(err)
	}
	if text, err := get(a); err != nil || !strings.Contains(text, "ldirectord_build_info") {
		t.Fatalf("GET %s: %v\n%s", a, err, text)
	}
	if err := s.Move(a); err != nil {
		t.Fatalf("the same address again: %v", err)
	}
	if err := s.Move(b); err != nil {
		t.Fatal(err)
	}
	if _, err := get(a); err == nil {
		t.Errorf("still served at %s after the move", a)
	}
	if _, err := get(b); err != nil {
		t.Errorf("not served at %s: %v", b, err)
	}
	if err := s.Move(netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(b); err == nil {
		t.Errorf("still served at %s after the zero address", b)
	}

	busy, err := net.Listen("tcp", a.String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := s.Move(a); err == nil {
		t.Error("an address in use was taken")
	}
	busy.Close()
	if err := s.Move(a); err != nil {
		t.Errorf("the same address once free: %v", err)
	}
	s.Close()
	if _, err := get(a); err == nil {
		t.Errorf("still served at %s after Close", a)
	}
}
