# Two entry points for a fresh machine with only Python 3.11: `make demo` and `make test`.
# Each creates (or reuses) the virtual environment .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DIR ?= runs/demo
export ROS_PYTHON_CHECK_FIELDS := 1

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-ros.txt requirements-test.txt requirements-deep.txt \
		setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-ros.txt \
		-r requirements-test.txt -r requirements-deep.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/topspark-demo --out $(RUN_DIR)

# colcon only runs setup.py (no ROS needed): its own venv, used by test/test_colcon_build.py.
COLCON_VENV := .venv-colcon

$(COLCON_VENV)/bin/colcon:
	$(PYTHON) -m venv $(COLCON_VENV)
	$(COLCON_VENV)/bin/python -m pip install --quiet colcon-common-extensions==0.3.0

test: $(STAMP) $(COLCON_VENV)/bin/colcon
	$(BIN)/python -m pytest -q test

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) $(COLCON_VENV) build *.egg-info
