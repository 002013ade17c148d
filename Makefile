# Two commands do everything on a fresh machine:
#   make survey   fetch -> parse -> index -> summarize -> export the default list (corpus/papers.toml)
#   make test     the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser llm-server survey test bench gpu
setup: $(VENV)/.installed

# torch is pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

# Headless Chromium (and CJK fonts) for the HTML export's screenshot test; tesseract for the OCR of scans.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && [ -d /usr/share/fonts/opentype/noto ] && \
	  command -v tesseract >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver fonts-noto-cjk tesseract-ocr; }

# llama.cpp's OpenAI-compatible server and a 98 MB model, for the tests of the LLM backend over HTTP.
# llama-cpp-python has no wheel on PyPI: it builds from source, once, into pip's cache. Not for the build
# machine's own CPU (GGML_NATIVE): these Xeons announce AMX, which a native build uses and the VM then traps.
LLAMA_CMAKE := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
llm-server: $(VENV)/.llm-server
$(VENV)/.llm-server: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install -q -e '.[llm-test]'
	touch $@

survey: setup
	scripts/survey.sh

test: setup browser llm-server
	$(BIN)/python -m pytest -q

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

# On a CUDA machine: faiss-gpu in place of faiss-cpu (both install the `faiss` module, so one must go).
gpu: setup
	$(BIN)/pip install -q -e '.[gpu]'
	$(BIN)/pip uninstall -q -y faiss-cpu
	$(BIN)/pip install -q --force-reinstall --no-deps faiss-gpu-cu12
