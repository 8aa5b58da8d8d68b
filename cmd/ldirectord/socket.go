package main

// The control socket is how a command asks the running daemon what it
// knows (status --json, and drain waiting for its outcome): a unix socket
// beside the pid file, which only root may open, answering one request a
// connection with one JSON document.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
)

// socketTimeout bounds one request on the control socket, both ways.
const socketTimeout = 10 * time.Second

// inspectRequest is the one request the socket takes.
const inspectRequest = "inspect"

func socketPath(pidFile string) string {
	return strings.TrimSuffix(pidFile, ".pid") + ".sock"
}

// inspectReply is what the socket answers.
type inspectReply struct {
	Inspection *plan.Inspection `json:"inspection"`
	Error      string           `json:"error,omitempty"`
}

// serveControl answers requests on the socket at path with inspect until
// the returned function is called. A socket that cannot be made is
// logged: the daemon runs on without it.
func serveControl(log *zap.Logger, path string, inspect func() (*plan.Inspection, error)) (stop func()) {
	os.Remove(path) // left by a daemon that was killed
	old := syscall.Umask(0o077)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		log.Warn("control socket not opened: status --json and drain will not reach the daemon", zap.String("socket", path), zap.Error(err))
		return func() {}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		log.Warn("control socket", zap.String("socket", path), zap.Error(err))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answer(c, inspect)
		}
	}()
	return func() {
		ln.Close()
		<-done
		os.Remove(path)
	}
}

func answer(c net.Conn, inspect func() (*plan.Inspection, error)) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(socketTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	var reply inspectReply
	if strings.TrimSpace(line) != inspectRequest {
		reply.Error = fmt.Sprintf("unknown request %q: want %q", strings.TrimSpace(line), inspectRequest)
	} else if ins, err := inspect(); err != nil {
		reply.Inspection, reply.Error = ins, err.Error()
	} else {
		reply.Inspection = ins
	}
	_ = json.NewEncoder(c).Encode(reply)
}

// askInspect asks the daemon behind the socket at path what it knows.
func askInspect(path string) (*plan.Inspection, error) {
	c, err := net.DialTimeout("unix", path, socketTimeout)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("the daemon's control socket %s is root's only: run this as root", path)
		}
		return nil, fmt.Errorf("the daemon's control socket: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(socketTimeout))
	if _, err := io.WriteString(c, inspectRequest+"\n"); err != nil {
		return nil, fmt.Errorf("the daemon's control socket: %w", err)
	}
	var reply inspectReply
	if err := json.NewDecoder(io.LimitReader(c, 256<<20)).Decode(&reply); err != nil {
		return nil, fmt.Errorf("the daemon's answer on %s: %w", path, err)
	}
	if reply.Error != "" {
		return reply.Inspection, errors.New(reply.Error)
	}
	return reply.Inspection, nil
}

// controls are the control sockets of a daemon: one beside every pid file
// it holds, its own and those of the configurations it executes, so that
// status --json and drain reach it by either name. Each answers for the
// whole daemon.
type controls struct {
	log     *zap.Logger
	inspect func() (*plan.Inspection, error)
	open    map[string]func() // stop functions, by pid file
}

// sync serves a socket beside each of pidFiles and closes the others.
func (c *controls) sync(pidFiles []string) {
	want := map[string]bool{}
	for _, p := range pidFiles {
		want[p] = true
		if c.open[p] == nil {
			c.open[p] = serveControl(c.log, socketPath(p), c.inspect)
		}
	}
	for p, stop := range c.open {
		if !want[p] {
			stop()
			delete(c.open, p)
		}
	}
}
