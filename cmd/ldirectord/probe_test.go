package main

import (
	"net"
	"strings"
	"testing"
	"time"
)

// silent accepts connections on loopback and never answers: a black hole
// for a negotiate check, which waits for its timeout.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// refused is a loopback address where nothing listens.
func refused(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// probe checks every real server once, at the same time, and says which
// are up: one that answers, one that refuses, one that never answers (its
// check ends at negotiatetimeout, the others' at once).
func TestProbe(t *testing.T) {
	e := newEnv(t)
	good, bad, hole := newBackend(t, "127.0.0.1").addr, refused(t), silent(t)
	const timeout = 2 * time.Second
	e.config("negotiatetimeout = 2\nchecktimeout = 2\n" +
		httpVirtual("127.0.0.2:80", "fallback = 127.0.0.1:8080 gate", good+" gate", bad+" gate", hole+" gate"))

	began := time.Now()
	out, errOut, code := e.ld("l.cf", "probe")
	took := time.Since(began)
	t.Logf("probe took %v:\n%s", took, out)
	if code != 1 {
		t.Errorf("probe with real servers down: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if limit := timeout + 5*time.Second; took > limit {
		t.Errorf("probe took %v, want the black hole's negotiatetimeout %v plus a margin (%v): the checks must run concurrently and stop at their timeout", took, timeout, limit)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] == "tcp:127.0.0.2:80" {
			rows[f[1]] = f
		}
	}
	for _, c := range []struct{ real, verdict, reason string }{
		{good, "up", ""},
		{bad, "down", "refused"},
		{hole, "down", "timeout"},
	} {
		f := rows[c.real]
		if f == nil {
			t.Errorf("no row for real %s in:\n%s", c.real, out)
			continue
		}
		if f[2] != "negotiate" || f[3] != "http" || f[6] != c.verdict {
			t.Errorf("row %q: want check negotiate http and verdict %s", strings.Join(f, " "), c.verdict)
		}
		if reason := strings.ToLower(strings.Join(f[8:], " ")); !strings.Contains(reason, c.reason) {
			t.Errorf("row %q: reason lacks %q", strings.Join(f, " "), c.reason)
		}
	}
	if !strings.HasPrefix(out, "VIRTUAL") || !strings.Contains(out, "LATENCY") {
		t.Errorf("probe printed no table header:\n%s", out)
	}
	if !strings.Contains(out, "fallback 127.0.0.1:8080 is not checked") {
		t.Errorf("probe does not say that the fallback server is not checked:\n%s", out)
	}

	// All up: exit 0.
	e.config("negotiatetimeout = 2\n" + httpVirtual("127.0.0.2:80", "", good+" gate"))
	if out, errOut, code := e.ld("l.cf", "probe"); code != 0 || !strings.Contains(out, good) {
		t.Errorf("probe with its one real server up: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// A configuration that does not parse: exit 1 and why.
	e.config("virtual = nonsense\n")
	if _, errOut, code := e.ld("l.cf", "probe"); code != 1 || !strings.Contains(errOut, "virtual") {
		t.Errorf("probe of a bad configuration: exit %d, want 1 and the error\nstderr:\n%s", code, errOut)
	}
}

// The CHECK column says where each check really goes: the host and port of
// an http:// request, not the real server's port; ping for a UDP service's
// connect check, which pings.
func TestProbeCheckColumnSaysWhereTheCheckGoes(t *testing.T) {
	e := newEnv(t)
	good := newBackend(t, "127.0.0.1").addr
	e.config("negotiatetimeout = 2\nchecktimeout = 2\n" +
		"virtual = 127.0.0.2:80\n\treal = 127.0.0.3:8080 gate\n\tservice = http\n\trequest = \"http://" + good + "/\"\n\treceive = \"alive\"\n" +
		"virtual = 127.0.0.2:53\n\tprotocol = udp\n\treal = 127.0.0.1:53 gate\n\tchecktype = connect\n")
	out, errOut, _ := e.ld("l.cf", "probe")
	t.Logf("probe:\n%s%s", out, errOut)
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 {
			rows[f[0]] = strings.Join(f[2:], " ")
		}
	}
	for vip, want := range map[string]string{
		"tcp:127.0.0.2:80": "negotiate http " + good + " up",
		"udp:127.0.0.2:53": "ping ",
	} {
		if !strings.HasPrefix(rows[vip], want) {
			t.Errorf("row of %s: %q, want it to start %q", vip, rows[vip], want)
		}
	}
}
