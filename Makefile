# The two commands of the README:
#   make example   set up (virtualenv + install), validate the bundled examples, plan and render sz1
#   make test      install the Debian packages the tests need (deps), set up, lint and run the
#                  whole test suite (what CI runs: .ci/run)
# and the pins: make lock  re-resolve every Python package into requirements/constraints.txt
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements/constraints.txt

.PHONY: example test setup deps lint lock bench docs

# exactly the versions in requirements/constraints.txt (pip too); redone when either file changes
$(BIN)/wanka: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c $(LOCK) --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test]'
	touch $(BIN)/wanka

setup: $(BIN)/wanka

example: setup
	$(BIN)/wanka validate examples/lab-mini/cluster.yaml examples/shenzhen-14000p/cluster.yaml
	$(BIN)/wanka plan examples/shenzhen-14000p/cluster.yaml
	$(BIN)/wanka render examples/shenzhen-14000p/cluster.yaml --out out/shenzhen-14000p

# Debian packages (FRR, lldpd, sshd, Chromium, graphviz, ...): installed when root, else named
deps:
	PYTHON=$(PYTHON) scripts/deps.sh

lock:
	scripts/lock.sh $(PYTHON) $(LOCK)

lint: setup
	$(BIN)/ruff check wanka tests benchmarks scripts
	$(BIN)/ruff format --check wanka tests benchmarks stacks scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts

# deps first: it may install python3-venv, which setup needs (prerequisites run left to right)
test: deps lint
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
