// Command fakeipvsadm stands in for ipvsadm(8) where the kernel has no IPVS.
// It keeps the table in a JSON file (tablefile.Table) named by
// FAKEIPVSADM_STATE, default ./ipvsadm.state, appends each command line it
// is given to FAKEIPVSADM_LOG, default ./ipvsadm.log, answers -L -n and
// -L -n --thresholds in ipvsadm's exact formats, and fails with ipvsadm's
// messages and exit statuses. The Perl ldirectord run with -d uses an
// ./ipvsadm from its working directory, which is how the reference tests
// run it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string, stdout, stderr io.Writer) int {
	if err := logCall(env("FAKEIPVSADM_LOG", "ipvsadm.log"), args); err != nil {
		fmt.Fprintf(stderr, "fakeipvsadm: %v\n", err)
		return 1
	}
	cmd, err := ipvsadm.ParseArgs(args)
	if err != nil {
		return fail(stderr, err)
	}
	t, err := tablefile.Open(env("FAKEIPVSADM_STATE", "ipvsadm.state"))
	if err != nil {
		// Where ipvsadm cannot reach IPVS at all.
		fmt.Fprintf(stderr, "Can't initialize ipvs: %v\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", err)
		return 2
	}
	if cmd.Op != ipvsadm.OpList {
		if err := cmd.Apply(t); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	vs, err := t.List()
	if err != nil {
		fmt.Fprintf(stderr, "Memory allocation problem: %v\n", err)
		return 1
	}
	if cmd.HasService {
		vs = only(vs, cmd.Service)
		if vs == nil {
			fmt.Fprintln(stderr, "No such service")
			return 1
		}
	}
	text := ipvsadm.Format(vs, cmd.Thresholds)
	if cmd.HasService {
		// ipvsadm -L -t ... prints no version line.
		_, text, _ = strings.Cut(text, "\n")
	}
	io.WriteString(stdout, text)
	return 0
}

func only(vs []kernel.Virtual, s kernel.Service) []kernel.Virtual {
	for _, v := range vs {
		if v.Service.Key() == s.Key() {
			return []kernel.Virtual{v}
		}
	}
	return nil
}

func fail(stderr io.Writer, err error) int {
	var ie *ipvsadm.Error
	if errors.As(err, &ie) {
		fmt.Fprintln(stderr, ie.Message)
		return ie.Status
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// logCall appends the command line as one line; a single write to an
// O_APPEND file keeps lines of concurrent calls whole.
func logCall(path string, args []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("call log: %w", err)
	}
	_, err = f.WriteString(strings.Join(args, " ") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("call log %s: %w", path, err)
	}
	return nil
}
