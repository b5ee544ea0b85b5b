# remediate: `make demo` and `make test` are the contract with a new user (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LAB    := $(PY) -m lab

.PHONY: setup system-deps venv demo test test-install test-fast lint typecheck lab lab-down man bench reliability-figures mutation clean

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

# Lint first, then every suite. Leaves the checkout as it found it: the reliability figures go to the
# untracked .pytest-figures/ (docs/reliability.* are rewritten only by `make reliability-figures`).
# The suites run on $(TEST_WORKERS) pytest-xdist workers, test by test (a file marked xdist_group stays on
# one worker); each worker starts its own labs on its own address blocks (tests/conftest.py).
TEST_WORKERS ?= 4
test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

# remediate as a user installs it: sdist -> wheel -> a fresh virtualenv outside the checkout, then
# list, validate, show, completion and a repair on a lab host with the installed command.
test-install: setup
	$(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_install.py

test-fast: venv
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup tests/unit

lint: venv
	$(VENV)/bin/ruff check runner lab tests bench
	$(VENV)/bin/ruff format --check runner lab tests bench
	$(VENV)/bin/mypy

lab: setup
	$(LAB) up --hosts $${HOSTS:-3}

# Stops the lab in $$REMEDIATE_LAB_DIR (default /tmp/remediate-lab) whichever checkout started it, even one
# since removed. The lab needs only the standard library: no .venv needed (a fresh clone can stop it).
lab-down:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m lab down

# The man page remediate(1) of the CLI as it is now, to read with `man -l build/man/remediate.1`. Nothing to
# commit: a wheel writes its own at build time (setup.py) and installs it as share/man/man1/remediate.1.
man: venv
	$(PY) -m runner.cli.manpage --output build/man/remediate.1

bench: setup
	$(PY) bench/run.py

# Remediation across a 10-host lab against one host (start, rolling restart): the "Fleet remediation"
# section of docs/performance.md.
.PHONY: bench-fleet
bench-fleet: setup
	$(PY) bench/fleet_remediation.py

# The reliability suite alone, writing its figures into the tracked docs/reliability.md and .json.
reliability-figures: setup
	REMEDIATE_WRITE_FIGURES=1 $(PY) -m pytest -q -p no:cacheprovider tests/reliability

# mutmut over runner/campaign_formats.py, redact.py, audit.py, actions/modules.py and actions/querydef.py
# (settings: [mutmut] in setup.cfg), one mutant at a time under nice, each against the unit tests that
# exercise it; then docs/mutation.md (score and survivors, shown in docs/reliability.md) from its results.
# A fresh run each time: mutmut's working copy mutants/ (untracked) is rebuilt from the checkout.
mutation: venv
	$(PY) -m pip install --quiet -e '.[dev,mutation]'
	rm -rf mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children 1
	$(PY) tests/mutation_report.py

clean: lab-down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .pytest-figures build mutants
