# pellucid: `make demo` runs the classic example end to end; `make test` runs the whole suite.
# Both create .venv and install what they need (CPU-only torch pinned: a bare `torch` pulls GBs of CUDA).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0

.PHONY: demo test lint install browser bench clean docs screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Everything: the optional parts (lightgbm, xgboost, catboost, torch, serve, mlflow, dask, dashboard) and dev tools.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	touch $@

# The demo's own set: a few hundred MB, not the full 4 GB environment with torch and TensorFlow.
$(VENV)/.demo-installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e ".[demo]"
	touch $@

install: $(VENV)/.installed

# Headless Chromium and its driver (Debian packages) for the dashboard's browser tests.
browser:
	bash scripts/install_chromium.sh

demo: $(VENV)/.demo-installed
	$(BIN)/pellucid demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# PELLUCID_TREESHAP_COLD=wait: tree explainers wait for their compiled kernels instead of answering with numpy while
# numba compiles them (a clean clone has an empty cache), so the tests that compare two runs bit for bit are stable;
# tests/explainers/test_tree_numpy.py checks the numpy path itself.
test: $(VENV)/.installed browser lint
	PELLUCID_TREESHAP_COLD=wait $(BIN)/python -m pytest -q -p no:cacheprovider

# The docs site, built offline; warnings fail the build. (make test builds it too, through tests/test_docs.py.)
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

screenshots: $(VENV)/.installed browser
	$(BIN)/python docs/screenshots.py

bench: $(VENV)/.installed
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache demo_output
