# SyncServer — `make help` lists the targets.

PYTHON ?= python3
VENV_PY := bin/python
PACKAGES := server-core server-storage server-reg server-full
BUILD_STAMP := .built
# Tests wait on databases and servers as much as on the CPU: three workers keep two cores busy.
PYTEST_ARGS ?= -n 3

.DEFAULT_GOAL := help
.PHONY: help build serve test lint bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(VENV_PY):
	$(PYTHON) -m venv .

# Rebuilt when any package's metadata changes; otherwise `make build` is instant.
$(BUILD_STAMP): $(VENV_PY) setup.py requirements-dev.txt $(addsuffix /setup.py,$(PACKAGES))
	$(VENV_PY) -m pip install --quiet --upgrade "pip>=23" "setuptools<81" wheel
	$(VENV_PY) -m pip install --quiet $(addprefix -e ,$(PACKAGES)) -e . -r requirements-dev.txt
	touch $(BUILD_STAMP)

build: $(BUILD_STAMP)  ## Make the environment in ./bin (bin/paster, bin/sync-admin, ...)

serve: build  ## Serve development.ini on http://127.0.0.1:5000 (SQLite)
	bin/paster serve development.ini

test: build  ## Run the whole test suite
	bin/pytest $(PYTEST_ARGS)

lint: build  ## Check the code with ruff
	bin/ruff check .

bench: build  ## Benchmark a realistic sync mix; writes bench-results/
	bin/python -m syncserver.bench --output bench-results

clean:  ## Remove the environment and local data
	rm -rf bin lib lib64 include share pyvenv.cfg $(BUILD_STAMP) var bench-results \
		*.egg-info */*.egg-info .pytest_cache .ruff_cache
