# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
RECORDS ?= 20000
STAMP := $(VENV)/.installed
# How `make test` and CI hand tests to the two workers (see `test` below).
SCHEDULE := --dist loadscope --no-loadscope-reorder
# Toronto's real division boundaries draw the demo's map when the shared data sit beside the checkout;
# without them the map is a tile grid.
BOUNDARIES ?= $(wildcard ../shared/data/realdata/tps_police_divisions.geojson)

# requirements.lock pins every package of the runtime, `test` and `audit` sets, with hashes, for Python
# 3.11 and later on every platform. Both `make demo` and `make test` install from it, so the suite tests
# exactly what the demo runs and the audit scans it; `make lock UPGRADE=1` moves it to the newest releases
# within pyproject's lower bounds (then run `make test audit`). pyproject.toml keeps lower bounds only.
LOCK := requirements.lock
LOCK_EXTRAS := --extra test --extra audit

# Python keeps compiled modules, and pytest its rewritten test modules, in __pycache__ (ignored by git). A
# machine that turns that off (PYTHONDONTWRITEBYTECODE, set on some CI images) recompiles every module on
# every run: each test worker spent 15 s instead of 8 s collecting, and each command started by a test
# compiled the service again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-fast lint bench install clean audit lock durations

# Each step says what it does; pip names every package as it fetches and installs it, so a first install
# (a few minutes) is never silent.
$(STAMP): pyproject.toml $(LOCK)
	@echo "[1/4] creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@# Python 3.11's venv seeds an old setuptools that nothing here uses at run time (3.12's seeds none);
	@# left in place it is an unpinned, unaudited package. Building the project brings its own.
	$(BIN)/pip uninstall --quiet --yes setuptools
	@echo "[2/4] installing the $$(grep -c '^[A-Za-z0-9].*==' $(LOCK)) hash-checked packages of $(LOCK)"
	@# The lock's own pip goes in first, hash-checked. The pip a venv seeds can be old (23.2 on Python
	@# 3.11.7), and that one refuses the lock once a newer release of a pinned package exists that a
	@# package asks for with an extra (weasyprint's `fonttools[woff]`).
	awk '/^pip==/ {keep = 1; print; next} keep && /^ +--hash/ {print; next} {keep = 0}' $(LOCK) > $(VENV)/pip.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(VENV)/pip.lock
	$(BIN)/pip install --require-hashes -r $(LOCK)
	@echo "[3/4] installing fairengage itself (editable)"
	$(BIN)/pip install --quiet --no-deps -e .
	@echo "[4/4] checking that the installed packages agree"
	@# A dependency added to pyproject.toml but not yet locked shows here; `make lock` adds it.
	$(BIN)/pip check
	touch $(STAMP)
	@echo "installed into $(VENV)"

install: $(STAMP)

demo: $(STAMP)
	@echo "building the demo database ($(RECORDS) synthetic engagements) and fairengage.toml, then serving on :$(PORT)"
	$(if $(BOUNDARIES),FAIRENGAGE_BOUNDARIES=$(BOUNDARIES)) $(BIN)/fairengage demo --records $(RECORDS) --port $(PORT)

# Each test module goes whole to one worker, so its module fixture is built once (--dist loadscope), and
# the modules go out in the order tests/conftest.py puts them: longest first, by tests/durations.json.
test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 $(SCHEDULE)

# The quick loop while changing code: every test not marked `slow` (no browser, wheel build, server
# process or real data set; docs/development.md, "The fast loop"). `make test`
# still runs them all, and CI runs `make test`. A worker that finishes its share takes tests from the
# other's (--dist worksteal): no module fixture left in the quick loop costs more than a second, so
# keeping both cores busy to the end matters more than building each fixture once.
test-fast: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist worksteal -m "not slow" --durations=15

# Each module's seconds in a whole run of the suite, for the order above: run it when a module has grown
# or shrunk by minutes (a stale file only balances the two workers less well).
durations: $(STAMP)
	$(BIN)/pytest -q -n 2 $(SCHEDULE) --write-durations

# The analytics benchmark, then 50 officers recording for 60 s against the local PostgreSQL, then the
# officer's form on a phone: taps, typing and bytes (docs/benchmarking.md, docs/load-and-recovery.md).
bench: $(STAMP)
	$(BIN)/fairengage bench
	$(BIN)/fairengage drill load
	PYTHONPATH=src $(BIN)/python benchmarks/officer_form.py

# The import contracts (pyproject.toml, [tool.importlinter]) keep the layers, and mypy ([tool.mypy]) the
# types: docs/development.md.
lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# bandit over the shipped code, then pip-audit over the installed environment; each fails on any finding
# not explained where it is ignored: a `# nosec` with its reason, or a line of .ci/pip-audit-ignore.txt.
audit: $(STAMP)
	$(BIN)/bandit -c pyproject.toml -r src -q
	$(BIN)/python .ci/audit_gate.py

# Rewrites the lock from pyproject.toml, keeping current pins unless UPGRADE=1. Needs no installed venv,
# so that a lock missing a new dependency can always be repaired.
lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet 'uv>=0.5'; }
	$(BIN)/uv pip compile pyproject.toml $(LOCK_EXTRAS) --universal --python-version 3.11 \
		--generate-hashes --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache fairengage-demo.db* .fairengage-demo-key publications
	@# The demo's settings file goes with its database; a fairengage.toml of your own stays.
	@if head -n 1 fairengage.toml 2>/dev/null | grep -q 'Written by `fairengage demo`'; then rm fairengage.toml; fi
