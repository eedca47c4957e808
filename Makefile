# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Use the project's shared data folder when it is there (a checkout beside ../shared).
ifneq ($(wildcard ../shared/data),)
export SMABY_GEO_DATA_DIR ?= $(abspath ../shared/data)
endif
ARGS ?=

.PHONY: demo test lint typecheck docs docs-strict bench clean chromium warm

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Data live in the user cache (`smaby-geo data` says where); the first run fetches what it
# needs from the pinned upstreams. Beside ../shared the files are copied from there instead
# (sha256 checked), so `.venv/bin/smaby-geo run` by hand works afterwards with no variable set.
demo: $(VENV)/.installed-run $(VENV)/.warmed
ifneq ($(wildcard ../shared/data),)
	$(BIN)/smaby-geo data fetch --all --from ../shared/data >/dev/null
endif
	$(BIN)/smaby-geo run $(ARGS)

# Warm start: compile every numba kernel signature the jobs use into numba's on-disk cache
# once after install (and again when the kernels change), so the first run does not pay it.
$(VENV)/.warmed: $(VENV)/.installed-run smaby_geo/routing/_kernels.py smaby_geo/routing/warm.py \
  smaby_geo/places/_nearest.py smaby_geo/places/warm.py
	$(BIN)/python -m smaby_geo.places.warm
	touch $@

warm: $(VENV)/.warmed

# The browser check needs headless Chromium (Debian's package); installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser check"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1 || echo "could not install chromium (need root): tests/test_browser.py will fail"; }

test: $(VENV)/.installed-dev chromium lint typecheck docs-strict
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# mypy, configured in pyproject.toml ([tool.mypy]).
typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The documentation site (MkDocs + mkdocstrings) into site/; builds and reads offline.
export NO_MKDOCS_2_WARNING := 1
docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build

# Warnings are errors, and no page may load a script, style or image from the web.
docs-strict: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict
	@! grep -rnoE '(src|<link[^>]*href)="(https?:)?//[^"]*' site --include='*.html' \
	  || { echo "docs: the pages above load files from the web"; exit 1; }

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/routing.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site
