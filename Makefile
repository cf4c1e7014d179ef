# One-command set-up: `make lab` opens the tutorial, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CONSTRAINTS := requirements/constraints.txt

.PHONY: install lab app test demo bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -c $(CONSTRAINTS) torch==2.13.0
	$(PY) -m pip install -c $(CONSTRAINTS) -e ".[datasets,test,teach]"
	touch $(STAMP)

install: $(STAMP)

# JupyterLab refuses to start as root unless told; containers and CI machines often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/01_quickstart.ipynb

# The explorer as a web page for students (Voila: no code shown). Voila has no root check, so no ROOT_FLAG;
# it opens a browser tab where it can and prints the address (http://localhost:8866/) either way.
app: $(STAMP)
	$(VENV)/bin/voila notebooks/app.ipynb

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/relaywidgets demo

bench: $(STAMP)
	$(PY) benchmarks/recording_bench.py

clean:
	rm -rf $(VENV) runs tests/artifacts
