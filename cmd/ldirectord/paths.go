package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Environment variables that move the daemon's files for tests and for a
// demo without IPVS. None is set in normal use.
const (
	pidDirEnv  = "LDIRECTORD_PIDDIR"  // directory of the pid files, default /var/run
	confDirEnv = "LDIRECTORD_CONFDIR" // colon-separated directories searched for bare configuration names
	tableEnv   = "LDIRECTORD_TABLE"   // "file:/path": keep the table in a JSON file instead of the kernel
)

// configName is the name of a configuration as the pid file uses it: the
// base name of the argument as given, or "ldirectord" for the default.
func configName(arg string) string {
	if arg == "" {
		return "ldirectord"
	}
	return filepath.Base(arg)
}

func pidFilePath(arg string) string {
	dir := os.Getenv(pidDirEnv)
	if dir == "" {
		dir = "/var/run"
	}
	return filepath.Join(dir, "ldirectord."+configName(arg)+".pid")
}

func confDirs() []string {
	if v := os.Getenv(confDirEnv); v != "" {
		return strings.Split(v, ":")
	}
	return nil // conf.Locate's defaults
}

// locate finds the configuration file named on the command line.
func locate(arg string) (string, error) {
	p, _, err := conf.Locate(arg, confDirs())
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}
