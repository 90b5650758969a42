# revcast: `make demo` runs the demo, `make test` runs the whole suite. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test test-sqlite test-postgres lint typecheck bench clean

# Bytecode is compiled at install (the packages) and brought up to date on every install (revcast's own
# source): where PYTHONDONTWRITEBYTECODE is set, as on these machines, every process would otherwise compile
# each module it imports, and a migration's forked loaders each compile what they import late (ADR 0025).
install: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src >/dev/null

$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	touch $@

demo: install
	$(BIN)/revcast demo

# The whole suite: lint, type check, then the tests on SQLite and on a real PostgreSQL, both at once (one
# per core; each run's output is printed whole when it ends).
test: install lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

lint: install
	$(BIN)/ruff check src tests bench scripts

typecheck: install
	$(BIN)/mypy

test-sqlite: install
	env -u DATABASE_URL REVCAST_EXPECT_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	REVCAST_EXPECT_DB=postgresql $(BIN)/python scripts/with_postgres.py -- $(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/import_maven.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/migrate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
