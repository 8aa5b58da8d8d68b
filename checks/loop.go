package checks

// A Loop runs the checks that need nothing but a socket of their own, TCP
// connect checks and http checks of a path on the real server (the lean
// lane of httplean.go), on one goroutine over epoll, as keepalived's
// checker does. Run on a goroutine each, with the runtime's netpoller,
// timers and scheduler under every one, such checks cost a director with
// one CPU more than twice what keepalived spends on the same checks, most
// of it beside the kernel's own work (BENCHMARKS.md, "Inside the VM"). Go
// gives no way to wait on many sockets from one goroutine but epoll
// itself, so the loop speaks to the kernel directly; the sockets never
// meet the runtime's netpoller. The loop keeps the probers' schedule too
// (Timer), so that a check starts where its socket will be watched,
// without a goroutine of its own.
//
// The loop gives the verdict and the reason that Run gives, word for
// word: it reads only what the lean lane reads, and hands any other answer
// (a redirect, a partial answer at the deadline, a read error) on to the
// http client on a goroutine of its own, with the bytes read so far, as
// the lean lane does.

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Loop runs checks over one epoll instance; see the top of loop.go.
type Loop struct {
	epfd int
	// The epoll instance is itself waited on through the runtime's
	// netpoller, as any socket is: a loop blocked in epoll_wait would
	// leave the runtime's monitor thread retaking its processor and
	// then polling every 20 us for a while each time it wakes, which on
	// a director with one CPU cost more than the checks.
	file *os.File
	raw  syscall.RawConn

	mu      sync.Mutex
	pending map[int32]*Pending // by socket
	due     byTime[*Pending]
	timers  byTime[*Timer]
	// sleep is the deadline the loop waits for (unix nanoseconds): 0
	// while it waits for events only.
	sleep  int64
	closed bool
	done   chan struct{}
	events []syscall.EpollEvent
	ended  []verdict
}

// Pending is a check the loop runs.
type Pending struct {
	l        *Loop
	fd       int
	c        *LoopCheck
	deadline time.Time
	finish   func(Result, bool)
	index    int // in the loop's heap
	ended    bool
	// Of a check handed to the http client: handed says it was,
	// stopped that Cancel came since, and stopClient (once the client
	// runs) ends the client's work. Under the loop's mu.
	handed     bool
	stopped    bool
	stopClient context.CancelFunc

	http  bool
	state int
	small *[smallAnswer]byte
	large *[leanBufferSize]byte
	n     int
	a     answer
}

const (
	connecting = iota
	writing
	reading
)

// NewLoop starts a loop.
func NewLoop() (*Loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("check loop: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("check loop: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "check loop")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("check loop: %w", err)
	}
	l := &Loop{epfd: epfd, file: f, raw: raw, pending: map[int32]*Pending{}, done: make(chan struct{}),
		events: make([]syscall.EpollEvent, 256)}
	go l.run()
	return l, nil
}

// Close ends the checks in flight, canceled, and the loop.
func (l *Loop) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	var ended []*Pending
	for _, p := range l.pending {
		l.end(p)
		ended = append(ended, p)
	}
	_ = l.file.SetReadDeadline(time.Unix(1, 0))
	l.mu.Unlock()
	for _, p := range ended {
		p.finish(down("check canceled"), true)
	}
	<-l.done
	l.file.Close()
}

// A LoopCheck is a check the loop can run, made once (Plan) and started
// every round (Run): what loopable finds of a target does not change
// between its checks.
type LoopCheck struct {
	t       *Target
	tpl     *requestTemplate // nil for a connect check
	receive *regexp.Regexp
}

// Plan makes the check of t for the loop, or returns nil when the loop does
// not run such checks (see loopable). t must not change while the check
// is planned: the plan keeps it, as its prober keeps one target for every
// round.
func (l *Loop) Plan(t *Target) *LoopCheck {
	tpl, receive, ok := loopable(*t)
	if !ok {
		return nil
	}
	return &LoopCheck{t: t, tpl: tpl, receive: receive}
}

// loopable says whether the loop runs the check of t: a TCP connect check,
// or an http check of a path on a real server addressed by IP, whose
// request and receive the lean lane takes.
func loopable(t Target) (*requestTemplate, *regexp.Regexp, bool) {
	if !t.Addr.IsValid() || t.Addr.Zone() != "" || t.Port == 0 || t.Timeout <= 0 {
		return nil, nil, false
	}
	switch t.Check.Type {
	case conf.CheckConnect:
		return nil, nil, t.Protocol != conf.UDP
	case conf.CheckNegotiate:
	default:
		return nil, nil, false
	}
	if t.Check.Service != conf.ServiceHTTP || strings.Contains(t.Check.Request, "http://") {
		return nil, nil, false
	}
	receive, err := compileReceive(t.Check.Receive)
	if err != nil {
		return nil, nil, false
	}
	tpl := requestFor(t.Check)
	return tpl, receive, tpl != nil
}

// Run starts c, to end within its timeout. finish is called once with the
// verdict Run would give, and whether the check was canceled (by Cancel or
// Close): on the loop's goroutine, on Run's when the check ends at once,
// or on a goroutine of its own for an answer the http client reads. It
// must not block.
func (l *Loop) Run(c *LoopCheck, finish func(r Result, canceled bool)) *Pending {
	t := c.t
	p := &Pending{l: l, c: c, deadline: time.Now().Add(t.Timeout), finish: finish, index: -1, http: c.tpl != nil}
	if c.tpl != nil {
		p.a = answer{head: c.tpl.head}
	}
	family := syscall.AF_INET
	if t.Addr.Is6() && !t.Addr.Is4In6() {
		family = syscall.AF_INET6
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(family), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if e != 0 {
		p.fd, p.ended = -1, true
		finish(p.failed("socket", e), false)
		return p
	}
	p.fd = int(r)
	if e := p.connect(); e != 0 && e != syscall.EINPROGRESS {
		rawClose(p.fd)
		p.ended = true
		finish(p.failed("connect", e), false)
		return p
	}
	l.mu.Lock()
	if l.closed {
		p.ended = true
		l.mu.Unlock()
		rawClose(p.fd)
		finish(down("check canceled"), true)
		return p
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | -syscall.EPOLLET, Fd: int32(p.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, p.fd, &ev); err != nil {
		p.ended = true
		l.mu.Unlock()
		rawClose(p.fd)
		finish(p.failed("connect", err.(syscall.Errno)), false)
		return p
	}
	l.pending[int32(p.fd)] = p
	heap.Push(&l.due, p)
	l.wakeBy(p.deadline)
	l.mu.Unlock()
	return p
}

// wakeBy makes the loop wake by at, if it would sleep longer; the caller
// holds mu.
func (l *Loop) wakeBy(at time.Time) {
	if n := at.UnixNano(); l.sleep == 0 || n < l.sleep {
		l.sleep = n
		_ = l.file.SetReadDeadline(at)
	}
}

// Cancel ends the check, canceled, unless it has ended.
func (p *Pending) Cancel() {
	l := p.l
	l.mu.Lock()
	if p.handed {
		// The client has the check: it ends it, canceled.
		p.stopped = true
		stop := p.stopClient
		l.mu.Unlock()
		if stop != nil {
			stop()
		}
		return
	}
	if p.ended || p.fd < 0 {
		l.mu.Unlock()
		return
	}
	l.end(p)
	l.mu.Unlock()
	p.finish(down("check canceled"), true)
}

// end takes p out of the loop and closes its socket; the caller holds mu.
func (l *Loop) end(p *Pending) {
	p.ended = true
	delete(l.pending, int32(p.fd))
	if p.index >= 0 {
		heap.Remove(&l.due, p.index)
	}
	rawClose(p.fd)
	p.release()
}

// verdict is a check's end as the loop found it: the result, or a hand-off
// to the http client.
type verdict struct {
	p       *Pending
	r       Result
	handoff bool
	read    []byte
	err     error
}

func (l *Loop) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return
		}
		var next time.Time
		if len(l.due) > 0 {
			next = l.due[0].deadline
		}
		if len(l.timers) > 0 && (next.IsZero() || l.timers[0].at.Before(next)) {
			next = l.timers[0].at
		}
		// The deadline set stands until it passes: set again only
		// when it changes, as it is a timer of the runtime's.
		var n int64
		if !next.IsZero() {
			n = next.UnixNano()
		}
		if n != l.sleep {
			l.sleep = n
			_ = l.file.SetReadDeadline(next)
		}
		l.mu.Unlock()
		// Waits in the netpoller until the instance has events or the
		// deadline passes; the events are taken as they come.
		_ = l.raw.Read(func(uintptr) bool { return l.poll() })
		l.mu.Lock()
		now := time.Now()
		for len(l.due) > 0 && !l.due[0].deadline.After(now) {
			p := heap.Pop(&l.due).(*Pending)
			l.ended = append(l.ended, l.settle(p.expire()))
		}
		ended := l.ended
		l.ended = nil
		due := len(l.timers)
		l.mu.Unlock()
		for _, v := range ended {
			if v.handoff {
				go v.p.client(v.read, v.err)
			} else {
				v.p.finish(redacted(v.p.c.t, v.r), false)
			}
		}
		// The timers due fire one by one, each out of the heap before
		// its function runs: a function may set its timer again. No more
		// than were set fire in a pass, so that one set again to fire
		// at once waits for the next.
		for ; due > 0; due-- {
			l.mu.Lock()
			if len(l.timers) == 0 || l.timers[0].at.After(now) {
				l.mu.Unlock()
				break
			}
			t := heap.Pop(&l.timers).(*Timer)
			l.mu.Unlock()
			t.fn()
		}
	}
}

// A Timer runs a function on the loop's goroutine at the time Reset sets:
// a check scheduled there starts with no goroutine of its own and no
// timer of the runtime's for each, which on a director with one CPU was
// much of what a check cost beside its system calls (BENCHMARKS.md).
// The function must not block: the loop's checks wait for it.
type Timer struct {
	l     *Loop
	fn    func()
	at    time.Time
	index int // in the loop's timer heap; -1 while not set
}

// NewTimer makes a timer that runs fn; it is not set.
func (l *Loop) NewTimer(fn func()) *Timer {
	return &Timer{l: l, fn: fn, index: -1}
}

// Reset sets t to fire d from now, in place of any time it was set to.
// After Close it does nothing.
func (t *Timer) Reset(d time.Duration) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	t.at = time.Now().Add(d)
	if t.index >= 0 {
		heap.Fix(&l.timers, t.index)
	} else {
		heap.Push(&l.timers, t)
	}
	l.wakeBy(t.at)
}

// Stop keeps t from firing. A function already taken to run still runs.
func (t *Timer) Stop() {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.index >= 0 {
		heap.Remove(&l.timers, t.index)
	}
}

// poll takes the events ready, without waiting, and says whether there
// were any. It holds mu from the wait to the last event: a socket closed
// and its number reused by Run in between would otherwise take the
// closed one's events.
func (l *Loop) poll() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := false
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		n := int(r)
		if e != 0 || n <= 0 {
			return got
		}
		got = true
		for _, ev := range l.events[:n] {
			if p := l.pending[ev.Fd]; p != nil {
				if v, done := p.safeAdvance(ev.Events); done {
					l.ended = append(l.ended, l.settle(v))
				}
			}
		}
		if n < len(l.events) {
			return got
		}
	}
}

// panicked is the verdict of a check whose code panicked: no verdict on
// the real, which keeps its state, as a check on a goroutine of its own
// that panics has its prober restarted with the state it kept.
func panicked(r any) Result {
	return Result{Reason: fmt.Sprintf("check panicked: %v", r), DirectorFault: true}
}

// safeAdvance is advance, with a panic of the check's code (a bug) made
// its verdict: on a goroutine of its own it would have reached the
// prober's supervisor; here it would end the loop and the daemon.
func (p *Pending) safeAdvance(ev uint32) (v verdict, done bool) {
	defer func() {
		if r := recover(); r != nil {
			v, done = verdict{p: p, r: panicked(r)}, true
		}
	}()
	return p.advance(ev)
}

// settle takes the check of v out of the loop; the caller holds mu.
func (l *Loop) settle(v verdict) verdict {
	if v.handoff {
		l.handOff(v.p)
	} else {
		l.end(v.p)
	}
	return v
}

// handOff takes p out of the loop but keeps its socket open for the
// client; the caller holds mu.
func (l *Loop) handOff(p *Pending) {
	p.ended, p.handed = true, true
	delete(l.pending, int32(p.fd))
	if p.index >= 0 {
		heap.Remove(&l.due, p.index)
	}
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, p.fd, nil)
}

// advance moves p on after the events ev; done says p has ended.
func (p *Pending) advance(ev uint32) (verdict, bool) {
	if p.state == connecting {
		if ev&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return verdict{}, false
		}
		if e := soError(p.fd); e != 0 {
			return verdict{p: p, r: p.failed("connect", e)}, true
		}
		if ev&syscall.EPOLLOUT == 0 {
			return verdict{}, false
		}
		if !p.http {
			return verdict{p: p, r: up("connected")}, true
		}
		p.state = writing
	}
	if p.state == writing {
		p.small = smallBuffers.Get().(*[smallAnswer]byte)
		req := p.c.tpl.appendTo(p.small[:0], p.c.t.Addr)
		w, e := rawWrite(p.fd, req)
		switch {
		case e == syscall.EAGAIN:
			p.release()
			return verdict{}, false
		case e != 0:
			return verdict{p: p, r: p.failed("write", e)}, true
		case w < len(req):
			// A request is a few hundred bytes, far below any socket
			// buffer of a fresh connection: this does not happen.
			return verdict{p: p, r: failure(context.Background(), *p.c.t, "waiting for HTTP response", io.ErrShortWrite)}, true
		}
		p.state = reading
	}
	return p.read()
}

// read reads what the server sent and judges it once whole.
func (p *Pending) read() (verdict, bool) {
	for {
		buf := p.buf()
		if p.n == len(buf) {
			if p.large != nil {
				return p.handoffRead(nil), true // too long for the lean lane
			}
			p.large = largeBuffers.Get().(*[leanBufferSize]byte)
			copy(p.large[:], buf)
			smallBuffers.Put(p.small)
			p.small = nil
			buf = p.large[:]
		}
		m, e := rawRead(p.fd, buf[p.n:])
		switch {
		case e == syscall.EAGAIN:
			return verdict{}, false
		case e != 0:
			return p.handoffRead(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}), true
		}
		p.n += m
		eof := m == 0
		switch p.a.advance(buf[:p.n], eof) {
		case answered:
			return verdict{p: p, r: p.a.judge(p.c.t, p.c.receive, buf[:p.n])}, true
		case unusual:
			return p.handoffRead(nil), true
		}
		if eof {
			return p.handoffRead(io.EOF), true
		}
	}
}

func (p *Pending) buf() []byte {
	if p.large != nil {
		return p.large[:]
	}
	if p.small == nil {
		p.small = smallBuffers.Get().(*[smallAnswer]byte)
	}
	return p.small[:]
}

// handoffRead hands p to the http client with what it read, then err.
func (p *Pending) handoffRead(err error) verdict {
	var read []byte
	if p.n > 0 {
		read = append([]byte(nil), p.buf()[:p.n]...)
	}
	p.release()
	return verdict{p: p, handoff: true, read: read, err: err}
}

// expire ends p at its deadline as a check on a goroutine ends at its
// context's: a timeout, or the client's reading of an answer begun.
func (p *Pending) expire() verdict {
	if p.state == reading && p.n > 0 {
		return p.handoffRead(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded})
	}
	doing := "connecting"
	if p.http {
		doing = "waiting for HTTP response"
	}
	return verdict{p: p, r: down(fmt.Sprintf("timeout after %s %s", p.c.t.Timeout, doing))}
}

// client finishes p's http check with the client, from the bytes read so
// far and then the socket, as leanHTTP does for answers it does not read.
func (p *Pending) client(read []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.finish(panicked(r), false)
		}
	}()
	ctx, cancel := context.WithDeadline(context.Background(), p.deadline)
	defer cancel()
	if p.clientCanceled(cancel) {
		rawClose(p.fd)
		p.finish(down("check canceled"), true)
		return
	}
	ctx, note := noting(ctx)
	f := os.NewFile(uintptr(p.fd), "check")
	c, ferr := net.FileConn(f)
	_ = f.Close()
	var r Result
	if ferr != nil {
		r = failure(ctx, *p.c.t, "waiting for HTTP response", ferr)
	} else {
		c = deadlined(ctx, c)
		u, _ := httpURL(*p.c.t, "http")
		r = fetch(ctx, *p.c.t, u, false, nil, &replay{Conn: c, read: read, err: err})
	}
	if p.clientCanceled(nil) {
		p.finish(down("check canceled"), true)
		return
	}
	p.finish(redacted(p.c.t, judged(r, note)), false)
}

// clientCanceled notes stop as the way to end the client's work on p, if
// not nil, and says whether p was canceled.
func (p *Pending) clientCanceled(stop context.CancelFunc) (canceled bool) {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	if stop != nil {
		p.stopClient = stop
	}
	return p.stopped
}

// failed is the verdict of a socket call that failed with e: the
// director's fault when it is short of resources, as Run marks it.
func (p *Pending) failed(call string, e syscall.Errno) Result {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(call, e)}
	doing := "connecting"
	if p.http {
		doing = "waiting for HTTP response"
	}
	if call == "write" {
		err.Op = "write"
	}
	r := failure(context.Background(), *p.c.t, doing, err)
	if directorShort(e) {
		r.DirectorFault = true
		r.Reason = directorFaultPrefix + r.Reason
	}
	return redacted(p.c.t, r)
}

// release gives p's buffers back.
func (p *Pending) release() {
	if p.small != nil {
		smallBuffers.Put(p.small)
		p.small = nil
	}
	if p.large != nil {
		largeBuffers.Put(p.large)
		p.large = nil
	}
}

func redacted(t *Target, r Result) Result {
	r.Reason = redact(r.Reason, t.Check.Passwd, t.Check.Secret)
	return r
}

func (p *Pending) connect() syscall.Errno {
	var sa unsafe.Pointer
	var size uintptr
	if p.c.t.Addr.Is6() && !p.c.t.Addr.Is4In6() {
		rsa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: p.c.t.Addr.As16()}
		rsa.Port = htons(p.c.t.Port)
		sa, size = unsafe.Pointer(&rsa), unsafe.Sizeof(rsa)
		_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(p.fd), uintptr(sa), size)
		return e
	}
	rsa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: p.c.t.Addr.Unmap().As4()}
	rsa.Port = htons(p.c.t.Port)
	sa, size = unsafe.Pointer(&rsa), unsafe.Sizeof(rsa)
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(p.fd), uintptr(sa), size)
	return e
}

// htons puts a port in network order, as a sockaddr holds it.
func htons(port uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&port))
	b[0], b[1] = byte(port>>8), byte(port)
	return port
}

func soError(fd int) syscall.Errno {
	var v int32
	l := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return syscall.Errno(v)
}

func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(r), e
}

func rawRead(fd int, b []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(r), e
}

func rawClose(fd int) {
	syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
}

// timed is what the loop's heaps hold: checks in flight by deadline,
// timers by the time they fire; each knows its place in its heap.
type timed interface {
	when() time.Time
	setIndex(int)
}

func (p *Pending) when() time.Time { return p.deadline }
func (p *Pending) setIndex(i int)  { p.index = i }
func (t *Timer) when() time.Time   { return t.at }
func (t *Timer) setIndex(i int)    { t.index = i }

// byTime is a container/heap of timed things, earliest first.
type byTime[T timed] []T

func (h byTime[T]) Len() int           { return len(h) }
func (h byTime[T]) Less(i, j int) bool { return h[i].when().Before(h[j].when()) }
func (h byTime[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setIndex(i)
	h[j].setIndex(j)
}
func (h *byTime[T]) Push(x any) {
	t := x.(T)
	t.setIndex(len(*h))
	*h = append(*h, t)
}
func (h *byTime[T]) Pop() any {
	old := *h
	t := old[len(old)-1]
	var none T
	old[len(old)-1] = none
	t.setIndex(-1)
	*h = old[:len(old)-1]
	return t
}
