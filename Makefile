# ConvNet Explorer. `make run` starts the app, `make test` runs every test; both install first if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

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

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
