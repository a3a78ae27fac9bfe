# Two commands: `make app` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PY ?= $(shell for p in python3 python3.13 python3.12 python3.11; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# Extras installed into .venv; CI adds `local` (the llama.cpp server and a tiny model).
EXTRAS ?= test,e2e
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
PORT ?= 8501

.PHONY: app test lint venv clean mutation train

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "coach needs Python 3.11 or newer, and none was found. Install python3.11+ (e.g. apt-get install python3) and run again."; exit 1; }
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "coach needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Install python3.11+ and run again (or: make PY=/path/to/python3.11 ...).")'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

app: $(STAMP)
	$(BIN)/coach app --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check coach tests

# One worker more than there are cores: many tests spend their time waiting (on a
# subprocess, a server's timeout, the app starting), and the extra worker runs while one
# waits; but each worker also pays ~10 s of CPU of its own (collecting the tests, loading
# the language models and the rules), and on two cores a fourth worker cost more than it
# saved: in runs interleaved on one machine, 106/123 s with three workers against 108/141 s
# with four. --dist loadgroup keeps the tests that share a costly module fixture (marked
# xdist_group) on one worker, so it is built once.
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

# Retrain the built-in judge's learned reading (coach/judges/acts/learned.json) from the
# project's own labelled sentences; run it after changing them or the rule files.
train: $(STAMP)
	$(BIN)/python -m coach.judges.acts.train

# Mutation testing of the pure core (mutmut 3, configured in pyproject [tool.mutmut]): each
# mutant runs only tests/core, on 2 workers (the machine is shared). Not part of `make test`.
mutation: $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check 'mutmut>=3.3'
	@# mutmut caches results by mutant and misses changed tests: start from a clean copy
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

clean:
	rm -rf $(VENV) test-output .pytest_cache .ruff_cache mutants
