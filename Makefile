# Huifang: the two commands a newcomer needs are `make run` and `make test`.
# Needs Python 3.11+; if `python3` is older: make run PYTHON=python3.11
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-load bench-customers bench-tickets bench-surveys bench-sla install schema clean lint

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Start embedded PostgreSQL + Valkey (or use DATABASE_URL / REDIS_URL), migrate, seed, run API and worker.
run: $(STAMP)
	$(BIN)/python -m app dev

## Lint: ruff (pyflakes, import order, naive datetimes, banned clock APIs; see pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .

## Run the whole test suite (embedded servers unless DATABASE_URL / REDIS_URL are set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## HTTP benchmark: the full stack against a plain Starlette + asyncpg floor, same run.
bench: $(STAMP)
	$(BIN)/python -m bench.graphql_bench $(BENCH_ARGS)

## Re-export the GraphQL SDL to schema/schema.graphql.
schema: $(STAMP)
	$(BIN)/python -m app export-schema

clean:
	rm -rf .data .pytest_cache .hypothesis

## Customer search at 1,000,000 customers and import throughput (BENCH_ARGS="--customers 200000").
bench-customers: $(STAMP)
	$(BIN)/python -m bench.customer_bench $(BENCH_ARGS)

## The tickets dashboard filters at 1,000,000 tickets (BENCH_ARGS="--tickets 200000").
bench-tickets: $(STAMP)
	$(BIN)/python -m bench.ticket_bench $(BENCH_ARGS)

## Survey intake: 100,000 results as one file through the import pipeline (BENCH_ARGS="--results 20000").
bench-surveys: $(STAMP)
	$(BIN)/python -m bench.survey_bench $(BENCH_ARGS)

## The SLA sweep over 1,000,000 open clocks: nothing due, then 10,000 due.
bench-sla: $(STAMP)
	$(BIN)/python -m bench.sla_bench $(BENCH_ARGS)

## Load mix: dashboards, partner sync, dealer agents and writes at once; capacity guidance (README).
bench-load: $(STAMP)
	$(BIN)/python -m bench.load_mix $(BENCH_ARGS)
