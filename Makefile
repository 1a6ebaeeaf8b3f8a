# LabelMint Pay — the two commands that do everything on a fresh machine:
#   make up    build, start what is needed, run the main job and print what matters
#   make test  install what is missing, start what the tests need, run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help up test tools node-deps contracts-check jest rust-lint rust-test build gas vectors fmt

help:
	@echo "make up     run the demo scenario on @ton/sandbox and print the gas table"
	@echo "make test   every test: contracts build check, jest (sandbox), cargo fmt/clippy/test"
	@echo "make build  recompile the Tolk contracts into contracts/build/"
	@echo "make gas    re-measure contracts/GAS.md"
	@echo "make vectors  rewrite contracts/vectors/abi.json (TS -> Rust ABI test vectors)"

tools:
	@./scripts/ensure-tools.sh

node-deps: tools
	@./scripts/node-deps.sh

up: node-deps
	cd contracts && npm run --silent build:check
	cd contracts && npx ts-node scripts/demo.ts
	@echo
	@cat contracts/GAS.md

test: node-deps contracts-check jest rust-lint rust-test
	@echo "make test: all green"

contracts-check: node-deps
	cd contracts && npm run --silent build:check

jest: node-deps
	cd contracts && npx jest --runInBand

rust-lint: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

rust-test: tools
	$(CARGO) test --workspace --locked

build: node-deps
	cd contracts && npm run --silent build

gas: node-deps
	cd contracts && npm run --silent gas

vectors: node-deps
	cd contracts && npm run --silent vectors

fmt:
	$(CARGO) fmt --all
