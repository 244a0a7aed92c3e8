# The two commands a reader needs: `make book` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PARAMS ?=
REMOTE ?= origin
# Passed to the recipes through the environment and quoted there ("$$PARAMS"), never pasted
# into a command line: `make book PARAMS='x; echo INJECTED'` reads a file of that name.
export PARAMS REMOTE

.PHONY: help env book refresh test test-deps lint publish bench clean

help:
	@echo "make book     set up .venv, execute every notebook, build the HTML book in _build/html"
	@echo "make book PARAMS=my.yaml   the same with your own parameters"
	@echo "make test     ruff + mypy, pytest (unit, book, live) + nbval over the notebooks"
	@echo "make refresh  re-execute the notebooks and save their checked outputs (after a change in lib/ or data/)"
	@echo "make publish  push a default build of a clean, committed tree to the gh-pages branch of REMOTE (default: origin)"
	@echo "              FORCE=1 force-pushes; ALLOW_UNCOMMITTED=1 publishes a build of uncommitted changes"
	@echo "make overload / make faults   record an overload run / the fault runs with Prometheus watching (C14)"
	@echo "make bench    time each step: environment set-up, each notebook, the book build"

env: $(STAMP)

# The environment: pinned versions, installed without dependency resolution so that
# nothing outside requirements.lock arrives (see README, "Environment"). torch 2.13.0+cpu
# comes from the machine's wheel folder (/opt/wheels) where there is one, else from
# PyTorch's CPU index (TORCH_INDEX=... to choose another; the CPU build is what the
# harness and the book need, also on a machine with a GPU).
TORCH_INDEX ?= $(if $(wildcard /opt/wheels/torch-*.whl),,https://download.pytorch.org/whl/cpu)
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check --no-deps $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r requirements.lock
	$(PY) -m pip install -qq --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

book: $(STAMP)
	$(VENV)/bin/selfhost book $${PARAMS:+--params "$$PARAMS"}

refresh: $(STAMP)
	$(VENV)/bin/selfhost refresh

# Headless Chromium for the rendered-chart test, Prometheus and its blackbox exporter (the probe)
# for the live monitoring tests (Debian's packages).
test-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v promtool >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@command -v prometheus-blackbox-exporter >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus-blackbox-exporter >/dev/null; }

# The linter and the type checker (configured in pyproject.toml); part of make test.
lint: $(STAMP)
	$(VENV)/bin/ruff check lib tests scripts
	$(VENV)/bin/mypy

test: book test-deps lint
	$(PY) -m pytest tests lib notebooks --nbval-lax --nbval-sanitize-with tests/nbval-sanitize.cfg

# Only a default build (no PARAMS) of a clean, committed tree, recorded by `make book`, and
# never force-pushed unless FORCE=1 (see lib/selfhost/book/publish.py).
publish:
	@test -x $(VENV)/bin/selfhost -a -f _build/html/index.html || { echo "make publish: no built book in _build/html; run 'make book' first" >&2; exit 1; }
	$(VENV)/bin/selfhost publish --repo "$(CURDIR)" --remote "$$REMOTE" $(if $(filter 1 yes true,$(FORCE)),--force) $(if $(filter 1 yes true,$(ALLOW_UNCOMMITTED)),--allow-uncommitted)

bench: $(STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)

# Record live engine runs into data/runs/: one recording here (vLLM's CPU build with prefix
# caching on and off, and llama.cpp, under the protocol of selfhost.stats; 12-14 minutes
# on a quiet 2-core machine; LIVE_ARGS=--quick for a 2-minute check into _build/quick-runs,
# which the verdicts never read), or your running server
# (make live URL=http://host:port ENGINE=sglang [LIVE_ARGS="--size gpu --hardware '1x H100' --model NAME"]).
.PHONY: live
live: $(STAMP)
	$(VENV)/bin/selfhost live $(if $(URL),--url '$(URL)') $(if $(ENGINE),--engine '$(ENGINE)') $(LIVE_ARGS)

# Record an overload run with Prometheus watching into data/runs/overload/ (C14): vLLM's CPU
# build here, or your server (make overload URL=http://host:port OVERLOAD_ARGS="--ttft-slo-ms 800").
.PHONY: overload
overload: $(STAMP) test-deps
	$(VENV)/bin/selfhost monitor overload $(if $(URL),--url $(URL)) $(if $(ENGINE),--engine $(ENGINE)) $(OVERLOAD_ARGS)

# Record the fault runs into data/runs/faults/ (C14): vLLM's CPU build here killed (SIGKILL),
# hung (SIGSTOP) and restarted in a loop under load, Prometheus and the probe watching
# (make faults FAULTS_ARGS="--kind kill").
.PHONY: faults
faults: $(STAMP) test-deps
	$(VENV)/bin/selfhost monitor faults $(FAULTS_ARGS)

clean:
	rm -rf _build book/analyses book/ledger.md

# Re-derive the traffic summaries in data/traffic/ from the raw traces (never committed):
# /work/shared/traces by default, or make traffic TRACES=DIR.
.PHONY: traffic
traffic: $(STAMP)
	$(PY) -c "import sys; from selfhost.data.traffic import derive_all; [print(p) for p in derive_all(sys.argv[1] if len(sys.argv) > 1 else None)]" $(TRACES)
