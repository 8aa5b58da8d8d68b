// Package checks owns the health checks of real servers: one function per
// check type and per negotiate service, all of one shape, found through one
// registry. A check takes its deadline from the context and returns a verdict
// with a reason an operator can read in the log, the monitorfile and the
// status output.
//
// Each check does what the check_* function of the Perl ldirectord does:
// what it sends, which login it tries, what counts as alive. Where this
// package differs, on purpose:
//   - external-perl runs the script with perl in a process of its own
//     instead of evaluating it inside the daemon; the arguments and the
//     exit-status contract are those of external.
//   - receive is a Go (RE2) regexp; $ also matches before a final
//     newline, as in Perl. Back-references and look-arounds are refused.
//   - dns without receive is up on any address or name in the answer;
//     Perl's matches nothing then and is always down.
//   - dns asks for the AAAA records of a name when no A record matches;
//     Perl's asks for A only, whatever the real server's address family.
//   - ftp with an empty receive asks that the file could be fetched
//     (Perl's empty pattern reuses whatever pattern last matched).
//   - ftp without a request is down, as Perl's, whose fetch of "/" fails;
//     but Perl's is up when receive matches an empty file, even with the
//     real server down.
//   - http with a full URL in request sends that URL's host as Host
//     (ldirectord(8) says so; the Perl code sends the real's address).
//   - ping tries CheckCount times, each bounded by the timeout, all within
//     the context: give the context CheckCount times the timeout.
//   - https verifies no certificate, as ldirectord asks of LWP
//     (verify_hostname => 0); LWP on Debian 12 still checks the chain
//     against the trusted CAs, so Perl marks a self-signed real down.
//   - every check stops at the context's deadline and reads a bounded
//     number of bytes, which Perl's HTTP and FTP checks do not.
//   - pop without a login still asks for a +OK greeting (Perl's says up
//     on any answer, -ERR and garbage included); with a login it tries
//     each way once, where Perl's tries the whole login a second time on
//     the same connection, and it sends no STAT, whose answer Perl
//     ignores.
package checks

import (
	"context"
	"net/netip"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Target is everything a check needs to know about the real server it judges.
type Target struct {
	Addr     netip.Addr
	Port     uint16 // checkport when set, else the real server's port
	Protocol conf.Protocol
	// VirtualAddr and VirtualPort are passed to external check commands.
	VirtualAddr netip.Addr
	VirtualPort uint16
	// FWMark is the virtual's firewall mark, passed to external check
	// commands in place of its address; 0 unless a firewall-mark service.
	FWMark     uint32
	Check      conf.Check // settings, with per-real request/receive already applied
	CheckCount int
	// Timeout is the bound from connect to verdict: checktimeout for
	// connect-like checks, negotiatetimeout for negotiate checks. The
	// context carries the same deadline.
	Timeout time.Duration
}

// Result is a check's verdict.
type Result struct {
	Up     bool
	Reason string
	// DirectorFault says the check could not be done because the
	// director itself ran short of open files, socket buffers or
	// memory: the verdict, down, says nothing about the real server,
	// and the daemon keeps the real's state as it was.
	DirectorFault bool
	// Duration is how long the check took. The runner that calls a check
	// stamps it, the one place that sees the whole call; checks leave it
	// zero.
	Duration time.Duration
}

// Func is the shape of every check.
type Func func(ctx context.Context, t Target) Result
