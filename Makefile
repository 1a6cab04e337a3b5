# The README's commands. `make demo` and `make test` set everything up on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test test-sqlite lint format dev bench bench-quick clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv 2>/dev/null || true
	@if [ -x $(VENV)/bin/uv ]; then \
		$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock && \
		$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e . ; \
	else \
		$(PY) -m pip install -q -r requirements.lock && \
		$(PY) -m pip install -q --no-deps -e . ; \
	fi
	@# Byte-compile once: with PYTHONDONTWRITEBYTECODE set, every start would compile again.
	@$(PY) -m compileall -q -j 0 $(VENV)/lib learning_loop api > /dev/null 2>&1 || true
	@touch $@

demo: setup
	$(VENV)/bin/shorts-engine demo

# The Dagster UI and daemon on this deployment's instance (Ctrl-C stops both):
# DAGSTER_HOME when set; else, with LEARNING_LOOP_DATABASE_URL on PostgreSQL, deploy/postgres's
# instance (storage in that database); else the embedded default's SQLite instance.
dev: setup
	@base="$${LEARNING_LOOP_HOME:-.learning_loop}"; \
	case "$${DAGSTER_HOME:+home}$${LEARNING_LOOP_DATABASE_URL}" in \
	  home*) home="$$DAGSTER_HOME" ;; \
	  postgresql*) home="$$base/dagster-postgres"; mkdir -p "$$home"; \
	    cp deploy/postgres/dagster.yaml "$$home/dagster.yaml" ;; \
	  *) home="$$($(PY) -m learning_loop.launch.instance)" ;; \
	esac; \
	home="$$(cd "$$home" && pwd)"; \
	echo "Dagster UI: http://127.0.0.1:3000  (DAGSTER_HOME=$$home)"; \
	export LEARNING_LOOP_HOME="$$(realpath -m "$$base")"; \
	cd "$$home" && DAGSTER_HOME="$$home" \
	  PYTHONWARNINGS='ignore:Function `dev_command` is superseded:FutureWarning' \
	  exec $(CURDIR)/$(VENV)/bin/dagster dev -w $(CURDIR)/workspace.yaml -h 127.0.0.1 -p 3000

test: setup
	$(PY) -m pytest

test-sqlite: setup
	LEARNING_LOOP_TEST_BACKENDS=sqlite $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check learning_loop learning_loop_tests api bench
	$(VENV)/bin/ruff format --check learning_loop learning_loop_tests api bench
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format learning_loop learning_loop_tests api bench
	$(VENV)/bin/ruff check --fix learning_loop learning_loop_tests api bench

# Full-size benchmarks; each prints its figures and records them in bench/RESULTS.md.
bench: setup
	$(PY) -m bench.planning
	$(PY) -m bench.aa
	$(PY) -m bench.power
	$(PY) -m bench.learning
	$(PY) -m bench.pipeline
	$(PY) -m bench.steady
	$(PY) -m bench.launch
	$(PY) -m bench.cli_start
	$(PY) -m bench.onboarding
	$(PY) -m bench.video_plans
	$(PY) -m bench.collector
	$(PY) bench/api/bench_api.py
	$(PY) bench/api/bench_api.py --case large

# The same benchmarks at a small size, so they cannot rot (CI runs this; records nothing).
bench-quick: setup
	$(PY) -m bench.planning --quick
	$(PY) -m bench.aa --quick
	$(PY) -m bench.power --quick
	$(PY) -m bench.learning --quick
	$(PY) -m bench.pipeline --quick
	$(PY) -m bench.steady --quick
	$(PY) -m bench.launch --quick
	$(PY) -m bench.cli_start --quick
	$(PY) -m bench.onboarding --quick
	$(PY) -m bench.video_plans --quick
	$(PY) -m bench.collector --quick
	$(PY) bench/api/bench_api.py --quick
	$(PY) bench/api/bench_api.py --quick --case large --videos 600

lock:
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
