package actors

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

func waitFile(t *testing.T, path string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if cond(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting on %s; it holds:\n%s", path, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMonitorFile(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.MonitorFile = filepath.Join(t.TempDir(), "monitor.log")
	h := start(t, mkConfig("a.cf", v))
	waitFile(t, v.MonitorFile, func(s string) bool { return strings.Count(s, "\n") >= 2 })
	h.fake.set("127.0.0.2", true)
	text := waitFile(t, v.MonitorFile, func(s string) bool { return strings.Contains(s, "[up]") })
	line := regexp.MustCompile(`^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] \[\d+\] 127\.0\.0\.2 80 \[(up|down)\] \S.*$`)
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("monitorfile line %q does not have the [time] [pid] real port [status] message layout", l)
		}
	}
	if !strings.Contains(text, "[down] connect to 127.0.0.2: refused") {
		t.Errorf("monitorfile lacks the failure reason:\n%s", text)
	}
}

func TestFallbackCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "calls")
	script := filepath.Join(dir, "fallback.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.FallbackCommand = script
	h := start(t, mkConfig("a.cf", v))
	waitFile(t, out, func(s string) bool { return s == "start 10.0.0.1:80 tcp\n" })
	h.fake.set("127.0.0.2", true)
	waitFile(t, out, func(s string) bool { return s == "start 10.0.0.1:80 tcp\nstop 10.0.0.1:80 tcp\n" })
	h.fake.set("127.0.0.2", false)
	waitFile(t, out, func(s string) bool { return strings.HasSuffix(s, "stop 10.0.0.1:80 tcp\nstart 10.0.0.1:80 tcp\n") })
}

func TestMaintenanceDir(t *testing.T) {
	dir := t.TempDir()
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	cfg := mkConfig("a.cf", v)
	cfg.Global.MaintenanceDir = dir
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.run(cfg)
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	for _, name := range []string{"127.0.0.2:80", "127.0.0.2"} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		h.waitFor("real in maintenance ("+name+")", lacks(svc+" 127.0.0.2:80"))
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		h.waitFor("real back from maintenance", has(svc+" 127.0.0.2:80", 1))
	}
}

// smtpServer is a minimal SMTP server on loopback that keeps every message.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	wg   sync.WaitGroup
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	var env string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 hello")
		case strings.HasPrefix(cmd, "MAIL FROM:"), strings.HasPrefix(cmd, "RCPT TO:"):
			env += strings.TrimSpace(line) + "\n"
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var body strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, env+body.String())
			s.mu.Unlock()
			env = ""
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func TestEmailAlerts(t *testing.T) {
	srv := newSMTPServer(t)
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.ServiceName = "web"
	v.Settings.EmailAlert = []string{"ops@example.com"}
	v.Settings.EmailAlertFrom = `"LB Alerts" <lb@example.com>`
	v.Settings.EmailAlertFreq = 300 * time.Millisecond
	v.Settings.SMTP = srv.ln.Addr().String()
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	h.fake.set("127.0.0.2", false)
	h.waitFor("real down", lacks(svc+" 127.0.0.2:80"))
	deadline := time.Now().Add(15 * time.Second)
	for {
		var down, repeat int
		for _, m := range srv.messages() {
			if strings.Contains(m, "Subject: [web] Deleted real server: 127.0.0.2:80") {
				down++
			}
			if strings.Contains(m, "Subject: [web] Still down: Deleted real server: 127.0.0.2:80") {
				repeat++
			}
		}
		if down >= 1 && repeat >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want a down alert and two repeats, got %d and %d of:\n%s", down, repeat, strings.Join(srv.messages(), "\n----\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := srv.messages()[len(srv.messages())-1]
	for _, want := range []string{"MAIL FROM:<lb@example.com>", "RCPT TO:<ops@example.com>", "From: \"LB Alerts\" <lb@example.com>", "To: ops@example.com", "Log-Message: ", "Daemon-Status: running"} {
		if !strings.Contains(m, want) {
			t.Errorf("alert lacks %q:\n%s", want, m)
		}
	}
	h.fake.set("127.0.0.2", true)
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(strings.Join(srv.messages(), ""), "Subject: [web] Restored real server: 127.0.0.2:80") {
		if time.Now().After(deadline) {
			t.Fatal("no alert when the real came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestAutoReloadAndCallback(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.cf")
	out := filepath.Join(dir, "callback.out")
	script := filepath.Join(dir, "callback.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := func(text string) *conf.Config {
		vs := []*conf.Virtual{mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))}
		if strings.Contains(text, "two") {
			vs = append(vs, mkVirtual("10.0.0.2", 80, mkReal("127.0.0.2", 80, 1)))
		}
		c := mkConfig(file, vs...)
		c.Name = "a.cf"
		c.Global.AutoReload, c.Global.Callback = true, script
		return c
	}
	if err := os.WriteFile(file, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.load = func(path string) (*conf.Config, error) {
		b, err := os.ReadFile(path)
		return build(string(b)), err
	}
	h.fake.set("127.0.0.2", true)
	h.run(build("one"))
	h.waitFor("first configuration", all(has(svc+" 127.0.0.2:80", 1), lacks(svc2)))
	time.Sleep(100 * time.Millisecond) // let the watch start
	// An editor writes a new file and renames it over the old one.
	tmp := filepath.Join(dir, ".a.cf.swp")
	if err := os.WriteFile(tmp, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	h.waitFor("reloaded configuration", has(svc2+" 127.0.0.2:80", 1))
	waitFile(t, out, func(s string) bool { return s == "a.cf\n" })
}

func TestEmailAlertThroughSendmail(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mail")
	script := filepath.Join(dir, "sendmail")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"args: $*\" >> "+out+"\ncat >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.EmailAlert = []string{"ops@example.com"}
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks(), opts: Options{Sendmail: script}}
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	text := waitFile(t, out, func(s string) bool { return strings.Contains(s, "Subject: Restored real server: 127.0.0.2:80") })
	for _, want := range []string{"args: -t -i", "To: ops@example.com\n", "From: root@localhost\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("sendmail input lacks %q:\n%s", want, text)
		}
	}
}
