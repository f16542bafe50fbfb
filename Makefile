# Tasks named in the README. `make run` and `make test` set everything up themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# torch is needed only for the one-time ONNX export of the embedding model. Its CPU wheels live
# on the PyTorch CPU index; PyPI's default build pulls multi-GB CUDA libraries. Where that index
# cannot be reached, pip falls back to the other indexes it is configured with.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install install-dev install-llm run serve refresh test test-llm load bench bench-100k audit eval eval-policyqa lint-evidence fit fit-encoder fit-encoder-bias calibrate lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned, CPU build: the wheel alone from TORCH_INDEX (one lookup there), then its
	# dependencies from the usual indexes; then what running needs, no test tools.
	@echo "[install 1/2] torch, CPU build (for the one-time model export)"
	$(PY) -m pip install --quiet --no-deps --index-url $(TORCH_INDEX) torch==2.13.0 || true
	$(PY) -m pip install --quiet torch==2.13.0
	@echo "[install 2/2] the assistant and what it runs on"
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

install: $(STAMP)

$(DEV_STAMP): $(STAMP)
	@echo "[install] test tools: pytest, playwright, mypy, ruff, hypothesis, pre-commit, radon"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP)

install-dev: $(DEV_STAMP)

LLM_STAMP := $(VENV)/.installed-llm
# llama.cpp is built for any x86-64 with AVX2, not for the building CPU (GGML_NATIVE=OFF): the
# native build's AVX-512/AMX code crashed the server on a machine of this project's kind. The wheel
# is built once per machine into LLAMA_WHEELS, bypassing pip's cache, which may hold a native build.
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_WHEELS ?= $(HOME)/.cache/policy-assistant/wheels/llama-cpp-python-0.3.36-generic
$(LLM_STAMP): $(DEV_STAMP)
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(PY) -m pip wheel --quiet --no-cache-dir --no-deps "$(LLAMA_CPP)" -w $(LLAMA_WHEELS)
	$(PY) -m pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install --quiet --find-links $(LLAMA_WHEELS) -e ".[dev,llm-test]"
	touch $(LLM_STAMP)

install-llm: $(LLM_STAMP)

run: install          ## install, build the index, serve the chat on http://127.0.0.1:7860
	$(VENV)/bin/assistant refresh
	$(VENV)/bin/assistant serve

refresh: install
	$(VENV)/bin/assistant refresh

test: install-dev         ## unit, integration and golden-eval tests
	$(PY) -m pytest -q

test-llm: install-llm ## generative answers against a real llama.cpp server (Gemma 3 270M)
	$(PY) -m pytest -q -m llm

load: install-dev         ## 16, 32 and 64 web-chat users x 6 questions: quiet, during refreshes, beside a busy core; fails on any failed request
	$(PY) bench/load.py --users 16 32 64 --questions 6 --json-out reports/load.json --before bench/results/load-before.json

bench: install-dev        ## speed and scale at 1k and 10k chunks (about 12 min): bench/results/scale.json, scale.png (keeps the 100k row)
	$(PY) bench/scale.py --sizes 1000 10000 --backend torch onnx --merge --out bench/results

bench-100k: install-dev   ## the 100k-chunk row (about 40 min here), merged into bench/results/scale.json
	$(PY) bench/scale.py --sizes 100000 --backend onnx --merge --out bench/results

audit: install        ## known vulnerabilities in the installed dependencies (pip-audit; see .ci/audit)
	PY=$(PY) bash .ci/audit

eval: install         ## every eval set side by side (reports/eval/); fails below evals/thresholds.toml
	$(PY) evals/policyqa.py convert
	$(VENV)/bin/assistant eval --all --check --quiet --report reports/eval --json-out reports/eval/all.json

eval-policyqa: install ## PolicyQA report policies: the assistant beside BM25 and dense sentence ranking (reports/policyqa/)
	$(PY) evals/policyqa.py convert
	$(PY) evals/policyqa.py eval --quiet

lint-evidence: install ## which corpus sentences each evidence string matches; fails on unreviewed or broad matches
	$(PY) evals/policyqa.py convert
	$(VENV)/bin/assistant eval --all --lint-evidence

fit-encoder: install  ## fine-tune the encoder on the PolicyQA fit policies into build/encoder-*/ (about 20 min; an experiment, see evals/README.md)
	$(PY) evals/fit_encoder.py

fit-encoder-bias: install  ## fit the encoder's biases only into assistant/encoder_bias.npz (about 10 min; then `make fit`; an experiment, see evals/README.md)
	$(PY) evals/fit_encoder.py --bitfit --lr 1e-3 --epochs 2

fit: install          ## fit the sentence scorer and the decision to answer on the fit sets (assistant/scorer.json); prints out-of-fold figures
	$(PY) evals/fit.py

calibrate: install    ## refit the abstention threshold on the dev set (writes ASSISTANT_HOME/calibration.json)
	$(VENV)/bin/assistant eval --questions evals/dev.jsonl --calibrate

lint: install-dev
	$(VENV)/bin/ruff check assistant tests app.py
	$(VENV)/bin/ruff format --check assistant tests app.py
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff format assistant tests app.py
	$(VENV)/bin/ruff check --fix assistant tests app.py

clean:
	rm -rf .assistant reports .pytest_cache .mypy_cache .ruff_cache
