package kernel_test

import (
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

func TestMemoryConformance(t *testing.T) {
	kerneltest.Conformance(t, func(*testing.T) kernel.Table { return kernel.NewMemory() })
}

func TestMemorySyncConformance(t *testing.T) {
	kerneltest.SyncConformance(t, kernel.NewMemory(), "eth0")
}
