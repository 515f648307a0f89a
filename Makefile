# The front door. Every target works on a fresh machine with Python 3.11 and the package registries:
# it creates .venv and installs nbgeo (pinned by constraints.txt) before doing anything else.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS := -q --disable-pip-version-check
PYTEST_ARGS ?=

.PHONY: demo test bench bench-scale lint install clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade "pip>=24"

$(STAMP): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[test,dev,postgis,dask]'
	touch $@

install: $(STAMP)

## make demo: audit the embedded Ningbo sample; writes maps/audit.json and maps/audit.html, the mid-term
## view maps/2023/ and the 2025 and 2035 plans side by side in maps/compare/.
## The audit exits 1 when a target is not met (the sample has some): the demo still succeeded.
demo: $(STAMP)
	@$(BIN)/nbgeo audit --out maps --overwrite; rc=$$?; \
	if [ $$rc -gt 1 ]; then echo "demo failed (exit $$rc)"; exit $$rc; fi; \
	echo "demo ok: audit exit code $$rc (1 = some targets not met); open maps/audit.html"
	@$(BIN)/nbgeo -q audit --year 2023 --out maps/2023 --overwrite; rc=$$?; \
	if [ $$rc -gt 1 ]; then echo "demo failed (exit $$rc)"; exit $$rc; fi; \
	echo "mid-term view: maps/2023/audit.html (in 2023, which 2025 targets are on track, at risk, off track)"
	@$(BIN)/nbgeo -q compare data/plans/ningbo_2025.toml data/plans/ningbo_2035.toml --year 2025 \
		--out maps/compare --overwrite; rc=$$?; \
	if [ $$rc -gt 1 ]; then echo "demo failed (exit $$rc)"; exit $$rc; fi; \
	echo "two horizons side by side: maps/compare/compare.html (the 2035 values are assumed, illustrative)"

## make test: the whole suite (unit, doctests, CLI, browser and database tests where installed).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

## make bench: every benchmark; prints a table and writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python bench/run.py

## make bench-scale: the whole audit of a synthetic province (the sample tiled SCALE times, default 10; built
## once by bench/scale.py into bench/.cache) step by step on the default and the Dask engine, and as
## `nbgeo audit` on the default engine and on a `dask scheduler`; wall/CPU/peak memory per step, results
## compared between engines, rows merged into bench/results.json. SCALE=100 takes tens of minutes.
## SETCOVER=1 also measures the set-covering heuristic against HiGHS given minutes (bench/setcover_gap.py).
SCALE ?= 10
bench-scale: $(STAMP)
	nice -n 10 $(BIN)/python bench/province.py --factor $(SCALE)
	@if [ -n "$(SETCOVER)" ]; then nice -n 10 $(BIN)/python bench/setcover_gap.py; fi

## make fuzz: atheris on every reader (GeoJSON, GeoPackage, zip/Shapefile, FlatGeobuf, CSV, Excel) for
## FUZZ_SECONDS (default 60), seeded from the bad-input corpus; the corpus it grows is kept in fuzz/corpus.
## Then the plan reader and the manifest reader, FUZZ_SECONDS each, seeded from the shipped plans and
## manifest (and the corpus's manifests), with TOML tokens from fuzz/toml.dict.
## Any exception other than an nbgeo error stops it and leaves fuzz/crash-* (fuzz/plan-crash-*, ...).
FUZZ_SECONDS ?= 60
FUZZ_OPTS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=60 -print_final_stats=1
fuzz: $(STAMP)
	$(BIN)/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[fuzz]'
	$(BIN)/python fuzz/fuzz_readers.py --seed fuzz/seeds
	mkdir -p fuzz/corpus
	$(BIN)/python fuzz/fuzz_readers.py $(FUZZ_OPTS) -artifact_prefix=fuzz/ fuzz/corpus fuzz/seeds
	for target in plan manifest; do \
		$(BIN)/python fuzz/fuzz_plans.py --seed fuzz/seeds-$$target --target $$target && \
		mkdir -p fuzz/corpus-$$target && \
		$(BIN)/python fuzz/fuzz_plans.py --target $$target -dict=fuzz/toml.dict $(FUZZ_OPTS) \
			-artifact_prefix=fuzz/$$target- fuzz/corpus-$$target fuzz/seeds-$$target || exit 1; \
	done

## make lint: ruff, then mypy over the package (configured in pyproject.toml [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check nbgeo tests scripts bench
	$(BIN)/python -m mypy nbgeo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
