# edgekit's stable interface: deps, build, test, demo, bench (see README.md).
#   make deps    install the Debian packages the build and the tests need (as root, or with sudo)
#   make build   CLI at build/edgekit, Python package importable with PYTHONPATH=build/python
#   make test    every test: C++ (CTest + GoogleTest) then Python (pytest)
#   make demo    inspect, run and benchmark a small model end to end
#   make test-asan   the tests again, built with AddressSanitizer + UBSan into build-asan/
#   make fuzz        libFuzzer targets (clang) into build-fuzz/, each run FUZZ_SECONDS seconds
#   make size        device runtime size and .ekm load time against ONNX Runtime
#   make runtime-selective  a device runtime of only the ops some models need, into build-rt/
#   make quant-study Fashion-MNIST accuracy of edgekit's quantizer against ORT and PyTorch
BUILD ?= build
JOBS ?= $(shell nproc)
PYTHON ?= python3
SHARED ?= $(abspath ../shared)
FIXTURES ?= $(abspath fixtures)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build and run-time dependencies, then what the tests use to make fixtures (PyTorch exports
# the model zoo, python3-onnx writes the ONNX node tests).
DEB_BUILD := cmake ninja-build g++ pkg-config libonnx-dev libprotobuf-dev protobuf-compiler \
  libflatbuffers-dev flatbuffers-compiler libhwy-dev libsodium-dev libstb-dev nlohmann-json3-dev libcli11-dev \
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pip libgtest-dev googletest zlib1g-dev
DEB_TEST := python3-torch python3-torchvision python3-onnx dataset-fashion-mnist
# libFuzzer and clang's sanitizer runtimes (make fuzz; make test-asan uses g++'s own), and
# flatbuffers for Python, which writes small TFLite seeds.
DEB_FUZZ := clang libclang-rt-14-dev python3-flatbuffers

# $(call apt-install,PACKAGES): installs those of PACKAGES that are missing, nothing when all are there.
apt-install = missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make $@: installing" $$missing; \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

.PHONY: all deps deps-peers deps-fuzz build test test-cpp test-python test-asan fuzz fixtures demo bench size runtime-selective quant-study clean
all: build

deps:
	@$(call apt-install,$(DEB_BUILD) $(DEB_TEST))
	@$(PYTHON) -c "import numpy, pytest" 2>/dev/null || { echo "make deps: installing numpy and pytest for $(PYTHON)"; \
	  $(PYTHON) -m pip install -q numpy pytest || $(PYTHON) -m pip install -q --break-system-packages numpy pytest; }

# Peers the tests compare against (never needed to build or run edgekit): ONNX Runtime, LiteRT,
# and the onnx package, which some Python tests use to write small models.
PEERS := onnxruntime ai-edge-litert onnx
deps-peers:
	@$(PYTHON) -c "import onnxruntime, ai_edge_litert, onnx" 2>/dev/null || { echo "make deps-peers: installing $(PEERS)"; \
	  $(PYTHON) -m pip install -q $(PEERS) || \
	  $(PYTHON) -m pip install -q --break-system-packages $(PEERS); }

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$$(command -v $(PYTHON)) \
	  -DEDGEKIT_FIXTURES=$(FIXTURES)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Generated test data, kept out of git: the ONNX node tests and the PyTorch model zoo.
fixtures: $(FIXTURES)/onnx/.done $(FIXTURES)/zoo/.done

$(FIXTURES)/onnx/.done:
	@if [ -f $(SHARED)/tools/gen_onnx_node_tests.sh ]; then \
	  bash $(SHARED)/tools/gen_onnx_node_tests.sh $(FIXTURES)/onnx > $(FIXTURES).onnx.log 2>&1 && touch $@ && tail -1 $(FIXTURES).onnx.log; \
	else echo "fixtures: $(SHARED)/tools is absent; ONNX node tests will be skipped"; fi

$(FIXTURES)/zoo/.done:
	@if [ -f $(SHARED)/tools/export_zoo.py ]; then \
	  echo "fixtures: exporting the model zoo with PyTorch (a minute or two)"; \
	  /usr/bin/python3 $(SHARED)/tools/export_zoo.py $(FIXTURES)/zoo > $(FIXTURES).zoo.log 2>&1 && touch $@ || \
	  { tail -5 $(FIXTURES).zoo.log; exit 1; }; \
	else echo "fixtures: $(SHARED)/tools is absent; zoo tests will be skipped"; fi

test: deps build fixtures
	$(MAKE) --no-print-directory test-cpp test-python

test-cpp:
	cd $(BUILD) && $(CTEST_ENV) ctest -j $(JOBS) --output-on-failure --timeout 900

test-python:
	$(PYTEST_ENV) EDGEKIT_BUILD_DIR=$(abspath $(BUILD)) EDGEKIT_FIXTURES=$(FIXTURES) EDGEKIT_SHARED=$(SHARED) \
	  PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) -m pytest -q tests/python tests/conformance

# The whole suite again, every target built with -fsanitize=address,undefined (UB is fatal).
# The Python extension runs in an uninstrumented interpreter, so pytest gets g++'s libasan
# preloaded (with libstdc++, or ASan cannot intercept C++ throws) and leak checking off
# (CPython's own allocations look like leaks); CTest and the CLI keep it on.
ASAN_BUILD ?= build-asan
ASAN_OPTS := detect_stack_use_after_return=1:strict_init_order=1
UBSAN_ENV := UBSAN_OPTIONS=print_stacktrace=1
$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEKIT_SANITIZE=ON \
	  -DPython3_EXECUTABLE=$$(command -v $(PYTHON)) -DEDGEKIT_FIXTURES=$(FIXTURES)

test-asan: deps fixtures $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(MAKE) --no-print-directory test-cpp BUILD=$(ASAN_BUILD) CTEST_ENV="ASAN_OPTIONS=$(ASAN_OPTS) $(UBSAN_ENV)"
	$(MAKE) --no-print-directory test-python BUILD=$(ASAN_BUILD) \
	  PYTEST_ENV="ASAN_OPTIONS=$(ASAN_OPTS):detect_leaks=0 $(UBSAN_ENV) LD_PRELOAD='$$(g++ -print-file-name=libasan.so) $$(g++ -print-file-name=libstdc++.so)'"

# libFuzzer targets (tests/fuzz), each run for FUZZ_SECONDS on a seed corpus made from the
# fixtures and the MLPerf Tiny models; fails on any crash, leak, UB, hang (-timeout) or
# allocation over -rss_limit_mb. Findings go to $(FUZZ_BUILD)/findings/<target>/, the corpus
# grows in $(FUZZ_BUILD)/corpus/<target>/ across runs.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := onnx_import tflite_import npy npz ekm_load image
FUZZ_FLAGS ?= -timeout=60 -rss_limit_mb=2560 -print_final_stats=1
deps-fuzz:
	@$(call apt-install,$(DEB_FUZZ))

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEKIT_FUZZ=ON \
	  -DEDGEKIT_BUILD_TESTS=OFF -DEDGEKIT_BUILD_PYTHON=OFF

fuzz: deps deps-fuzz fixtures $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	$(PYTHON) tests/fuzz/make_corpus.py --fixtures $(FIXTURES) --mlperf $(SHARED)/models/mlperf-tiny \
	  --edgekit $(FUZZ_BUILD)/edgekit --out $(FUZZ_BUILD)/seeds
	@failed=; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/findings/$$t; \
	  dict=; case $$t in npy|npz) dict=-dict=tests/fuzz/npy.dict;; esac; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (log in $(FUZZ_BUILD)/fuzz_$$t.log)"; \
	  if $(UBSAN_ENV) $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) $$dict \
	       -artifact_prefix=$(FUZZ_BUILD)/findings/$$t/ $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t \
	       > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	    grep -E "^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" $(FUZZ_BUILD)/fuzz_$$t.log | sed 's/^/  /'; \
	  else tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; failed="$$failed $$t"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in $(FUZZ_BUILD)/findings/)"; exit 1; fi; \
	echo "fuzz: no crash in $(FUZZ_TARGETS)"

demo: deps build fixtures
	@bash scripts/demo.sh $(BUILD)/edgekit $(FIXTURES)/zoo/kws_dscnn

# edgekit against ONNX Runtime / TFLite side by side; BENCH_ARGS e.g. "--threads 1 --runs 100".
bench: deps deps-peers build fixtures
	$(PYTHON) bench/compare.py --build $(BUILD) $(BENCH_ARGS)

# Device runtime size (libedgekit_rt.so, a minimal static program) and .ekm load time versus
# ONNX Runtime's session creation, side by side; SIZE_ARGS e.g. "--models kws_dscnn --repeats 30".
size: deps deps-peers build fixtures
	PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) bench/size.py --build $(BUILD) --zoo $(FIXTURES)/zoo $(SIZE_ARGS)

# A selective device runtime into $(RT_BUILD)/ (README "Selective build"): only the kernels of the
# ops RT_MODELS run (edgekit ops), compiled for one CPU (RT_MARCH: no run-time ISA dispatch, so it
# runs only on CPUs with that ISA), without the graph optimiser (compiled .ekm models only).
RT_BUILD ?= build-rt
RT_MARCH ?= native
RT_MODELS ?= $(wildcard $(FIXTURES)/zoo/*/model.onnx) $(wildcard $(SHARED)/models/mlperf-tiny/*.tflite)
runtime-selective: deps build fixtures
	mkdir -p $(RT_BUILD)
	$(BUILD)/edgekit ops $(RT_MODELS) -o $(RT_BUILD)/ops.new
	cmp -s $(RT_BUILD)/ops.new $(RT_BUILD)/ops.txt || mv $(RT_BUILD)/ops.new $(RT_BUILD)/ops.txt
	cmake -S . -B $(RT_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEKIT_RT_OPS=$(abspath $(RT_BUILD))/ops.txt \
	  -DEDGEKIT_RT_OPTIMIZER=OFF "-DCMAKE_CXX_FLAGS=-march=$(RT_MARCH) -DHWY_COMPILE_ONLY_STATIC=1"
	cmake --build $(RT_BUILD) -j $(JOBS) --target edgekit_rt edgekit_rt_shared edgekit-rt-minimal

# Fashion-MNIST accuracy study (docs/quantization.md): trains the zoo's fashion_cnn with PyTorch
# into $(FASHION) once (model, calibration and test data; >= 91% or it fails), then quantizes it
# with edgekit, ONNX Runtime and PyTorch and prints one table. QUANT_STUDY_ARGS e.g. "--json r.json".
FASHION ?= $(FIXTURES)/fashion
TORCH_PYTHON ?= /usr/bin/python3
$(FASHION)/.done:
	EDGEKIT_SHARED=$(SHARED) $(TORCH_PYTHON) scripts/train_fashion_cnn.py $(FASHION) --min-accuracy 0.91 && touch $@

quant-study: deps deps-peers build $(FASHION)/.done
	EDGEKIT_SHARED=$(SHARED) $(PYTHON) scripts/quant_accuracy.py $(FASHION) --build $(BUILD) \
	  --torch-python $(TORCH_PYTHON) --work $(BUILD)/quant-study $(QUANT_STUDY_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RT_BUILD)
