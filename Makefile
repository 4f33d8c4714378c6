# The two commands of the README:
#   make up    install everything, then `coinstream up` (the whole system on this machine)
#   make test  install everything, lint (make lint), then the whole test suite against real servers
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := $(HOME)/.cache/coinstream/tools

.PHONY: install up down status lint test test-unit docs bench k8s-tools system-packages k8s-up k8s-down k8s-test k8s-tilt

# The venv and the project in it, under one lock: make targets started side by side (CI
# builds the cluster beside the tests) wait for each other instead of racing one pip.
INSTALL_LOCK := flock $(VENV).lock
$(BIN)/python:
	$(INSTALL_LOCK) sh -c '[ -x $(BIN)/pip ] || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip; }'

install: $(VENV)/.installed system-packages k8s-tools

# pip runs again only when a package definition or a lock changed. Every service's lock
# (scripts/lock-requirements.py) is a constraint: a fresh .venv gets the versions the images
# install, not whatever newer release pyproject's ranges would let pip pick, so the locks stay
# equal to what the tests run with (tests/unit/test_requirement_locks.py).
LOCKS := $(sort $(wildcard services/*/requirements.lock))
$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCKS) $(wildcard */pyproject.toml */*/pyproject.toml)
	$(INSTALL_LOCK) sh -c 'for f in pyproject.toml $(LOCKS); do [ $@ -nt $$f ] || { $(BIN)/pip install -q -e ".[dev]" $(addprefix -c ,$(LOCKS)) && touch $@; exit; }; done'

# Debian packages the project needs: Maven (fetches the servers), promtool/Prometheus.
system-packages:
	@command -v mvn >/dev/null && command -v promtool >/dev/null || scripts/install-system-packages.sh

# helm and kubeconform, built with `go install` into the cache.
k8s-tools:
	@$(INSTALL_LOCK) scripts/install-k8s-tools.sh

up: install
	$(BIN)/coinstream up

down:
	$(BIN)/coinstream down

status:
	$(BIN)/coinstream status

# ruff (lint and format) and mypy, configured in pyproject.toml; make test runs it first.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	PATH="$(BIN):$$PATH" scripts/audit.sh
	PATH="$(TOOLS)/bin:$$PATH" $(BIN)/pytest

test-unit: install
	$(BIN)/pytest -m unit

docs:
	$(BIN)/python -m coinstream.settings_doc --write

bench:
	$(BIN)/python -m bench

# A real single-node Kubernetes on this machine (processes in a network namespace of its
# own, see k8s/node/README.md) with the chart installed; k8s-down removes it (not the build cache).
k8s-up:
	scripts/k8s-up.sh

k8s-down:
	scripts/k8s-down.sh

# The live k8s-tests against the cluster of k8s-up, as deployed (a missing cluster is a failure here).
K8S_ENV := $(shell bash -c '. k8s/node/lib.sh && echo KUBECONFIG=$$KUBECONFIG_HOST DOCKER_HOST=$$DOCKER_HOST_URI PATH=$$K8S_BIN:$$TOOLS_BIN:$$PATH')
k8s-test: install
	$(K8S_ENV) COINSTREAM_K8S_INSTALL=0 COINSTREAM_K8S_REQUIRED=1 \
	  COINSTREAM_K8S_BASE_URL=http://127.0.0.1:$${COINSTREAM_K8S_HTTP_PORT:-18080} \
	  $(BIN)/pytest -m live k8s-tests

# Tilt (built by scripts/install-tilt.sh) against the cluster of k8s-up: builds the images in
# its Docker daemon, deploys the chart as the Tiltfile says and waits until all is ready.
# Tilt deploys the chart itself, so k8s-up's helm release is uninstalled first (not its data).
k8s-tilt: install
	scripts/install-tilt.sh
	$(K8S_ENV) bash -c 'helm status -n coinstream coinstream >/dev/null 2>&1 && helm uninstall -n coinstream coinstream --wait --timeout 5m || true'
	$(K8S_ENV) $(TOOLS)/bin/tilt ci --timeout 20m
