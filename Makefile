# The README's commands. Every target creates .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
DEMO_TASK := Write add(a, b) that returns the sum of two numbers.

.PHONY: demo test bench lint typecheck image studio clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: the whole loop offline: the first attempt fails a test, the fix passes
demo: $(STAMP)
	$(VENV)/bin/codeloop solve "$(DEMO_TASK)" --test "add(2, 3) == 5" --test "add(-1, 1) == 0" \
		--model scripted:examples/add.replies.yaml

## test: the whole test suite
test: $(STAMP)
	$(PY) -m pytest

## bench: measurements printed as tables (no assertions)
bench: $(STAMP)
	$(PY) benchmarks/sandbox_latency.py
	$(PY) benchmarks/loop_overhead.py
	$(PY) benchmarks/eval_throughput.py

lint: $(STAMP)
	$(VENV)/bin/ruff check codeloop tests benchmarks
	$(VENV)/bin/mypy

## image: build the Docker sandbox image from a local Debian root (no registry needed)
image: $(STAMP)
	$(VENV)/bin/codeloop sandbox build-image

## studio: serve the graph to LangGraph Studio (local API server; no tracing, analytics or remote calls)
STUDIO_PORT ?= 8123
studio: $(STAMP)
	LANGSMITH_TRACING=false LANGCHAIN_TRACING_V2=false LANGGRAPH_CLI_NO_ANALYTICS=1 LANGSMITH_API_KEY= \
		$(VENV)/bin/langgraph dev --host 127.0.0.1 --port $(STUDIO_PORT) --no-browser --config langgraph.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
