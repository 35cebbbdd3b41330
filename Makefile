# The two commands of the README:
#   make example   set up (virtualenv + install), validate the bundled examples, plan and render sz1
#   make test      set up and run the whole test suite (what CI runs: .ci/run)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: example test setup lint bench docs

$(BIN)/wanka: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/wanka

setup: $(BIN)/wanka

example: setup
	$(BIN)/wanka validate examples/lab-mini/cluster.yaml examples/shenzhen-14000p/cluster.yaml
	$(BIN)/wanka plan examples/shenzhen-14000p/cluster.yaml
	$(BIN)/wanka render examples/shenzhen-14000p/cluster.yaml --out out/shenzhen-14000p

lint: setup
	$(BIN)/ruff check wanka tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts

test: lint
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_validate.py --cards 50000
	$(BIN)/python benchmarks/bench_render.py --cards 50000
	$(BIN)/python benchmarks/bench_report.py --cards 50000
	$(BIN)/python benchmarks/bench_diff.py --cards 50000
	$(BIN)/python benchmarks/bench_pulumi.py --cards 50000

docs: setup
	$(BIN)/wanka rules --format markdown > docs/rules.md
	$(BIN)/python scripts/architecture.py
