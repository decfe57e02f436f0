# ConvNet Explorer. `make run` starts the app, `make test` runs every test; both install first if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench loadtest weights clean

install: $(STAMP)

# Plain pip in a venv: torch and torchvision come from this machine's disk (uv/poetry would download GBs).
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

run: install
	$(VENV)/bin/streamlit run app.py

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/bench_analysis.py
	$(PY) bench/bench_pages.py
	$(PY) bench/bench_activations.py
	$(PY) bench/bench_augment.py
	$(PY) bench/bench_load.py
	$(PY) bench/bench_compare.py
	$(PY) bench/bench_browser.py
	$(PY) bench/bench_transfer_demo.py
	$(PY) bench/bench_finetune.py

# 3 replicas behind nginx (installed from Debian's packages if missing), 30 browser sessions, a replica killed
# mid-run, then one replica's capacity; not part of `make test` (README "Deploying for a class")
loadtest: install
	$(PY) bench/loadtest.py

# torchvision's pretrained weights of the course's classics into weights/hub/checkpoints (torch hub's layout), each
# checked to load; needs internet. `docker build --build-arg BAKE_WEIGHTS=1` bakes them into the image.
WEIGHTS_DIR := weights
weights: install
	TORCH_HOME=$(CURDIR)/$(WEIGHTS_DIR) $(PY) -m explorer weights

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
