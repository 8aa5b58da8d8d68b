package kernel

import (
	"errors"
	"testing"
)

func TestMemoryFailNext(t *testing.T) {
	m := NewMemory()
	boom := errors.New("boom")
	m.FailNext(2, boom)
	if _, err := m.List(); !errors.Is(err, boom) {
		t.Fatalf("List: got %v, want boom", err)
	}
	if err := m.AddService(svcTCP("10.0.0.1", 80)); !errors.Is(err, boom) {
		t.Fatalf("AddService: got %v, want boom", err)
	}
	if got, _ := m.List(); len(got) != 0 {
		t.Fatalf("a failed call changed the table: %v", got)
	}
	if err := m.AddService(svcTCP("10.0.0.1", 80)); err != nil {
		t.Fatalf("third call: %v, want success", err)
	}
	if m.Writes() != 1 {
		t.Errorf("Writes = %d, want 1", m.Writes())
	}
}
