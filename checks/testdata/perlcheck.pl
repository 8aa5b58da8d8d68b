#!/usr/bin/perl
# perlcheck.pl runs one check of the installed Perl ldirectord against one
# real server and prints "up" or "down". It loads ldirectord's functions
# without its main program, so the verdict is Perl's own code's.
#
# Usage: perlcheck.pl key=value ...  (checktype, service, protocol,
# server, port, request, receive, login, passwd, httpmethod, virtualhost,
# timeout)
use strict;
no warnings;

my %a = map { /^([^=]+)=(.*)$/s ? ($1, $2) : die "bad argument $_\n" } @ARGV;
my $path = $ENV{LDIRECTORD} || '/usr/sbin/ldirectord';
open(my $f, '<', $path) or die "open $path: $!\n";
my $src = do { local $/; <$f> };
close($f);
# Drop the main program, which runs between the option parsing and the
# first function definition.
$src =~ s/^my \@OLD_ARGV.*?(?=^sub )//ms or die "cannot find the main program of $path\n";
$src =~ s/^__END__.*//ms;
{
	local @ARGV = ();
	eval "package main; $src; 1" or die "load $path: $@\n";
}

my $state = "none";
{
	no strict 'refs';
	*{"main::service_set"} = sub { $state = $_[2]; };
	*{"main::ld_log"} = sub { };
	*{"main::ld_debug"} = sub { };
}
$main::HOSTNAME = $ENV{HOSTNAME} || (POSIX::uname())[1];

my $v = {
	checktype => $a{checktype} || "negotiate",
	service => $a{service}, protocol => $a{protocol} || "tcp",
	server => $a{vserver} || "192.0.2.10", port => $a{vport} || 80,
	request => $a{request} // "/", receive => $a{receive} // "",
	login => $a{login} // "", passwd => $a{passwd} // "", database => "",
	httpmethod => $a{httpmethod} || "GET", secret => "",
	checktimeout => $a{timeout}, negotiatetimeout => $a{timeout},
	checkcount => 1, failurecount => 1, num_connects => 0,
	scheduler => "wrr", ops => "no", checkcommand => "/bin/true",
};
$v->{virtualhost} = $a{virtualhost} if defined $a{virtualhost};
$v->{login} = "anonymous" if $v->{service} eq "ftp" && $v->{login} eq "";
$v->{passwd} = "ldirectord\@$main::HOSTNAME" if $v->{service} eq "ftp" && $v->{passwd} eq "";
$v->{request} = "/" . $v->{request} unless $v->{request} =~ /^\//;
my $r = { server => $a{server}, port => $a{port}, forward => "gate", weight => 1 };
$v->{real} = [$r];
@main::VIRTUAL = ($v);
main::ld_setup();
main::_check_real($v, $r);
print "$state\n";
