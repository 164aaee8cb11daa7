# make setup: create .venv (Python 3.12) with the pinned stack and this package (editable). Idempotent.
# make test:  run the test suite (what CI runs).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp

.PHONY: setup test test-fast clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt setup.cfg pyproject.toml tools/find_python.sh tools/install_system_deps.sh
	@bash tools/install_system_deps.sh
	@test -x $(PY) || "$$(bash tools/find_python.sh)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@$(PY) -c "import espnet_layerprune, espnet2.tasks.asr; print('setup ok')"
	@touch $(STAMP)

# -n 2: both cores; --dist loadfile keeps a file's tests (and its module fixtures) on one worker.
test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile tests

test-fast: setup
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow" tests

clean-venv:
	rm -rf $(VENV)
