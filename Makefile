# Two commands: `make demo` (install + run the main job) and `make test` (install + whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo-out

# the engine core compiled with mypyc (docs/decisions/0005-compiled-engines.md);
# `make install COMPILE=0` removes the compiled modules: pure Python runs
COMPILE ?= 1
# rebuilt whenever the stamp's hashes say so (an engine's source, a module the engines
# import, the build, Python or mypy changed): a stale extension module would run instead
# of its source (shequn/compiled.py also warns at import). By content, not file times.
COMPILED_STAMP := src/shequn/compiled.json

.PHONY: install demo test lint postgres chromium bench clean pure-python compiled

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q -p $(BIN)/python -e '.[dev,bench,spark]'
	@# byte-compile once, so no run pays for it (PYTHONDONTWRITEBYTECODE machines included)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $@

ifeq ($(COMPILE),1)
compiled: $(VENV)/.installed
	$(BIN)/python scripts/build-compiled --if-stale

install: $(VENV)/.installed compiled
else
pure-python: $(VENV)/.installed
	$(BIN)/python scripts/build-compiled --pure

install: $(VENV)/.installed pure-python
endif

demo: install
	rm -rf $(DEMO)
	$(BIN)/shequn simulate --format whatsapp --members 300 --messages 20000 --days 120 --seed 7 --out $(DEMO)/export
	$(BIN)/shequn --store $(DEMO)/shequn.duckdb import $(DEMO)/export --community makers \
		--timezone Asia/Shanghai --me "$$($(BIN)/python -c 'import json; print(json.load(open("$(DEMO)/export/truth.json"))["exporter"]["name"])')"
	$(BIN)/shequn --store $(DEMO)/shequn.duckdb groups
	$(BIN)/shequn --store $(DEMO)/shequn.duckdb stats --community makers
	$(BIN)/shequn --store $(DEMO)/shequn.duckdb report --community makers
	$(BIN)/shequn --store $(DEMO)/shequn.duckdb report --community makers --out $(DEMO)/report.html

postgres:
	scripts/ensure-postgres

chromium:
	scripts/ensure-chromium

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: install postgres chromium lint
	SHEQUN_TEST_POSTGRES=$${SHEQUN_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/shequn_test} \
		SHEQUN_EXPECT_COMPILED=$(COMPILE) $(BIN)/pytest

bench: install
	$(BIN)/python bench/import_whatsapp.py
	$(BIN)/python bench/import_telegram.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache build $(COMPILED_STAMP)
	find src -name '*.so' -delete
