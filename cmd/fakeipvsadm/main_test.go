package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary runs the compiled program as the Perl daemon does, through a
// shell, and checks listings, the call log and ipvsadm's exit statuses.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ipvsadm")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sh := func(line string) (string, string, int) {
		t.Helper()
		cmd := exec.Command("/bin/sh", "-c", "./ipvsadm "+line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "FAKEIPVSADM_STATE=", "FAKEIPVSADM_LOG=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return out.String(), errb.String(), code
	}
	for _, c := range []struct {
		line, stderr string
		code         int
	}{
		{"-A -t 127.0.0.1:80 -s wrr ", "", 0},
		{"-a -t 127.0.0.1:80 -x 0 -y 0 -r 127.0.0.2:80 -m -w 2", "", 0},
		{"-a -t 127.0.0.1:80 -x 0 -y 0 -r 127.0.0.2:80 -m -w 2", "Destination already exists\n", 255},
		{"-A -t 127.0.0.1:80 -s wrr", "Service already exists\n", 255},
		{"-d -t 127.0.0.1:80 -r 127.0.0.7:80", "No such destination\n", 255},
		{"-a -f 1 -r :0 -g -w 1", "illegal real server address[:port] specified\n", 2},
	} {
		_, errText, code := sh(c.line)
		if errText != c.stderr || code != c.code {
			t.Errorf("ipvsadm %s: stderr %q status %d, want %q status %d", c.line, errText, code, c.stderr, c.code)
		}
	}
	out, _, code := sh("-L -n")
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"TCP  127.0.0.1:80 wrr\n" +
		"  -> 127.0.0.2:80                 Masq    2      0          0         \n"
	if out != want || code != 0 {
		t.Errorf("-L -n: status %d, output\n%q\nwant\n%q", code, out, want)
	}
	log, err := os.ReadFile(filepath.Join(dir, "ipvsadm.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(log), "\n"), "\n")
	if len(lines) != 7 || lines[0] != "-A -t 127.0.0.1:80 -s wrr" || lines[6] != "-L -n" {
		t.Errorf("call log:\n%s\nwant the 7 command lines in order", log)
	}
	if _, err := os.Stat(filepath.Join(dir, "ipvsadm.state")); err != nil {
		t.Errorf("state file: %v", err)
	}
}
