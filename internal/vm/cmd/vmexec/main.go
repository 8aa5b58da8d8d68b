// Command vmexec runs a program, typically a package's compiled test
// binary, inside the real-kernel VM and exits with its status. It is made
// for go test's -exec flag:
//
//	CGO_ENABLED=0 go test -exec "go run github.com/ldirectord-go/ldirectord/internal/vm/cmd/vmexec" ./kernel/
//
// or through internal/vm/vmexec.sh. The package's testdata directory, if
// any, goes along, and the program runs beside it as it would on the host.
// vm.GuestEnv is set in the guest.
package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

// guestDir is where the package's directory is recreated in the guest.
const guestDir = "/pkg"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmexec PROGRAM [ARG...]: runs a static PROGRAM inside the IPVS test VM")
		os.Exit(2)
	}
	prog := os.Args[1]
	files, err := testdata()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmexec:", err)
		os.Exit(1)
	}
	res, err := vm.Run(context.Background(), vm.Options{
		Binaries: []string{prog},
		Files:    files,
		Command:  "/bin/" + filepath.Base(prog),
		Args:     os.Args[2:],
		Dir:      guestDir,
		Timeout:  30 * time.Minute,
	})
	fmt.Print(res.Output)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmexec:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "vmexec: %s ran in the VM in %s, exit status %d\n", filepath.Base(prog), res.Duration.Round(time.Millisecond), res.ExitCode)
	os.Exit(res.ExitCode)
}

// testdata maps the working directory's testdata files into the guest.
func testdata() (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == "testdata" {
				return fs.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			files[path.Join(guestDir, filepath.ToSlash(p))] = abs
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collecting testdata: %w", err)
	}
	return files, nil
}
