# The one task runner: CI (.ci/run), pre-commit and people call these targets.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(HOME)/.cargo/bin:$(PATH)
export UV_PYTHON_DOWNLOADS := never
CRATE := crates/flama-core
RUN := uv run --no-sync
PY_SOURCES := crates/flama-core/python packages/*/src
FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= 2
FUZZ_LONG_SECONDS ?= 300
FUZZ_TARGETS := route_template multipart boundary urlencoded json_write json_numbers cookies accept_encoding decompress

.PHONY: install browser build release-dry-run test-matrix format lint typecheck test test-fast bench bench-load bench-batching bench-constrained bench-long-prompt bench-json-offload bench-encoding soak fuzz-flm fuzz fuzz-ci demo demo-model rust-lint rust-test rust-coverage clean mcp-conformance coverage

install: ## the locked workspace, editable, with the Rust core built
	./scripts/bootstrap

browser: ## Debian's Chromium for the browser tests (apt-get, when root and /usr/bin/chromium is missing)
	./scripts/install-browser

build: ## every distribution's wheel and sdist into dist/ (flama-core for this Python)
	./scripts/build-docs-assets
	rm -rf dist && uv build --all-packages --out-dir dist

release-dry-run: ## the release workflow's build steps for this platform: flama-core per local Python, into dist/release/
	./scripts/release-dry-run

test-matrix: ## the framework suites on every other Python found here (3.10, 3.12, 3.13), model serving (no torch) on 3.12
	./scripts/test-matrix

format:
	$(RUN) ruff format .
	$(RUN) ruff check --fix .
	cd $(CRATE) && cargo fmt

lint: rust-lint
	./scripts/actionlint
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) codespell crates/flama-core/src crates/flama-core/python packages tests benchmarks README.md

rust-lint:
	cd $(CRATE) && cargo fmt --check
	cd $(CRATE) && cargo clippy --all-targets --locked -- -D warnings
	cd $(CRATE) && cargo clippy --all-targets --locked --features python -- -D warnings

rust-test:
	cd $(CRATE) && cargo test --locked

rust-coverage: ## flama-core's Rust line and region coverage (its Rust tests and tests/core, cargo llvm-cov); fails if a figure falls below scripts/coverage-baseline.json
	./scripts/rust-coverage

typecheck: ## mypy strict per distribution, tests and benchmarks, and stubtest against the binary
	./scripts/typecheck

test: install ## the README's test command: installs what is missing, runs the whole suite under coverage, checks it
	$(RUN) coverage erase
	$(RUN) coverage run -m pytest
	$(RUN) coverage json -q -o .coverage.json
	$(RUN) python scripts/coverage-gate .coverage.json

test-fast: ## the suite without the slow wheel/venv builds
	$(RUN) pytest -m "not slow"

coverage: ## line and branch coverage per distribution (the suite but its slow wheel builds); fails if a figure falls below scripts/coverage-baseline.json
	$(RUN) coverage erase
	$(RUN) coverage run -m pytest -p no:randomly -q -m "not slow"  # slow tests build wheels in subprocesses: nothing to measure
	$(RUN) coverage json -q -o .coverage.json
	$(RUN) python scripts/coverage-gate .coverage.json

bench: ## instruction counts (callgrind) against peers, both suites, written to benchmarks/RESULTS.md
	$(RUN) python -m benchmarks run

bench-batching: ## many users at once, demo model and its Flama 2.2.2 copy (MLX beside Flama 2.2.2 and mlx_lm.server, then transformers); minutes
	$(RUN) python -m benchmarks.llm_batching --backend mlx --peers
	$(RUN) python -m benchmarks.llm_batching --backend transformers

soak: ## server memory under 32 LLM streams for SOAK_SECONDS (600) and a 500-request predictive burst, into RESULTS.md
	$(RUN) python -m benchmarks soak

fuzz-flm: ## the .flm reader's Hypothesis fuzz target for FLM_FUZZ_EXAMPLES examples (20,000; the suite runs 200)
	FLM_FUZZ_EXAMPLES=$${FLM_FUZZ_EXAMPLES:-20000} $(RUN) pytest tests/models/test_fuzz.py -q

bench-long-prompt: ## the longest pause of a running stream while a 4 MiB prompt arrives, prompts prepared off the event loop or on it; a minute
	$(RUN) python -m benchmarks.llm_long_prompt

bench-json-offload: ## the event loop's longest pause while a 16 MiB JSON body decodes in a worker thread, with and without yield_gil; seconds
	$(RUN) python -m benchmarks.json_offload

bench-encoding: ## a conversation's next turn encoded whole and reusing the last turn's token ids; seconds
	$(RUN) python -m benchmarks.llm_encoding

bench-constrained: ## what constrained decoding costs per token: tokens/s with and without json_object, demo model, MLX and transformers
	$(RUN) python -m benchmarks.llm_constrained

bench-load: ## requests per second (wrk against uvicorn, loopback) for every HTTP subject, into RESULTS.md; minutes
	$(RUN) python -m benchmarks load --suite http

fuzz: ## every fuzz target for FUZZ_LONG_SECONDS seconds (300; nightly toolchain + cargo-fuzz)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd $(CRATE)/fuzz && for t in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run $$t -- -max_total_time=$(FUZZ_LONG_SECONDS) || exit 1; done

fuzz-ci: ## every fuzz target for FUZZ_SECONDS seconds (30), built once first, FUZZ_JOBS (2) at a time: the CI stage
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd $(CRATE)/fuzz && cargo +nightly fuzz build
	cd $(CRATE)/fuzz && printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_JOBS) -I{} \
		cargo +nightly fuzz run {} -- -max_total_time=$(FUZZ_SECONDS)

DEMO_SERVE := --model file=examples/models/assistant.flm,url=/llm/,name=assistant

demo: ## the README's main command: a lean environment (.venv-demo) serving the demo LLM on http://127.0.0.1:8000/llm/
	./scripts/demo $(DEMO_SERVE)

demo-model: ## rebuild examples/models/assistant.flm: train the tiny demo LLM and check it in mlx-lm and transformers
	./scripts/build-demo-model

CHAT_UI := packages/flama-chat-ui/frontend
CHAT_UI_STATIC := packages/flama-chat-ui/src/flama/chat_ui/static

.PHONY: chat-ui chat-ui-check chat-ui-test

# The chat app's npm dependencies, installed from its lockfile when the lockfile changes (no install scripts run).
$(CHAT_UI)/node_modules/.package-lock.json: $(CHAT_UI)/package-lock.json
	cd $(CHAT_UI) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

chat-ui: $(CHAT_UI)/node_modules/.package-lock.json ## the chat app: type-check and build into flama-chat-ui's static/ (committed)
	cd $(CHAT_UI) && npm run --silent build -- --logLevel warn --outDir ../src/flama/chat_ui/static --emptyOutDir

chat-ui-check: chat-ui ## rebuild the chat app and fail when the output differs from what is committed
	@git diff --exit-code --stat -- $(CHAT_UI_STATIC) && test -z "$$(git status --porcelain -- $(CHAT_UI_STATIC))" \
		|| { echo "chat-ui-check: the committed chat app is not what its sources build: run make chat-ui and commit"; exit 1; }

chat-ui-test: $(CHAT_UI)/node_modules/.package-lock.json ## the chat app's component tests (Vitest, jsdom)
	cd $(CHAT_UI) && npx vitest run

mcp-conformance: ## @modelcontextprotocol/conformance (npm, Node 22 into .cache/) against examples/mcp_conformance.py, both MCP eras
	./packages/flama-mcp/conformance/run

clean:
	rm -rf dist .venv .venv-demo .venv-py* $(CRATE)/target benchmarks/.venvs benchmarks/.work
