# The two commands of the README:
#   make example   set up (virtualenv + install), validate the bundled examples, plan and render sz1
#   make test      install the Debian packages the tests need (deps), set up, lint and run the
#                  whole test suite (what CI runs: .ci/run)
# and the pins: make lock  re-resolve every Python package into requirements/constraints.txt
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements/constraints.txt

.PHONY: example test setup deps lint lock bench docs tools tools-pulumi

# exactly the versions in requirements/constraints.txt (pip too, and the build backend:
# PIP_CONSTRAINT reaches pip's isolated build environment, where -c does not); redone when
# either file changes
$(BIN)/wanka: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c $(LOCK) --upgrade pip
	PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install --quiet -e '.[test]'
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

# deps first: it may install python3-venv, which setup needs (prerequisites run left to right);
# tools: the engine tests run the Pulumi CLI built there. pytest-xdist: TEST_WORKERS workers
# (CI: 2 cores), each module on one, the lab modules all on one (tests/conftest.py)
TEST_WORKERS ?= 2
test: deps tools lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: setup
	$(BIN)/python benchmarks/bench_validate.py --cards 50000
	$(BIN)/python benchmarks/bench_render.py --cards 50000
	$(BIN)/python benchmarks/bench_report.py --cards 50000
	$(BIN)/python benchmarks/bench_diff.py --cards 50000
	$(BIN)/python benchmarks/bench_pulumi.py --cards 50000

docs: setup
	$(BIN)/wanka rules --format markdown > docs/rules.md
	$(BIN)/python scripts/architecture.py

# Go programs the tests run, built pinned into .tools/bin (git-ignored; kept while their pins
# do not change). Needs Go >= the go line of tools/*/go.mod and the Go module proxy.
TOOLS := $(abspath .tools/bin)
GO    ?= go
GOENV := GOTOOLCHAIN=local GOFLAGS=-mod=readonly
tools: tools-pulumi

# the Pulumi CLI (github.com/pulumi/pulumi/pkg/v3, cmd/pulumi) at the version of
# tools/pulumi/go.mod, and the dynamic-provider script of the same release's SDK module
# (sdk/python/dist: what the engine starts for pulumi.dynamic resources)
tools-pulumi: $(TOOLS)/pulumi $(TOOLS)/pulumi-resource-pulumi-python

$(TOOLS)/pulumi: tools/pulumi/go.mod tools/pulumi/go.sum
	@command -v $(GO) >/dev/null || { echo "make tools: no Go toolchain (go 1.26 or later)" >&2; exit 1; }
	mkdir -p $(TOOLS)
	cd tools/pulumi && v=$$($(GOENV) $(GO) list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3) \
	  && $(GOENV) nice -n 10 $(GO) build -trimpath -o $@.tmp \
	     -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$$v" \
	     github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
	mv $@.tmp $@

$(TOOLS)/pulumi-resource-pulumi-python: tools/pulumi/go.mod tools/pulumi/go.sum
	mkdir -p $(TOOLS)
	cd tools/pulumi && $(GOENV) $(GO) mod download github.com/pulumi/pulumi/sdk/v3 \
	  && d=$$($(GOENV) $(GO) list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3) \
	  && test -n "$$d" && install -m 0755 "$$d/python/dist/pulumi-resource-pulumi-python" $@
