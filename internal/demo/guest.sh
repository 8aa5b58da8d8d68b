#!/bin/sh
# The demo's guest side. It runs as the VM's command: it builds three real
# HTTP servers and a fallback server in network namespaces, starts our
# ldirectord in the foreground, then kills and restarts servers and waits for
# the daemon to bring the kernel's IPVS table in step each time.
#
# Every line meant for the host starts with "@demo <kind> ": say (narration),
# table/row/end (an `ipvsadm -Ln` listing, printed whenever it changes),
# answer (a request through the virtual service), reached (a step done, with
# the seconds it took), note, log and fail. Anything else on the console is
# the kernel's or init's and is not shown.

set -u
IP=/usr/sbin/ip
VIP=192.0.2.80
CFG=/demo/demo.cf
LOG=/tmp/ldirectord.log
STEP_LIMIT=${DEMO_STEP_LIMIT:-30}
QUIESCENT=${DEMO_QUIESCENT:-1}

say()  { echo "@demo say $*"; }
note() { echo "@demo note $*"; }

DAEMON=
fail() {
	echo "@demo fail $*"
	echo "@demo note the daemon's log, last lines ($LOG):"
	if [ -s "$LOG" ]; then
		tail -n 40 "$LOG" | sed 's/^/@demo log /'
	else
		echo "@demo log (empty)"
	fi
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
	exit 1
}

now() { cut -d' ' -f1 /proc/uptime; }

# state reduces a listing to what the steps wait for: the virtual service,
# then each real server as address=weight, sorted.
state() {
	echo "$1" | awk '$1=="TCP"||$1=="UDP"||$1=="FWM" {print $2}' | xargs
	echo "$1" | awk '$1=="->" && $2!="RemoteAddress:Port" {print $2 "=" $4}' | sort | xargs
}

# await prints the table each time it changes until its state is WANT.
LAST=none
await() {
	name=$1
	want=$2
	start=$(now)
	while :; do
		cur=$(ipvsadm -Ln) || fail "ipvsadm -Ln failed"
		got=$(state "$cur" | xargs)
		# Connection counters change too; only servers and weights count.
		if [ "$got" != "$LAST" ]; then
			LAST=$got
			echo "@demo table $(now)"
			echo "$cur" | sed 's/^/@demo row /'
			echo "@demo end"
		fi
		took=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
		if [ "$got" = "$want" ]; then
			echo "@demo reached $name $took"
			return 0
		fi
		if [ -n "$DAEMON" ] && ! kill -0 "$DAEMON" 2>/dev/null; then
			fail "ldirectord exited while waiting for: $want"
		fi
		if awk -v t="$took" -v l="$STEP_LIMIT" 'BEGIN { exit !(t > l) }'; then
			fail "after ${took}s the table is [$got], expected [$want]"
		fi
		sleep 0.2
	done
}

# ask makes one request through the virtual service on a new connection.
# busybox wget -T crashes, hence timeout.
ask() {
	body=$(timeout 5 wget -q -O - "http://$VIP/" 2>&1) || body="no answer ($body)"
	echo "@demo answer $body"
}

# reload sends SIGHUP with quiescent set to $1 and waits until the daemon
# logs that it took the new configuration.
reload() {
	sed "s/^quiescent = .*/quiescent = $1/" "$CFG" >/tmp/new.cf && cat /tmp/new.cf >"$CFG"
	before=$(grep -c "configuration reloaded" "$LOG")
	kill -HUP "$DAEMON"
	i=0
	while [ "$(grep -c "configuration reloaded" "$LOG")" = "$before" ]; do
		i=$((i + 1))
		[ $i -gt $((STEP_LIMIT * 5)) ] && fail "no \"configuration reloaded\" in the log ${STEP_LIMIT}s after SIGHUP"
		sleep 0.2
	done
	note "reloaded with quiescent = $1"
}

run() { "$@" >/tmp/setup.log 2>&1 || fail "$* failed: $(cat /tmp/setup.log)"; }

# server n name: a namespace with 10.2.n.2 on a veth to the director's
# 10.2.n.1, and busybox httpd serving a page that names it.
server() {
	n=$1
	ns=$2
	run $IP netns add "$ns"
	run $IP link add "vh$n" type veth peer name "vr$n"
	run $IP link set "vr$n" netns "$ns"
	run $IP addr add "10.2.$n.1/24" dev "vh$n"
	run $IP link set "vh$n" up
	run $IP -n "$ns" addr add "10.2.$n.2/24" dev "vr$n"
	run $IP -n "$ns" link set "vr$n" up
	run $IP -n "$ns" link set lo up
	run $IP -n "$ns" route add default via "10.2.$n.1"
	mkdir -p "/srv/$ns"
	if [ "$ns" = sorry ]; then
		echo "sorry, every real server is down" >"/srv/$ns/index.html"
	else
		echo "OK from $ns" >"/srv/$ns/index.html"
	fi
	start_server "$ns"
}

start_server() { run $IP netns exec "$1" busybox httpd -p 80 -h "/srv/$1"; }
kill_server() { $IP netns pids "$1" | xargs -r kill; }

# Which real servers are in, as the table shows them.
ALL="$VIP:80 10.2.1.2:80=1 10.2.2.2:80=1 10.2.3.2:80=1"
NO_RS2="$VIP:80 10.2.1.2:80=1 10.2.3.2:80=1"
RS2_ZERO="$VIP:80 10.2.1.2:80=1 10.2.2.2:80=0 10.2.3.2:80=1"
FALLBACK="$VIP:80 10.2.4.2:80=1"
EMPTY=""

say "Setting up: virtual IP $VIP on a dummy interface; real servers rs1, rs2, rs3 (10.2.1.2, 10.2.2.2, 10.2.3.2) and the fallback server (10.2.4.2) in network namespaces, each running busybox httpd."
run $IP link add vip0 type dummy
run $IP link set vip0 up
run $IP addr add "$VIP/32" dev vip0
echo 1 >/proc/sys/net/ipv4/ip_forward
server 1 rs1
server 2 rs2
server 3 rs3
server 4 sorry
note "ldirectord's configuration ($CFG):"
sed 's/^/@demo conf /' "$CFG"

say "Starting ldirectord -d $CFG start (in the foreground; its log goes to $LOG). It checks each real server over HTTP every second."
ldirectord -d "$CFG" start >"$LOG" 2>&1 &
DAEMON=$!
await all-up "$ALL"
say "All three real servers answer their check and are in the table. Three requests through the virtual service:"
ask
ask
ask

say "Killing rs2's web server. Its next check fails and ldirectord takes it out of the table."
kill_server rs2
await rs2-out "$NO_RS2"
ask

say "Starting rs2's web server again. Its check passes and ldirectord puts it back."
start_server rs2
await rs2-back "$ALL"

if [ "$QUIESCENT" = 1 ]; then
	say "Now with quiescent = yes (ldirectord reloads its configuration on SIGHUP): rs2 killed again stays in the table with weight 0, so it takes no new connections but its existing ones are not cut."
	reload yes
	kill_server rs2
	await rs2-quiesced "$RS2_ZERO"
	start_server rs2
	await rs2-unquiesced "$ALL"
	reload no
fi

say "Killing all three real servers. With none left, ldirectord puts the fallback server in."
kill_server rs1
kill_server rs2
kill_server rs3
await fallback-in "$FALLBACK"
ask

say "Stopping ldirectord (SIGTERM). With cleanstop (the default) it removes its virtual service."
kill "$DAEMON"
wait "$DAEMON"
code=$?
DAEMON=
await stopped "$EMPTY"
[ "$code" = 0 ] || fail "ldirectord exited with status $code after SIGTERM, expected 0"
echo "@demo done"
