# Berth — build, test, benchmark. Run as root: containers need it.
SWIFT    ?= swift
PREFIX   ?= /usr/local
BUILD    ?= .build
RELEASE  := $(BUILD)/release
DEBS     := libseccomp-dev libcap-dev libarchive-dev libsqlite3-dev pkg-config busybox-static runc hyperfine docker.io iproute2 iptables jq procps time strace docker-registry skopeo umoci zstd containernetworking-plugins curl tmux python3-docker python3-venv

.PHONY: all build release test unit integration conformance dropin bench install deps fuzz-deps demo start stop clean

all: build

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --static-swift-stdlib

# Everything CI runs: unit tests, integration tests, conformance tests (one swift test run).
test: build
	$(SWIFT) test --no-parallel

unit: build
	$(SWIFT) test --skip IntegrationTests --skip ConformanceTests

integration: build
	$(SWIFT) test --no-parallel --filter IntegrationTests

conformance: build
	$(SWIFT) test --no-parallel --filter ConformanceTests

# berth-runtime as a runtime of Debian's dockerd (also part of `integration`).
dropin: build
	$(SWIFT) test --no-parallel --filter DockerDropIn

bench: release
	scripts/bench.sh $(RELEASE)/berth-runtime
	scripts/bench-pull.sh $(RELEASE)/berth-lifecycled
	scripts/bench-containers.sh $(RELEASE)
	scripts/bench-network.sh $(RELEASE)
	scripts/bench-cli.sh $(RELEASE)

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RELEASE)/berth-runtime $(RELEASE)/berth $(RELEASE)/berthd $(RELEASE)/berth-lifecycled $(RELEASE)/berth-monitor $(DESTDIR)$(PREFIX)/bin/
	# The systemd unit (used by `make start` where systemd runs) and the socket's group, as docker's.
	install -d $(DESTDIR)/etc/systemd/system
	install -m 0644 packaging/systemd/berthd.service $(DESTDIR)/etc/systemd/system/berthd.service
	[ -n "$(DESTDIR)" ] || getent group berth >/dev/null || groupadd --system berth
	# The built-in default images (busybox and hello-world from busybox-static), so containers run offline.
	[ -n "$(DESTDIR)" ] || scripts/default-image.sh $(PREFIX)/bin/berth-lifecycled

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS)
	$(MAKE) fuzz-deps

# schemathesis (PyPI) in a venv under the build dir, for the Engine API fuzz test (EngineAPIFuzzTests).
fuzz-deps:
	[ -x $(BUILD)/fuzz-venv/bin/st ] || { /usr/bin/python3 -m venv $(BUILD)/fuzz-venv && $(BUILD)/fuzz-venv/bin/pip install --quiet 'schemathesis==3.39.16' 'hypothesis==6.120.0'; }

# Starts the installed stack (berthd → berth-lifecycled) and runs `berth run --rm hello-world`.
demo:
	scripts/demo.sh $(PREFIX)/bin

# The installed stack in the background (or as berthd.service where systemd runs).
start:
	scripts/stack.sh start $(PREFIX)/bin

stop:
	scripts/stack.sh stop $(PREFIX)/bin

clean:
	rm -rf $(BUILD)
