package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EMetricsPrometheus: a real Prometheus, Debian's, scrapes the
// daemon every second, and its own query API sees a real server go down
// when its backend stops listening and come back when it listens again,
// the reason the checks failed for, and a reload with the new file's
// hash.
func TestE2EMetricsPrometheus(t *testing.T) {
	if inGuest() {
		t.Skip("the VM has no Prometheus; this test runs on the host")
	}
	promBin := needProgram(t, "prometheus")
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	metricsAddr := freeLoopback(t)
	text := fastGlobals + "metrics = " + metricsAddr + "\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 2")
	e.config(text)
	e.mustLd("l.cf", "start")
	t.Cleanup(func() { e.ld("l.cf", "stop") })
	e.waitFor("real in the table", has(vip+" "+b.addr, 2))

	prom := startPrometheus(t, promBin, metricsAddr)
	prom.waitFor(t, "Prometheus scraping the daemon", `up{job="ldirectord"}`, func(rs []promSample) bool {
		return len(rs) == 1 && rs[0].Value == "1"
	})
	stateIs := func(state string) func([]promSample) bool {
		return func(rs []promSample) bool {
			return len(rs) == 1 && rs[0].Metric["state"] == state && rs[0].Value == "1"
		}
	}
	realState := fmt.Sprintf(`ldirectord_real_server_state{config="l.cf",virtual="tcp:10.9.9.9:80",real=%q}`, b.addr)
	prom.waitFor(t, "the real up", realState, stateIs("up"))
	prom.waitFor(t, "its weight in the table", fmt.Sprintf(`ldirectord_real_server_weight{real=%q}`, b.addr), func(rs []promSample) bool {
		return len(rs) == 1 && rs[0].Value == "2"
	})

	b.down()
	e.waitFor("real out of the table", lacks(vip+" "+b.addr))
	prom.waitFor(t, "the real down", realState, stateIs("down"))
	prom.waitFor(t, "checks refused", `ldirectord_checks_total{virtual="tcp:10.9.9.9:80",check="negotiate http",result="down",reason="refused"}`,
		func(rs []promSample) bool { return len(rs) == 1 && rs[0].Value != "0" })
	prom.waitFor(t, "no weight while out of the table", fmt.Sprintf(`ldirectord_real_server_weight{real=%q}`, b.addr), func(rs []promSample) bool {
		return len(rs) == 0
	})

	b.up()
	prom.waitFor(t, "the real up again", realState, stateIs("up"))

	// A reload: the file's new hash, and a reload that took.
	text = strings.Replace(text, b.addr+" masq 2", b.addr+" masq 3", 1)
	e.config(text)
	e.mustLd("l.cf", "reload")
	sum := sha256.Sum256([]byte(readFile(t, e.path("l.cf"))))
	prom.waitFor(t, "the new file's hash", `ldirectord_config_info{config="l.cf"}`, func(rs []promSample) bool {
		return len(rs) == 1 && rs[0].Metric["sha256"] == hex.EncodeToString(sum[:]) && rs[0].Metric["file"] == e.path("l.cf")
	})
	prom.waitFor(t, "one reload that took", `ldirectord_config_reloads_total{result="success"}`, func(rs []promSample) bool {
		return len(rs) == 1 && rs[0].Value == "1"
	})
	prom.waitFor(t, "the new weight", fmt.Sprintf(`ldirectord_real_server_weight{real=%q}`, b.addr), func(rs []promSample) bool {
		return len(rs) == 1 && rs[0].Value == "3"
	})
}

// needProgram finds a program of Debian's prometheus package, which the
// Makefile's deps target installs. Without it a developer's run skips and
// says why; where CI is set it fails instead, so that the proof never
// passes by not running.
func needProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found (CI is set): install Debian's prometheus package (make deps)", name)
	}
	t.Skipf("%s not found: install Debian's prometheus package (make deps) to run this test", name)
	return ""
}

// freeLoopback is a 127.0.0.1 address with a port nothing listens on.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// prometheus is a Prometheus server of the test's own: its configuration,
// storage and port, stopped when the test ends.
type prometheus struct {
	api string // http://127.0.0.1:PORT
	log string
}

func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	yml := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ldirectord
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := freeLoopback(t)
	p := &prometheus{api: "http://" + listen, log: filepath.Join(dir, "prometheus.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.api + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus not ready at %s: %v\n%s", p.api, err, readFile(t, p.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promSample is one series of an instant query's answer.
type promSample struct {
	Metric map[string]string
	Value  string
}

// query asks Prometheus's HTTP API for the instant vector of expr.
func (p *prometheus) query(expr string) ([]promSample, error) {
	resp, err := http.Get(p.api + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%s: %w", body, err)
	}
	if answer.Status != "success" || answer.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: %s %s", expr, answer.Status, answer.Error)
	}
	var out []promSample
	for _, r := range answer.Data.Result {
		v, _ := r.Value[1].(string)
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// waitFor polls the query until cond holds of its answer.
func (p *prometheus) waitFor(t *testing.T, what, expr string, cond func([]promSample) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs, err := p.query(expr)
		if err == nil && cond(rs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s gives %+v (%v)\nPrometheus log:\n%s", what, expr, rs, err, readFile(t, p.log))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
