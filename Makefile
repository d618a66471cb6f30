# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make book   builds the HTML book into _build/html (the main job)
#   make test   runs the whole test suite (unit, data, notebooks with nbval, book, browser)
# Both create the virtual environment .venv from requirements.lock when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# One BLAS thread per process: the book's matrices are small, and two test workers on two cores
# must not each start a pool of threads that fight for the same cores.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
# Let Python cache compiled modules in .venv and src (some shells set PYTHONDONTWRITEBYTECODE, which
# makes every run recompile pandas, scipy and statsmodels on import: seconds per process).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: book test env data lock bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

env: $(STAMP)

book: $(STAMP)
	$(PY) -m ztown book

# nbval in strict mode: every notebook re-executed and its outputs compared with the committed ones.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadscope tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

data: $(STAMP)
	$(PY) -m ztown synth --out datapackage

bench: $(STAMP)
	$(PY) benchmarks/run.py

lock:
	$(VENV)/bin/uv pip compile requirements.in --python-version 3.11 \
	  --override requirements-overrides.txt --generate-hashes --no-header -o requirements.lock
	$(PY) scripts/environment_yml.py

environment.yml: requirements.lock
	$(PY) scripts/environment_yml.py

clean:
	rm -rf _build
