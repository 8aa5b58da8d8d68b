package checks

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// page serves the health pages the HTTP tests ask for and records the Host
// header and method of the last request.
func page(seen chan<- string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- r.Method + " " + r.Host:
		default:
		}
		fmt.Fprint(w, "status: all systems GO\n")
	})
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance OK", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "too late GO")
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 4096))
		for i := 0; i < 1024; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, "GO")
	})
	return mux
}

// addrOf is the address a test HTTP server listens on.
func addrOf(srv *httptest.Server) netip.AddrPort {
	return srv.Listener.Addr().(*net.TCPAddr).AddrPort()
}

func listen6(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("listen on ::1: %v", err)
	}
	return l
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	srv := httptest.NewServer(page(seen))
	t.Cleanup(srv.Close)
	srv6 := httptest.NewUnstartedServer(page(nil))
	srv6.Listener = listen6(t)
	srv6.Start()
	t.Cleanup(srv6.Close)

	cases := []struct {
		name             string
		srv              *httptest.Server
		request, receive string
		up               bool
		reason           string
	}{
		{"receive matches", srv, "/ok", "systems GO", true, "HTTP 200 OK"},
		{"regexp receive", srv, "ok", `all\s+\w+ GO$`, true, "HTTP 200 OK"},
		{"empty receive", srv, "/ok", "", true, "HTTP 200 OK"},
		{"ipv6", srv6, "/ok", "GO", true, "HTTP 200 OK"},
		{"redirect followed", srv, "/moved", "GO", true, "HTTP 200 OK"},
		{"full URL", srv, srv.URL + "/ok", "GO", true, "HTTP 200 OK"},
		{"receive missing", srv, "/ok", "NO-GO", false, "receive /NO-GO/ not found in 23 bytes of HTTP 200 OK body"},
		{"error status", srv, "/unavailable", "OK", false, "HTTP 503 Service Unavailable"},
		{"not found", srv, "/nothing", "", false, "HTTP 404 Not Found"},
		{"redirect loop", srv, "/loop", "", false, "redirects"},
		{"body read is bounded", srv, "/endless", "GO", false, fmt.Sprintf("not found in %d bytes", maxBody)},
		{"answers too slowly", srv, "/slow", "GO", false, "timeout after 2s waiting for HTTP response"},
		{"bad receive regexp", srv, "/ok", "(", false, "not a valid regexp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, negotiate(addrOf(c.srv), "http", c.request, c.receive), c.up, c.reason)
		})
	}
}

func TestHTTPHostAndMethod(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(page(seen))
	t.Cleanup(srv.Close)

	tg := negotiate(addrOf(srv), "http", "/ok", "GO")
	expect(t, Run, tg, true, "HTTP 200 OK")
	if got := <-seen; got != "GET 127.0.0.1" {
		t.Fatalf("request %q, want GET with the real server's address as Host, as ldirectord sends it", got)
	}

	tg.Check.VirtualHost = "www.example.org"
	tg.Check.HTTPMethod = "HEAD"
	tg.Check.Receive = ""
	expect(t, Run, tg, true, "HTTP 200 OK")
	if got := <-seen; got != "HEAD www.example.org" {
		t.Fatalf("request %q, want HEAD with virtualhost as Host", got)
	}

	// A full URL is fetched as it stands, with its own host as Host.
	full := negotiate(addrOf(srv), "http", "/"+srv.URL+"/ok", "GO")
	full.Addr = netip.MustParseAddr("127.0.0.9") // not used for a full URL
	expect(t, Run, full, true, "HTTP 200 OK")
	if got, want := <-seen, "GET "+strings.TrimPrefix(srv.URL, "http://"); got != want {
		t.Fatalf("request %q, want %q", got, want)
	}

	// HEAD has no body, so a receive string cannot match.
	tg.Check.Receive = "GO"
	expect(t, Run, tg, false, "not found in 0 bytes")
}

func TestHTTPDown(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		addr   netip.AddrPort
		reason string
	}{
		{"refused", refused(t, "tcp4"), "connect: connection refused"},
		{"refused ipv6", refused(t, "tcp6"), "connect: connection refused"},
		{"accepts but never answers", serve(t, "tcp4", silent), "timeout after 2s waiting for HTTP response"},
		{"garbage", serve(t, "tcp4", garbage), "malformed HTTP"},
		{"syn dropped", blackhole(t), "timeout after 2s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg := target(c.addr, conf.CheckNegotiate, "http")
			expect(t, Run, tg, false, c.reason)
		})
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	// The test server's certificate is self-signed and names no
	// virtualhost: the check must not care, as ldirectord does not.
	sni := make(chan string, 32)
	srv := httptest.NewUnstartedServer(page(seen))
	srv.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		select {
		case sni <- hello.ServerName:
		default:
		}
		return nil, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	srv6 := httptest.NewUnstartedServer(page(nil))
	srv6.Listener = listen6(t)
	srv6.StartTLS()
	t.Cleanup(srv6.Close)
	plain := httptest.NewServer(page(nil))
	t.Cleanup(plain.Close)

	expect(t, Run, negotiate(addrOf(srv), "https", "/ok", "GO"), true, "HTTP 200 OK")
	expect(t, Run, negotiate(addrOf(srv6), "https", "/ok", "GO"), true, "HTTP 200 OK")
	expect(t, Run, negotiate(addrOf(srv), "https", srv.URL+"/ok", "GO"), true, "HTTP 200 OK")
	expect(t, Run, negotiate(addrOf(srv), "https", "/unavailable", ""), false, "HTTP 503")
	expect(t, Run, negotiate(addrOf(srv), "https", "/ok", "NO-GO"), false, "receive /NO-GO/ not found")

	tg := negotiate(addrOf(srv), "https", "/ok", "GO")
	tg.Check.VirtualHost = "secure.example.org"
	<-seen
	expect(t, Run, tg, true, "HTTP 200 OK")
	if got := <-seen; got != "GET secure.example.org" {
		t.Fatalf("request %q, want virtualhost as Host", got)
	}
	var names []string
	for len(sni) > 0 {
		names = append(names, <-sni)
	}
	if len(names) == 0 || names[len(names)-1] != "secure.example.org" {
		t.Fatalf("TLS server names %q, want the last to be virtualhost", names)
	}

	// TLS failures: a plain HTTP server, a server speaking garbage, one
	// that never starts the handshake.
	expect(t, Run, negotiate(addrOf(plain), "https", "/ok", "GO"), false, "server gave HTTP response to HTTPS client")
	expect(t, Run, target(serve(t, "tcp4", garbage), conf.CheckNegotiate, "https"), false, "tls:")
	expect(t, Run, target(serve(t, "tcp4", silent), conf.CheckNegotiate, "https"), false, "timeout after 2s")
	expect(t, Run, target(refused(t, "tcp6"), conf.CheckNegotiate, "https"), false, "connection refused")
}
