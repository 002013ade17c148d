# Two commands do everything on a fresh machine:
#   make survey   fetch -> parse -> index -> summarize -> export the default list (corpus/papers.toml)
#   make test     the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser survey test bench gpu
setup: $(VENV)/.installed

# torch is pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

# Headless Chromium (and CJK fonts) for the HTML export's screenshot test.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && [ -d /usr/share/fonts/opentype/noto ] || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver fonts-noto-cjk; }

survey: setup
	scripts/survey.sh

test: setup browser
	$(BIN)/python -m pytest -q

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

# On a CUDA machine: faiss-gpu in place of faiss-cpu (both install the `faiss` module, so one must go).
gpu: setup
	$(BIN)/pip install -q -e '.[gpu]'
	$(BIN)/pip uninstall -q -y faiss-cpu
	$(BIN)/pip install -q --force-reinstall --no-deps faiss-gpu-cu12
