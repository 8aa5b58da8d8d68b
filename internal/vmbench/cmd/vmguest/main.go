// Command vmguest is the in-VM side of the peer benchmark: vmbench.Run
// copies it into the VM and runs it there with a parameters file.
package main

import (
	"os"

	"github.com/ldirectord-go/ldirectord/internal/vmbench"
)

func main() {
	os.Exit(vmbench.GuestMain(os.Args[1:]))
}
