# Every target installs what it needs: a fresh Debian machine with Go is enough.
SHELL := /bin/bash
GO ?= go
PREFIX ?= /usr
DESTDIR ?=
BIN := bin/ldirectord

# Debian packages the tests and the demo need. Helpers of each area add
# theirs here and nowhere else.
APT_PACKAGES := qemu-system-x86 busybox-static cpio ipvsadm iproute2 ldirectord keepalived \
	libmailtools-perl libwww-perl resource-agents libxml2-utils logrotate systemd man-db \
	dovecot-imapd dovecot-pop3d slapd ldap-utils mariadb-server postgresql freeradius sip-tester \
	vsftpd dnsmasq-base tinyproxy-bin exim4-daemon-light prometheus pacemaker-cli-utils

.PHONY: all build deps test unit vet fuzz vmtest demo bench install clean man deb soak

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/ldirectord

# deps installs the Debian packages once; a stamp keeps later runs quick.
deps: .deps.stamp
.deps.stamp: Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# unit runs every Go test, including those that boot the real-kernel VM.
unit: deps
	$(GO) test -race -count=1 -timeout 40m ./...

test: deps vet unit fuzz

# fuzz runs every fuzz target for a short fixed number of inputs (their
# seed corpora already run as plain tests in unit). A count, not a
# duration: when a duration runs out while a worker is busy, go test
# reports "context deadline exceeded" as a failure. FUZZTIME=5m hunts longer.
FUZZTIME ?= 100000x
FUZZ_TARGETS := conf:FuzzParse internal/ipvsadm:FuzzParse internal/ipvsadm:FuzzParseArgs \
	checks:FuzzIMAPReply checks:FuzzPOPReply checks:FuzzNNTPGreeting checks:FuzzSIPStatus \
	checks:FuzzMatchLines checks:FuzzQuote
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz ./$$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$pkg >/tmp/fuzz.$$$$.log 2>&1 || { cat /tmp/fuzz.$$$$.log; exit 1; }; \
		tail -n 1 /tmp/fuzz.$$$$.log; \
	done

# soak runs the soak test (internal/soak) for SOAK_TIME, an hour by
# default: 10,000 reals on the file table, 1 % flapping every second, a
# reload every minute, the daemon's goroutines, open files, RSS and heap
# printed every minute and held to bounds on their growth. unit runs it
# for 3 minutes at a checkinterval of 5 s.
SOAK_TIME ?= 1h
soak:
	SOAK_TIME=$(SOAK_TIME) SOAK_INTERVAL=1s $(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' ./internal/soak/

# vmtest runs the real-kernel tests (one VM boot per package: the harness's
# own, then kernel's) and the change-throughput benchmark in the VM,
# verbosely, each with its time.
vmtest: deps
	$(GO) test -count=1 -v -timeout 40m -run '^Test(VM|Run)' -bench '^BenchmarkVM$$' -benchtime 1x ./internal/vm/ ./kernel/...

demo: deps build
	$(GO) run ./cmd/lddemo -daemon $(BIN)

# bench runs the Go benchmarks once, then cmd/ldbench: ours beside the Perl
# ldirectord and the floor program (BENCHMARKS.md); BENCH_FLAGS tunes it.
BENCH_FLAGS ?=
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	$(GO) run ./cmd/ldbench -out .cache/bench-results.json $(BENCH_FLAGS)

# Where Debian's ldirectord package puts its files. /etc, /lib/systemd
# and /usr/lib/ocf (where Pacemaker looks) do not follow PREFIX; the scripts
# and units name the binary
# under PREFIX.
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= /lib/systemd/system
OCFDIR ?= /usr/lib/ocf/resource.d/ldirectord-go
MANPAGE := bin/ldirectord.8
VERSION ?= 0.1.0
GO_MD2MAN := github.com/cpuguy83/go-md2man/v2@v2.0.7
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

man: $(MANPAGE).gz
$(MANPAGE).gz: docs/ldirectord.8.md
	@mkdir -p bin
	$(GO) run $(GO_MD2MAN) -in $< -out $(MANPAGE)
	gzip -9 -n -c $(MANPAGE) > $@

# install_files copies the installed files under root $(1) with prefix $(2).
define install_files
	install -D -m 0755 $(BIN) $(1)$(2)/sbin/ldirectord
	install -D -m 0644 $(MANPAGE).gz $(1)$(2)/share/man/man8/ldirectord.8.gz
	install -d $(1)$(SYSTEMDDIR) $(1)$(OCFDIR) $(1)$(SYSCONFDIR)/ha.d/resource.d \
		$(1)$(SYSCONFDIR)/logrotate.d $(1)$(2)/share/doc/ldirectord/examples
	for f in systemd/ldirectord.service:$(SYSTEMDDIR)/ldirectord.service:0644 \
		systemd/ldirectord-notify.service:$(SYSTEMDDIR)/ldirectord-notify.service:0644 \
		ocf/ldirectord:$(OCFDIR)/ldirectord:0755 \
		heartbeat/ldirectord:$(SYSCONFDIR)/ha.d/resource.d/ldirectord:0755; do \
		IFS=: read -r src dst mode <<< "$$f"; \
		sed 's|/usr/sbin/ldirectord|$(2)/sbin/ldirectord|g' packaging/$$src > $(1)$$dst.new && \
		chmod $$mode $(1)$$dst.new && mv -f $(1)$$dst.new $(1)$$dst || exit 1; \
	done
	install -m 0644 packaging/logrotate/ldirectord $(1)$(SYSCONFDIR)/logrotate.d/ldirectord
	install -m 0644 packaging/examples/ldirectord.cf $(1)$(2)/share/doc/ldirectord/examples/ldirectord.cf
	@# An operator's configuration is never overwritten.
	test -e $(1)$(SYSCONFDIR)/ha.d/ldirectord.cf || \
		install -m 0644 packaging/examples/ldirectord.cf $(1)$(SYSCONFDIR)/ha.d/ldirectord.cf
endef

install: build man
	$(call install_files,$(DESTDIR),$(PREFIX))

# deb builds bin/ldirectord-go_$(VERSION)_<arch>.deb with nfpm (compiled
# from the Go module proxy) from exactly what install puts in place.
DEBROOT := bin/debroot
deb: build man
	rm -rf $(DEBROOT)
	$(call install_files,$(DEBROOT),/usr)
	DEB_VERSION=$(VERSION) DEB_ARCH=$$($(GO) env GOARCH) $(GO) run $(NFPM) package \
		-f packaging/nfpm.yaml -p deb -t bin/

clean:
	rm -rf bin .deps.stamp
