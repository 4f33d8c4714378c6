# The two commands of the README:
#   make up    install everything, then `coinstream up` (the whole system on this machine)
#   make test  install everything, then the whole test suite against real servers
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := $(HOME)/.cache/coinstream/tools

.PHONY: install up down status test test-unit docs bench k8s-tools system-packages k8s-up k8s-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python system-packages k8s-tools
	$(BIN)/pip install -q -e ".[dev]"

# Debian packages the project needs: Maven (fetches the servers), promtool/Prometheus.
system-packages:
	@command -v mvn >/dev/null && command -v promtool >/dev/null || scripts/install-system-packages.sh

# helm and kubeconform, built with `go install` into the cache.
k8s-tools:
	@scripts/install-k8s-tools.sh

up: install
	$(BIN)/coinstream up

down:
	$(BIN)/coinstream down

status:
	$(BIN)/coinstream status

test: install
	PATH="$(BIN):$$PATH" scripts/audit.sh
	PATH="$(TOOLS)/bin:$$PATH" $(BIN)/pytest

test-unit: install
	$(BIN)/pytest -m unit

docs:
	$(BIN)/python -m coinstream.settings_doc > docs/SETTINGS.md

bench:
	$(BIN)/python -m bench

# A real single-node Kubernetes on this machine (processes in a network namespace of its
# own, see k8s/node/README.md) with the chart installed; k8s-down removes it (not the build cache).
k8s-up: install
	scripts/k8s-up.sh

k8s-down:
	scripts/k8s-down.sh
