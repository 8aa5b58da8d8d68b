package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"go.uber.org/zap"
)

// pprofEnv, when set to an address (127.0.0.1:6060), serves Go's profiles
// there, for measuring the daemon's cost. It is off unless set and should
// name a loopback address: the profiles are not protected.
const pprofEnv = "LDIRECTORD_PPROF"

// servePprof starts the profile server that pprofEnv asks for, if any.
func servePprof(log *zap.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("profile server not started", zap.String("env", pprofEnv), zap.Error(err))
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("serving profiles", zap.String("addr", ln.Addr().String()))
	go func() { _ = http.Serve(ln, mux) }()
}
