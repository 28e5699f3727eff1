# Thin Makefile: one command per target, mirroring the README.
# The first target that needs Python builds .venv and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?=
SET    ?=
TEXT   ?=
VECTORS ?= runs/embeddings/vectors.bin
MODEL  ?= runs/rnn/model.npz
SETARGS = $(foreach s,$(SET),--set $(s))
# QUIET=1: no progress bars or status lines (pipeline --quiet)
Q       = $(if $(filter 1 yes true,$(QUIET)),--quiet)

.PHONY: install train-embeddings train-rnn evaluate neighbors export predict evaluate-classifier demo data \
        test test-slow bench compare-gensim report clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

train-embeddings: $(STAMP)
	$(BIN)/pipeline $(Q) train-embeddings --config $(or $(CONFIG),configs/embeddings.yaml) $(SETARGS)

train-rnn: $(STAMP)
	$(BIN)/pipeline $(Q) train-rnn --config $(or $(CONFIG),configs/rnn.yaml) $(SETARGS)

evaluate: $(STAMP)
	$(BIN)/pipeline $(Q) evaluate-embeddings --vectors $(VECTORS)

neighbors: $(STAMP)
	$(BIN)/pipeline $(Q) neighbors --vectors $(VECTORS) $(WORDS) $(if $(POSITIVE),--positive $(POSITIVE)) \
		$(if $(NEGATIVE),--negative $(NEGATIVE))

export: $(STAMP)
	$(BIN)/pipeline $(Q) export --vectors $(VECTORS) --text $(or $(OUT),$(basename $(VECTORS)).txt)

predict: $(STAMP)
	$(BIN)/pipeline $(Q) predict --model $(MODEL) $(if $(INPUT),--input $(INPUT)) $(if $(OUTPUT),--output $(OUTPUT)) \
		$(if $(FORMAT),--format $(FORMAT)) $(if $(K),--k $(K)) $(if $(TEXT),"$(TEXT)")

evaluate-classifier: $(STAMP)
	$(if $(DATA),,$(error DATA is needed: labelled sentences, e.g. make evaluate-classifier DATA=data/SST2/stsa.binary.test))
	$(BIN)/pipeline $(Q) evaluate-classifier --model $(MODEL) --data $(DATA) $(if $(FORMAT),--format $(FORMAT)) \
		$(if $(ENCODING),--encoding $(ENCODING))

# One thread per stage: the same bytes on every run and machine. Stage two's 10 folds score all 200 sentences.
demo: $(STAMP)
	$(BIN)/pipeline train-embeddings --config configs/embeddings.yaml --set train.workers=1
	$(BIN)/pipeline train-rnn --config configs/rnn.yaml --set train.workers=1 --set data.folds=10
	$(BIN)/pipeline predict --model runs/rnn/model.npz "a gripping , beautifully acted film" "a dull , lifeless mess"
	@echo "What to expect: 200 labelled sentences and vectors from 530k words are a toy. The 10-fold accuracy above"
	@echo "is how often the classifier is right on sentences it has not seen (chance is 0.50): near chance, so the two"
	@echo "labels above are little better than a coin flip. Real results need real data: make data, then make report"
	@echo "(README, Results: SST-2 83%, MR 79% with vectors from 15M words)."

data: $(STAMP)
	$(BIN)/pipeline $(Q) download text8 mr sst2

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/compare_gensim.py --config $(or $(CONFIG),configs/text8.yaml) --repeats 3
	$(BIN)/python benchmarks/bench_rnn.py

compare-gensim: $(STAMP)
	$(BIN)/python benchmarks/compare_gensim.py --config $(or $(CONFIG),configs/text8.yaml) $(SETARGS)

report: $(STAMP)
	$(BIN)/python benchmarks/report_classification.py

clean:
	rm -rf runs .pytest_cache
