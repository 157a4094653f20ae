# The two commands a new user needs: `make demo` and `make test`.
# Both create .venv on first use and install into it; later runs reuse it
# (the stamp file is refreshed only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= lab,app,test

.PHONY: demo test lint install clean bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/studio demo

lint: $(STAMP)
	$(PY) -m ruff check studio widgets db tests benchmarks
	$(PY) -m mypy

test: $(STAMP) lint
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

bench: $(STAMP)
	@# PySceneDetect, the reference cut detectors bench_detectors compares against; without its
	@# dependencies, which would add OpenCV's GUI build beside the headless one the studio uses.
	$(PY) -m pip install --quiet --no-deps "scenedetect>=0.6.4" platformdirs
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) studio-home test-artifacts .pytest_cache
