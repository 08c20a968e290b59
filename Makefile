.PHONY: run test bench lint fmt services

run:        ## Zenith on the embedded defaults (no external servers)
	bash scripts/run-embedded.sh

test:       ## the whole suite against PostgreSQL+TimescaleDB and Redis
	bash scripts/test.sh

services:   ## start PostgreSQL (+build TimescaleDB) and Redis if needed
	bash scripts/ensure-services.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy zenith ops orbital telemetry scheduling && .venv/bin/lint-imports

fmt:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench:      ## benchmarks under bench/ (figures and ratios to a same-run baseline)
	.venv/bin/python bench/lineprotocol.py
	.venv/bin/python bench/passes.py
	.venv/bin/python bench/ingest.py
	.venv/bin/python bench/mqtt.py
	.venv/bin/python bench/plan.py
	.venv/bin/python bench/live.py
	.venv/bin/python bench/console.py
	.venv/bin/python bench/alerts.py
	.venv/bin/python bench/storage.py
	.venv/bin/python bench/rollups.py
