# Every target installs what it needs: a fresh Debian machine with Go is enough.
SHELL := /bin/bash
GO ?= go
PREFIX ?= /usr
DESTDIR ?=
BIN := bin/ldirectord

# Debian packages the tests and the demo need. Helpers of each area add
# theirs here and nowhere else.
APT_PACKAGES := qemu-system-x86 busybox-static cpio ipvsadm iproute2 ldirectord \
	libmailtools-perl libwww-perl resource-agents libxml2-utils logrotate systemd man-db \
	dovecot-imapd dovecot-pop3d slapd ldap-utils mariadb-server postgresql freeradius sip-tester \
	vsftpd dnsmasq-base tinyproxy-bin exim4-daemon-light

.PHONY: all build deps test unit vet vmtest demo bench install clean man deb

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

test: deps vet unit

# vmtest runs the real-kernel tests (one VM boot per package: the harness's
# own, then kernel's) and the change-throughput benchmark in the VM,
# verbosely, each with its time.
vmtest: deps
	$(GO) test -count=1 -v -timeout 40m -run '^Test(VM|Run)' -bench '^BenchmarkVM$$' -benchtime 1x ./internal/vm/ ./kernel/...

demo: deps build
	$(GO) run ./cmd/lddemo -daemon $(BIN)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# Where Debian's ldirectord package puts its files. /etc and /lib/systemd
# do not follow PREFIX, as on Debian; the scripts and units name the binary
# under PREFIX.
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= /lib/systemd/system
OCFDIR ?= $(PREFIX)/lib/ocf/resource.d/ldirectord-go
DOCDIR ?= $(PREFIX)/share/doc/ldirectord
MANPAGE := bin/ldirectord.8
VERSION ?= 0.1.0
GO_MD2MAN := github.com/cpuguy83/go-md2man/v2@v2.0.7
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
SBIN_SED := sed 's|/usr/sbin/ldirectord|$(PREFIX)/sbin/ldirectord|g'

man: $(MANPAGE).gz
$(MANPAGE).gz: docs/ldirectord.8.md
	@mkdir -p bin
	$(GO) run $(GO_MD2MAN) -in $< -out $(MANPAGE)
	gzip -9 -n -c $(MANPAGE) > $@

install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/ldirectord
	install -D -m 0644 $(MANPAGE).gz $(DESTDIR)$(PREFIX)/share/man/man8/ldirectord.8.gz
	install -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(OCFDIR) $(DESTDIR)$(SYSCONFDIR)/ha.d/resource.d \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(DOCDIR)/examples
	for u in ldirectord.service ldirectord-notify.service; do \
		$(SBIN_SED) packaging/systemd/$$u > $(DESTDIR)$(SYSTEMDDIR)/$$u && chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/$$u || exit 1; \
	done
	$(SBIN_SED) packaging/ocf/ldirectord > $(DESTDIR)$(OCFDIR)/ldirectord
	chmod 0755 $(DESTDIR)$(OCFDIR)/ldirectord
	$(SBIN_SED) packaging/heartbeat/ldirectord > $(DESTDIR)$(SYSCONFDIR)/ha.d/resource.d/ldirectord.new
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/ha.d/resource.d/ldirectord.new
	mv -f $(DESTDIR)$(SYSCONFDIR)/ha.d/resource.d/ldirectord.new $(DESTDIR)$(SYSCONFDIR)/ha.d/resource.d/ldirectord
	install -m 0644 packaging/logrotate/ldirectord $(DESTDIR)$(SYSCONFDIR)/logrotate.d/ldirectord
	install -m 0644 packaging/examples/ldirectord.cf $(DESTDIR)$(DOCDIR)/examples/ldirectord.cf
	@# An operator's configuration is never overwritten.
	test -e $(DESTDIR)$(SYSCONFDIR)/ha.d/ldirectord.cf || \
		install -m 0644 packaging/examples/ldirectord.cf $(DESTDIR)$(SYSCONFDIR)/ha.d/ldirectord.cf

# deb builds bin/ldirectord-go_$(VERSION)_<arch>.deb with nfpm, compiled
# from the Go module proxy.
deb: build man
	DEB_VERSION=$(VERSION) DEB_ARCH=$$($(GO) env GOARCH) $(GO) run $(NFPM) package \
		-f packaging/nfpm.yaml -p deb -t bin/

clean:
	rm -rf bin .deps.stamp
