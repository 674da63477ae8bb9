# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
RECORDS ?= 20000
STAMP := $(VENV)/.installed
# Toronto's real division boundaries draw the demo's map when the shared data sit beside the checkout;
# without them the map is a tile grid.
BOUNDARIES ?= $(wildcard ../shared/data/realdata/tps_police_divisions.geojson)

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(if $(BOUNDARIES),FAIRENGAGE_BOUNDARIES=$(BOUNDARIES)) $(BIN)/fairengage demo --records $(RECORDS) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests migrations
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/fairengage bench

lint: $(STAMP)
	$(BIN)/ruff check src tests migrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache fairengage-demo.db* .fairengage-demo-key publications
