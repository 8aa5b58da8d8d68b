package main

import (
	"fmt"
	"io"

	"github.com/ldirectord-go/ldirectord/conf"
)

// checkConfig prints the effective configuration, passwords and secrets
// hidden, with its warnings on stderr; or its errors.
func checkConfig(path string, stdout, stderr io.Writer) int {
	cfg, err := conf.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s", conf.Format(conf.Redacted(cfg)))
	return exitOK
}
