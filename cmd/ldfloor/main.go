// Command ldfloor is the floor of the benchmarks: the least a health
// checker must do. It checks each target every interval, with nothing
// else: a TCP connect, or an HTTP GET whose answer must hold a string. It
// keeps no table, writes no log and runs until it is signalled. ldbench
// measures its CPU and memory beside the daemons'.
//
//	ldfloor -targets FILE [-mode connect|http] [-interval 1s] [-timeout 3s] [-receive STR]
//
// FILE holds one address:port a line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	targets := flag.String("targets", "", "file with one address:port a line")
	mode := flag.String("mode", "http", "connect or http")
	interval := flag.Duration("interval", time.Second, "time between two checks of a target")
	timeout := flag.Duration("timeout", 3*time.Second, "deadline of one check")
	receive := flag.String("receive", "ok", "string an HTTP answer must hold")
	flag.Parse()
	if *mode != "connect" && *mode != "http" {
		fmt.Fprintf(os.Stderr, "ldfloor: -mode %q: want connect or http\n", *mode)
		os.Exit(2)
	}
	addrs, err := readTargets(*targets)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ldfloor: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for i, a := range addrs {
		// Spread the first checks over one interval, as a daemon that
		// starts its probers one by one does.
		offset := time.Duration(i) * *interval / time.Duration(len(addrs))
		go loop(ctx, a, *mode == "http", []byte(*receive), offset, *interval, *timeout)
	}
	<-ctx.Done()
}

func readTargets(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("targets %s: no address:port in it", path)
	}
	return out, nil
}

func loop(ctx context.Context, addr string, http bool, receive []byte, offset, interval, timeout time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset):
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	req := []byte("GET / HTTP/1.0\r\nHost: " + addr + "\r\n\r\n")
	for {
		check(addr, http, req, receive, timeout)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check runs one check; the verdict is not used, but it is computed as a
// real checker would.
func check(addr string, http bool, req, receive []byte, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return false
	}
	defer c.Close()
	if !http {
		return true
	}
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req); err != nil {
		return false
	}
	body, err := io.ReadAll(bufio.NewReader(io.LimitReader(c, 64<<10)))
	return err == nil && bytes.HasPrefix(body, []byte("HTTP/1.")) && bytes.Contains(body, receive)
}
