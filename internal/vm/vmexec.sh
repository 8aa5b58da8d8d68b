#!/bin/sh
# vmexec.sh PROGRAM [ARG...]: run a static program (a `go test -c` binary)
# inside the IPVS test VM, for go test's -exec flag:
#   CGO_ENABLED=0 go test -exec "$PWD/internal/vm/vmexec.sh" ./kernel/
# The binary must be static: go test builds it before calling us, so
# CGO_ENABLED=0 has to be set for go test itself.
set -e
# go test runs us in the package's directory, inside the module.
exec go run github.com/ldirectord-go/ldirectord/internal/vm/cmd/vmexec "$@"
