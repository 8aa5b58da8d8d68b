package main

import (
	"fmt"
	"io"

	"github.com/ldirectord-go/ldirectord/conf"
)

// checkConfig prints the effective configuration, or its errors.
func checkConfig(path string, stdout, stderr io.Writer) int {
	cfg, err := conf.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s", conf.Format(cfg))
	return exitOK
}
