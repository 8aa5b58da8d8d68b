# Every target installs what it needs: a fresh Debian machine with Go is enough.
SHELL := /bin/bash
GO ?= go
PREFIX ?= /usr
DESTDIR ?=
BIN := bin/ldirectord

# Debian packages the tests and the demo need. Helpers of each area add
# theirs here and nowhere else.
APT_PACKAGES := qemu-system-x86 busybox-static cpio ipvsadm iproute2 ldirectord \
	libmailtools-perl libwww-perl \
	dovecot-imapd dovecot-pop3d slapd ldap-utils mariadb-server postgresql freeradius sip-tester

.PHONY: all build deps test unit vet vmtest demo bench install clean

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

vmtest: deps
	$(GO) test -count=1 -v -run 'VM' ./kernel/...

demo: deps build
	@echo "demo: not built yet"

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/ldirectord

clean:
	rm -rf bin .deps.stamp
