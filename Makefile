# netpulse. `make run` starts everything; `make test` runs every test.
.PHONY: all setup setup-tests build run run-cluster test test-faults fuzz lint fmt clean bench bench-poller bench-recorder bench-logs bench-ws bench-scale bench-capacity bench-alerter bench-fleet user

CARGO ?= cargo
# Tests find the nats-server chosen by `make setup` here.
export NETPULSE_NATS_SERVER ?= $(CURDIR)/tools/nats-server

all: build

setup:
	@scripts/setup.sh

# What the tests need besides: snmpd, Chromium, promtool, Alertmanager, libfaketime (apt-get).
setup-tests:
	@scripts/setup.sh --tests

build: setup
	$(CARGO) build --release --workspace

run: build
	@scripts/run.sh

# The same on a three-node nats-server cluster on this machine (nats/cluster/), replicas 3.
run-cluster: build
	@NETPULSE_CLUSTER=1 scripts/run.sh

# The dashboard's pure helpers first (Node's test runner, web/tests/*.test.js), then the Rust
# tests: cargo-nextest when installed (one process per test, a clear summary), else cargo test.
# Tests that run netpulse binaries as processes need them built first. The recorder crash
# test needs about 1,000 samples/s from this machine, so it runs alone after the others. The fault
# tests (tests/tests/faults.rs: kill a poller, restart nats-server, kill a cluster node) run
# in `make test-faults`.
ALONE := binary_id(netpulse-tests::recorder) & test(/killed/)
FAULTS := binary_id(netpulse-tests::faults)
test: setup-tests
	cd web && node --test tests/
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast -E 'not ($(ALONE)) & not ($(FAULTS))'; first=$$?; \
	  $(CARGO) nextest run --workspace --no-fail-fast -E '$(ALONE)' && exit $$first; \
	else \
	  $(CARGO) test --workspace --no-fail-fast -- --skip a_killed --skip a_restarted; \
	fi

# Every service as a process while faults happen; a few minutes. One at a time: each runs a
# NATS cluster or server and every service, and their timings assume the cores are theirs.
# The services' warnings are kept (TEST_LOG=warn) and shown for a test that fails.
test-faults: setup-tests
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  TEST_LOG=warn $(CARGO) nextest run -p netpulse-tests --test faults --no-fail-fast --test-threads 1; \
	else \
	  TEST_LOG=warn $(CARGO) test -p netpulse-tests --test faults --no-fail-fast -- --test-threads 1; \
	fi

# Every fuzz target (tests/fuzz: agent replies v1/v2c and v3, traps, syslog, NATS messages)
# for FUZZ_SECONDS each (default 30); nightly toolchain and cargo-fuzz, installed if missing.
fuzz:
	@scripts/fuzz.sh

# Manage users from the shell while `make run` runs: make user ARGS="add ann operator".
user: build
	@scripts/user.sh $(ARGS)

# Benchmarks print figures (recorded in README); they do not pass or fail.
bench: bench-poller bench-recorder bench-logs bench-ws bench-scale bench-alerter bench-fleet

bench-poller: setup
	$(CARGO) build --release --workspace
	target/release/bench-poller $(BENCH_ARGS)

bench-recorder: setup
	$(CARGO) build --release --workspace
	target/release/bench-recorder $(BENCH_ARGS)

bench-logs: setup
	$(CARGO) build --release --workspace
	target/release/bench-logs $(BENCH_ARGS)

# The alerter's rule evaluation: 10,000 devices, 100 rules (no NATS).
bench-alerter: setup
	$(CARGO) build --release --workspace
	target/release/bench-alerter $(BENCH_ARGS)

# Port search, top links and the topology on 100,000 interfaces held in memory (no NATS), and
# the map's update cost for 1,000 links on the gateway and in the page (cytoscape, headless).
bench-fleet: setup
	$(CARGO) build --release --workspace
	target/release/bench-fleet $(BENCH_ARGS)
	cd web && node bench/map.mjs

# Each WebSocket client is two open sockets: raise the open-file limit for the run. Four
# runs: 5,000 clients watching one device; 10,000 clients, one of 1,000 devices each; 1,000
# clients with frames of 10,000 devices; 10,000 clients of which 10% never read. With
# BENCH_ARGS, the one run they describe.
bench-ws: setup
	$(CARGO) build --release --workspace
ifeq ($(strip $(BENCH_ARGS)),)
	ulimit -n $$(ulimit -Hn) && target/release/bench-ws --mode legacy --clients 5000 --interval-ms 100
	ulimit -n $$(ulimit -Hn) && target/release/bench-ws --mode one --clients 10000
	ulimit -n $$(ulimit -Hn) && target/release/bench-ws --mode all --clients 1000 --devices 10000
	ulimit -n $$(ulimit -Hn) && target/release/bench-ws --mode one --clients 10000 --never-read 10
else
	ulimit -n $$(ulimit -Hn) && target/release/bench-ws $(BENCH_ARGS)
endif

# 10,000 simulated devices against every service, then Prometheus' snmp_exporter against the
# same devices (Debian package prometheus-snmp-exporter: scripts/setup-bench.sh installs it
# when missing).
bench-scale: setup
	@scripts/setup-bench.sh
	$(CARGO) build --release --workspace
	ulimit -n $$(ulimit -Hn) && target/release/bench-scale $(BENCH_ARGS)

# The most devices (10 interfaces, 60 s) this machine keeps up with; tens of minutes.
bench-capacity: setup
	@scripts/setup-bench.sh
	$(CARGO) build --release --workspace
	ulimit -n $$(ulimit -Hn) && target/release/bench-scale --capacity 100000 --devices 10000 --seconds 60 --base-port 2000 --exporter none $(BENCH_ARGS)

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd web && npx eslint --max-warnings 0 .

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf tools web/node_modules
