package vmbench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// realsPrefix holds every real server's address; the guest routes it to
// lo as local, so that one process can listen on all of them.
const realsPrefix = "10.1.0.0/16"

// realAddr is the i-th real server.
func realAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)}), 80)
}

// virtualAddr is the i-th virtual service. No packet is sent to it: the
// checks go to the reals directly.
func virtualAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)}), 80)
}

// response is what every real answers to any request: ldirectord's
// negotiate check looks for "ok", keepalived's HTTP_GET for status 200.
var response = []byte("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

// farm is the real servers: one listener each, all served by this process.
type farm struct {
	mu        sync.Mutex
	listeners []net.Listener
	silent    []atomic.Bool // black-holed: accept, never answer
	done      chan struct{} // closed by close: silent connections end
	wg        sync.WaitGroup
	// checks counts the checks the reals served: requests answered, and
	// connections closed before any request (connect checks). A peer
	// that falls behind its schedule makes fewer than it schedules.
	checks atomic.Int64
}

func startFarm(n int) (*farm, error) {
	f := &farm{silent: make([]atomic.Bool, n), done: make(chan struct{})}
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", realAddr(i).String())
		if err != nil {
			f.close()
			return nil, fmt.Errorf("real server %d of %d at %s: %w", i+1, n, realAddr(i), err)
		}
		f.listeners = append(f.listeners, l)
		f.wg.Add(1)
		go f.serve(l, &f.silent[i])
	}
	return f, nil
}

func (f *farm) serve(l net.Listener, silent *atomic.Bool) {
	defer f.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors, say
			continue
		}
		go f.answer(c, silent)
	}
}

// answer reads the request head and answers it; a bare connect (a connect
// check) just ends. A silent real holds the connection and says nothing.
func (f *farm) answer(c net.Conn, silent *atomic.Bool) {
	defer c.Close()
	if silent.Load() {
		<-f.done
		return
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 1024)
	for !bytes.Contains(buf, []byte("\r\n\r\n")) && len(buf) < 16<<10 {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			// A connect check closes (or resets) without a word; a
			// deadline met is no check.
			if len(buf) == 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
				f.checks.Add(1)
			}
			return
		}
	}
	if _, err := c.Write(response); err == nil {
		f.checks.Add(1)
	}
}

// kill closes the listeners of the reals given: from then on they refuse
// connections.
func (f *farm) kill(reals []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range reals {
		f.listeners[i].Close()
	}
}

// revive listens again at the reals given (killed before): from then on
// they answer.
func (f *farm) revive(reals []int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range reals {
		l, err := net.Listen("tcp", realAddr(i).String())
		if err != nil {
			return fmt.Errorf("real server %d at %s, listening again: %w", i, realAddr(i), err)
		}
		f.listeners[i] = l
		f.wg.Add(1)
		go f.serve(l, &f.silent[i])
	}
	return nil
}

// blackHole makes the reals given accept connections and never answer:
// a negotiate check times out, as behind a firewall that drops packets.
func (f *farm) blackHole(reals []int) {
	for _, i := range reals {
		f.silent[i].Store(true)
	}
}

// unsilence makes the reals given (black-holed before) answer new
// connections again; those they held stay silent until close.
func (f *farm) unsilence(reals []int) error {
	for _, i := range reals {
		f.silent[i].Store(false)
	}
	return nil
}

func (f *farm) close() {
	close(f.done)
	f.mu.Lock()
	for _, l := range f.listeners {
		l.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// victims picks k reals spread evenly over n, from the first on; with
// shifted set, from half a step on, none of the first set. Round r moves
// every victim r reals on (modulo n): other victims for each round, as
// long as there are reals left between the first round's.
func victims(n, k int, shifted bool, round int) []int {
	out := make([]int, 0, k)
	for j := 0; j < k; j++ {
		i := j * n / k
		if shifted {
			i = (2*j + 1) * n / (2 * k)
		}
		out = append(out, (i+round)%n)
	}
	return out
}
