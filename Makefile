# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make book        builds the HTML book into _build/html (the main job)
#   make test        runs the whole test suite (unit, data, notebooks with nbval, book, browser)
# and, for reviewers and authors:
#   make replicate   re-executes every chapter in a scratch folder and compares every published
#                    result with the committed notebooks; report in _build/replication/
#   make publish     re-executes the chapters in place and refreshes notebooks/figure_data (the
#                    only command that changes committed results)
# All create the virtual environment .venv from requirements.lock when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# One BLAS thread per process by default: the book's matrices are small, and two test workers on
# two cores must not each start a pool of threads that fight for the same cores. A value the caller
# sets wins (`OPENBLAS_NUM_THREADS=2 make test` runs with two), so a reviewer's setting is the one
# tested; the results do not depend on it (see the README, "For reviewers").
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# Let Python cache compiled modules in .venv and src (some shells set PYTHONDONTWRITEBYTECODE, which
# makes every run recompile pandas, scipy and statsmodels on import: seconds per process).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: book pdf test replicate publish env data lock bench clean

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

# the HTML book, its single-page edition, and the PDF printed from it by Debian's Chromium
# (_build/pdf/ztown-book.pdf; every page of _build/html then links it)
pdf: $(STAMP)
	$(PY) -m ztown book --pdf

# nbval: every notebook re-executed once and each output compared with the committed one; the
# sanitizer masks numbers and images, which the "published results" check after each notebook
# (tests/published_results.py, loaded by tests/conftest.py: keep `tests` in the command) compares
# at their stated tolerances with ztown.publication.replicate.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadscope tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

# every chapter executed from scratch in _build/replication/work and compared with the committed one
replicate: $(STAMP)
	$(PY) -m ztown replicate

# re-execute the chapters in place (outputs into the .ipynb files, figure data into notebooks/figure_data)
publish: $(STAMP)
	$(PY) -m ztown publish

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
