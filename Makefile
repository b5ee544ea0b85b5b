# remediate: `make demo` and `make test` are the contract with a new user (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LAB    := $(PY) -m lab

.PHONY: setup system-deps venv demo test test-fast lint typecheck lab lab-down bench clean

setup: system-deps venv

# OpenSSH server, PostgreSQL, curl, iproute2 from Debian packages (root), and the lab's login user.
system-deps:
	@bash scripts/install-system-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Start one lab host, break wfserver, and repair it with the runner, showing the whole story.
demo: setup
	@bash scripts/demo.sh

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

lint: venv
	$(VENV)/bin/ruff check runner lab tests
	$(VENV)/bin/mypy

lab: setup
	$(LAB) up --hosts $${HOSTS:-3}

lab-down: venv
	$(LAB) down

bench: setup
	$(PY) bench/run.py

clean: lab-down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
