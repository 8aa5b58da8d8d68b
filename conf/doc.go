// Package conf owns the ldirectord configuration language: it reads a
// configuration file into a typed, validated model with every default
// resolved, so that no other package ever looks at configuration text.
//
// Load and Parse read a file; Options changes the resolver, the host name
// used in default logins, and the configuration name. Format prints the
// effective configuration back in the language (ldirectord --check), and
// Locate finds the file the way ldirectord does.
//
// # The language
//
// A line is "directive = value", blanks and tabs allowed around '='. A '#'
// that starts a word outside quotes begins a comment. A value may be quoted
// with "..." or '...'. "virtual = ..." and "virtual6 = ..." open a block;
// its lines are indented by at least 4 columns (a tab counts 4) and the
// block ends at the next unindented directive. Blank and comment lines do
// not end a block.
//
// # Where this parser differs from the Perl ldirectord 4.12
//
// It accepts everything the Perl one builds a service from, with the same
// result, except where the Perl result is plainly wrong; and it refuses, with
// a message, what the Perl one silently misreads. In detail:
//
//   - Values are whole: "checktimeout = 5s" is an error, where the Perl
//     regular expressions take the first digits ("5") and ignore the rest;
//     the same holds for every number, yes/no and name.
//   - Quotes are optional everywhere. The Perl one requires them for
//     callback, logfile, request, receive, login, passwd, database, secret
//     and load (an unquoted one is an "Unknown command"), and keeps them as
//     part of the value for servicename, comment, execute and a global
//     fallbackcommand. emailalertfrom keeps its quotes, as the page says.
//   - '#' starts a comment only at the start of a word and outside quotes,
//     on every line. The Perl one cuts block lines at any '#' (so
//     receive = "#1" breaks) and never cuts global lines (so
//     "autoreload = yes # x" is an error there).
//   - A blank line inside a block does not end it; in Perl it does, and the
//     indented lines after it become "Unknown command" errors.
//   - The connection thresholds of a real line may be written as the page
//     shows, "<l:N>" "<u:N>", or bare <l:N>, l:N. The Perl one reads only
//     l:N and u:N, and takes a quoted "<l:N>" "<u:N>" pair for a request
//     and receive.
//   - "virtual = 10.0.0.1" (no port) is an error; Perl reads firewall mark
//     10. A firewall mark must be from 1 to 4294967295; Perl accepts 0.
//   - A global fallback applies to firewall-mark services too, with its
//     port or 0; in Perl it becomes an empty address there ("-r :0").
//   - checktype = 0 is an error (Perl's own message asks for a positive
//     number). The page's "checktimeoutN" spelling is accepted as N.
//   - persistent must be 1 to 2678400 seconds, as ipvsadm requires; a
//     netmask must be contiguous; a real server may appear once per
//     virtual service; protocol fwm on an address service, and ops on a
//     TCP or firewall-mark service, are errors (Perl ignores ops there).
//   - checkinterval in a virtual block applies whatever fork says; Perl
//     honours it only with fork = yes. Every real server has its own timer
//     here, so there is no shared loop to set the pace.
//   - connecttimeout is accepted globally, unused, as the older page says;
//     the Perl one refuses it. readdquiescent and emailalertfrom may also
//     be set per virtual service.
//   - The ftp and sip default logins and the ftp password apply whenever
//     the service is ftp or sip; Perl sets them only when "service =" is
//     written, not when the service comes from the port.
//   - Check.Request holds the request as written (with a leading '/' for
//     http and https); Perl prepends '/' to every request and each check
//     but HTTP's strips it again.
//   - An http_proxy request (the block's or a real's) that is not an
//     absolute http or https URL is an error; Perl checks with it and
//     every check fails.
//   - A global fallback's service name is resolved once for either protocol;
//     Perl resolves it for tcp and for udp separately.
//   - Nothing is opened while parsing: Perl creates the monitorfile and
//     opens the logfile and syslog, and warns about a missing
//     maintenancedir; here those belong to the daemon.
//   - Every error of a file is reported, not only the first.
//
// # Extensions
//
// rise, slowstart, failopen, flapdamping and checkjitter (global defaults,
// overridable per virtual), sharedchecks and metrics (global) are this
// implementation's own; the Perl ldirectord refuses a file with any of
// them, so each warns wherever it stands. Each is off at the zero value of
// its field (rise = 1 is stored as 0), and Format prints them only when
// they are on, or in a block that differs from the global value, so a Perl
// configuration prints as before. Times are whole seconds written as the
// other directives write them (30) or with Go's units (30s, 2m), at most an
// hour; shares are written with their '%'. A flapdamping that can never act
// (more than its count of changes cannot fit in its window at the
// checkinterval and checkjitter that apply) is an error where it is set, and
// a warning on a block that inherits it; an extension set in a block with
// checktype = on or off warns that it has no effect.
package conf
