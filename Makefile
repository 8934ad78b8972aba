# The README's two commands: `make demo` and `make test`. Both build .venv from nothing but python3.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Constraints reach pip's isolated build environments too, so no CUDA torch sneaks in through a source build.
export PIP_CONSTRAINT := $(CURDIR)/constraints-cpu.txt
export DS_BUILD_OPS := 0
export TORCH_EXTENSIONS_DIR ?= $(HOME)/.cache/torch_extensions
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-fast test-full test-floors install clean

$(VENV)/.installed: setup.cfg pyproject.toml constraints-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Pretrain a small ALBERT on the embedded corpus of CPython's own documentation (CPU, no download).
demo: $(VENV)/.installed
	$(PY) launch/pretrain.py

# Tests run in TEST_WORKERS processes (pytest-xdist; a file's tests stay in one), one torch thread each
# (tests/conftest.py).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

# The whole suite; slow end-to-end tests run in their reduced form (ALBA_TEST_BUDGET=ci). PYTEST_ARGS adds options,
# e.g. make test PYTEST_ARGS=--durations=30.
test: $(VENV)/.installed
	ALBA_TEST_BUDGET=ci WANDB_MODE=offline $(PY) -m pytest -q -rs $(XDIST) $(PYTEST_ARGS)

# Everyday work: the tests not marked slow.
test-fast: $(VENV)/.installed
	ALBA_TEST_BUDGET=ci WANDB_MODE=offline $(PY) -m pytest -q -rs $(XDIST) -m "not slow" $(PYTEST_ARGS)

# The same with the slow tests at their full budgets.
test-full: $(VENV)/.installed
	ALBA_TEST_BUDGET=full WANDB_MODE=offline $(PY) -m pytest -q -rs $(XDIST) $(PYTEST_ARGS)

# The fast tier against the oldest versions alba supports (.ci/floors.txt), in a venv of its own.
FLOORS_VENV ?= .venv-floors
$(FLOORS_VENV)/.installed: setup.cfg pyproject.toml .ci/floors.txt
	$(PYTHON) -m venv $(FLOORS_VENV)
	PIP_CONSTRAINT=$(CURDIR)/.ci/floors.txt $(FLOORS_VENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

test-floors: $(FLOORS_VENV)/.installed
	ALBA_TEST_BUDGET=ci WANDB_MODE=offline $(FLOORS_VENV)/bin/python -m pytest -q -rs $(XDIST) -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(FLOORS_VENV) runs .pytest_cache
