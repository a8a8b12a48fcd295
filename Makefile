# The two commands a newcomer needs: `make demo` and `make test`. Both set up everything
# (virtual environment, douane, Apache Kafka jars from Maven Central) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck kafka-stop clean softhsm browser

# Every package comes from requirements/ (exact versions, sha256 of each file: pip refuses
# anything else); scripts/lock-requirements.sh writes those files from pyproject.toml.
LOCKS := requirements/tools.txt requirements/dev.txt requirements/no-deps.txt
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes --only-binary :all:

$(INSTALLED): pyproject.toml $(LOCKS)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "douane needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# pip itself and the build backend, then the dependencies and the dev tools
	$(PIP_LOCKED) -r requirements/tools.txt
	$(PIP_LOCKED) -r requirements/dev.txt
	# Spanish NER model: its metadata asks for spacy<3.2, but it runs on spaCy 3.8
	$(PIP_LOCKED) --no-deps -r requirements/no-deps.txt
	# douane itself, built with the locked backend, nothing fetched
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@$(MAKE) --no-print-directory softhsm
	@$(MAKE) --no-print-directory browser
	touch $(INSTALLED)

# SoftHSM2, a PKCS#11 token in software, from Debian's packages: the tests of audit signing keys
# and key-encryption keys held in a token run against it. Installed when missing if we are root
# with apt-get (as on CI); otherwise those tests are skipped and say why.
SOFTHSM_MODULE := /usr/lib/softhsm/libsofthsm2.so
softhsm:
	@if [ -e $(SOFTHSM_MODULE) ] && command -v softhsm2-util >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -qq softhsm2 >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq softhsm2 >/dev/null 2>&1)) \
	  && echo "softhsm2 installed (PKCS#11 token for the key tests)" \
	  || echo "softhsm2 could not be installed with apt-get: the PKCS#11 token tests will be skipped"; \
	else \
	  echo "softhsm2 is not installed and apt-get cannot be used here (not root, or not Debian):"; \
	  echo "  the PKCS#11 token tests will be skipped; to run them: sudo apt-get install softhsm2"; \
	fi

# Chromium and its WebDriver from Debian's packages (no browser downloaded from elsewhere): the
# console's end-to-end tests drive them. Installed when missing if we are root with apt-get (as
# on CI); otherwise those tests are skipped and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && \
	    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) \
	  && echo "chromium and chromium-driver installed (the console's browser tests)" \
	  || echo "chromium could not be installed with apt-get: the console's browser tests will be skipped"; \
	else \
	  echo "chromium is not installed and apt-get cannot be used here (not root, or not Debian):"; \
	  echo "  the console's browser tests will be skipped; to run them: sudo apt-get install chromium chromium-driver"; \
	fi

demo: $(INSTALLED)
	$(BIN)/douane kafka start
	$(BIN)/douane demo

test: $(INSTALLED)
	$(BIN)/ruff check streams tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check streams tests

typecheck: $(INSTALLED)
	$(BIN)/mypy

kafka-stop: $(INSTALLED)
	$(BIN)/douane kafka stop

clean:
	-$(BIN)/douane kafka stop
	rm -rf $(VENV) .douane
