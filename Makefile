# Two entry points: `make pipeline` (set up, then run the default pipeline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NAMVENV ?= .venv-nam

.PHONY: setup setup-gpu pipeline capture test test-slow test-nam test-ray lint bench

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

# Training on an NVIDIA GPU (Linux with the NVIDIA driver): the same environment with TensorFlow's CUDA
# build, tensorflow[and-cuda] at the version requirements.txt pins for tensorflow-cpu (CUDA and cuDNN
# come from pip). No code changes: TensorFlow places training on the GPU by itself, and the train stage
# and the benchmarks print the device. A later `make setup` after requirements.txt changes brings the
# CPU build back: run `make setup-gpu` again then.
TF_VERSION = $(shell sed -n 's/^tensorflow-cpu==//p' requirements.txt)

setup-gpu:
	@test -n "$(TF_VERSION)" || { echo "requirements.txt pins no tensorflow-cpu==<version>"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip uninstall --quiet --yes tensorflow-cpu tensorflow
	grep -v '^tensorflow-cpu==' requirements.txt > $(VENV)/requirements-gpu.txt
	echo 'tensorflow[and-cuda]==$(TF_VERSION)' >> $(VENV)/requirements-gpu.txt
	$(BIN)/pip install --quiet -r $(VENV)/requirements-gpu.txt
	touch $(STAMP)
	$(BIN)/python -c "from drywet.train import device_name; print('training runs on', device_name())"

pipeline: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" PYTHONUNBUFFERED=1 dvc repro

# A player's capture: make capture NAME=mypedal DRY=dry.wav WET=wet.wav (python -m drywet capture).
capture: $(STAMP)
	@test -n "$(NAME)" -a -n "$(DRY)" -a -n "$(WET)" || { echo "usage: make capture NAME=mypedal DRY=dry.wav WET=wet.wav"; exit 2; }
	PATH="$(abspath $(BIN)):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/python -m drywet capture "$(NAME)" "$(DRY)" "$(WET)"

# The tests, minus the end-to-end ones marked slow (each a `dvc repro` of a temp copy, or a killed
# training): those run in `make test-slow`, and CI runs both.
test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m benchmarks.run

# Cross-check the exports against the plugins' own loaders: NAM's (neural-amp-modeler) for .nam (LSTM and
# WaveNet files), and
# PyTorch's nn.LSTM + nn.Linear for the Proteus state dict. Both need PyTorch, so they live in a separate
# environment; skipped with a message when the packages cannot be installed.
test-nam:
	@if $(PYTHON) -m venv $(NAMVENV) && $(NAMVENV)/bin/pip install --quiet torch==2.13.0 \
	    && $(NAMVENV)/bin/pip install --quiet neural-amp-modeler==0.13.0 tensorflow-cpu==2.21.0 \
	       "keras>=3.10,<4" "numpy>=2.0,<2.5" "scipy>=1.14,<1.18" "soundfile>=0.12,<0.15" \
	       "numba>=0.61,<0.69" pyyaml pytest; then \
	  $(NAMVENV)/bin/python -m pytest -q -rs -p no:cacheprovider tests/export/test_export.py tests/wavenet/test_wavenet.py; \
	else echo "neural-amp-modeler could not be installed here; the NAM cross-check was skipped"; fi

# The study on a two-CPU Ray cluster that the test starts in a loopback-only network namespace
# (tests/study/test_ray.py; a few minutes). Ray goes into the project's environment (requirements-ray.txt).
test-ray: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-ray.txt
	PATH="$(abspath $(BIN)):$$PATH" DRYWET_TEST_RAY=1 $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/study/test_ray.py
