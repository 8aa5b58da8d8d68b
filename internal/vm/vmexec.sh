#!/bin/sh
# vmexec.sh PROGRAM [ARG...]: run a static program (a `go test -c` binary)
# inside the IPVS test VM, for go test's -exec flag:
#   CGO_ENABLED=0 go test -exec "$PWD/internal/vm/vmexec.sh" ./kernel/
# The binary must be static: go test builds it before calling us, so
# CGO_ENABLED=0 has to be set for go test itself.
# go test runs us in the package's directory, inside the module. go run
# would turn every failing exit status into 1: build, then run.
dir=$(mktemp -d) || exit 1
go build -o "$dir/vmexec" github.com/ldirectord-go/ldirectord/internal/vm/cmd/vmexec || { rm -rf "$dir"; exit 1; }
"$dir/vmexec" "$@"
rc=$?
rm -rf "$dir"
exit $rc
