# Shiftboss — the two commands are `make demo` and `make test`. Every target is idempotent and
# installs what it needs: the venv (Python >= 3.11) and the system tools (redis-server, tmux).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_TOOLS := redis-server tmux
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

NODE_TOOLS := node_modules/.installed
#: the CloudMesh program (C → BPF object → SBPF v0 ELF), loaded by the local Solana node
SBF_PROGRAMS := engine/devnets/solana/programs/cloudmesh.so

.PHONY: help venv system node contracts programs demo test lint bench clean

help: ## show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

venv: $(VENV)/.installed $(VENV)/.kernels system $(SBF_PROGRAMS) ## create .venv, install Shiftboss with its test tools, compile the PoW kernels and the Solana program

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is needed ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# numba compiles the PoW kernels on first use (30-40 s on 2 cores); do it once here, into
# NUMBA_CACHE_DIR, so the first demo or engine hashes at once instead of showing `compiling`.
$(VENV)/.kernels: $(VENV)/.installed engine/pow/_kale_kernel.py engine/pow/_counter_kernel.py
	@echo "compiling the PoW kernels once (cached in $(NUMBA_CACHE_DIR)) …"
	$(BIN)/python -c 'from engine.jobs.pow import warm_pow_kernels; warm_pow_kernels()'
	touch $@

system: ## install redis-server, tmux, bubblewrap and util-linux (the sandbox for foreign code), clang-14 (the Solana program), ipfs-cid (checks our CIDs), postgresql (the shared store's tests start throwaway clusters) and OpenSSL headers (bench baseline) from Debian if missing
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	[ -f /usr/include/openssl/sha.h ] || missing="$$missing libssl-dev"; \
	command -v setpriv >/dev/null || missing="$$missing util-linux"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v clang-14 >/dev/null || missing="$$missing clang-14"; \
	command -v ipfs_cid >/dev/null || missing="$$missing ipfs-cid"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

node: $(NODE_TOOLS) ## install anvil (local EVM devnet), solc-js and @stellar/stellar-sdk (judges the KALE devnet) into ./node_modules

$(NODE_TOOLS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing: nodejs npm"; $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

programs: $(SBF_PROGRAMS) ## build the CloudMesh Solana program from programs/cloudmesh/cloudmesh.c

engine/devnets/solana/programs/cloudmesh.so: programs/cloudmesh/cloudmesh.c programs/sbf_link.py | $(VENV)/.installed system
	@mkdir -p $(@D)
	clang-14 -target bpfel -mcpu=v2 -O2 -fno-builtin -ffreestanding -Wall -Werror -c $< -o $(@:.so=.o)
	$(BIN)/python programs/sbf_link.py $(@:.so=.o) $@
	@rm -f $(@:.so=.o)

contracts: $(NODE_TOOLS) ## compile contracts/*.sol with the pinned solc-js into engine/chains/evm/artifacts/
	node contracts/compile.js

demo: venv $(NODE_TOOLS) ## start a devnet and an engine with demo load (detached), open the console
	$(BIN)/shiftboss up

test: venv $(NODE_TOOLS) ## lint (ruff, import layers, mypy), then run the whole test suite (slow tests included)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest

lint: venv ## ruff (with ASYNC rules), import-linter contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

bench: venv ## every benchmark, each beside its baseline
	$(BIN)/shiftboss bench queue
	$(BIN)/shiftboss bench pow
	$(BIN)/shiftboss bench console
	$(BIN)/shiftboss bench kale
	$(BIN)/shiftboss bench pool

clean: ## remove the venv and caches (not your data dir)
	rm -rf $(VENV) node_modules .cache .pytest_cache .ruff_cache .mypy_cache *.egg-info
