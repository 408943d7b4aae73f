# edgekit's stable interface: deps, build, test, demo, bench (see README.md).
#   make deps    install the Debian packages the build and the tests need (as root, or with sudo)
#   make build   CLI at build/edgekit, Python package importable with PYTHONPATH=build/python
#   make test    every test: C++ (CTest + GoogleTest) then Python (pytest)
#   make demo    inspect, run and benchmark a small model end to end
BUILD ?= build
JOBS ?= $(shell nproc)
PYTHON ?= python3
SHARED ?= $(abspath ../shared)
FIXTURES ?= $(abspath fixtures)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build and run-time dependencies, then what the tests use to make fixtures (PyTorch exports
# the model zoo, python3-onnx writes the ONNX node tests).
DEB_BUILD := cmake ninja-build g++ pkg-config libonnx-dev libprotobuf-dev protobuf-compiler \
  libflatbuffers-dev flatbuffers-compiler libhwy-dev libsodium-dev nlohmann-json3-dev libcli11-dev \
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pip libgtest-dev googletest zlib1g-dev
DEB_TEST := python3-torch python3-torchvision python3-onnx

.PHONY: all deps deps-peers build test test-cpp test-python fixtures demo bench clean
all: build

deps:
	@missing=$$(for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
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
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 900

test-python:
	EDGEKIT_BUILD_DIR=$(abspath $(BUILD)) EDGEKIT_FIXTURES=$(FIXTURES) EDGEKIT_SHARED=$(SHARED) \
	  PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) -m pytest -q tests/python tests/conformance

demo: deps build fixtures
	@bash scripts/demo.sh $(BUILD)/edgekit $(FIXTURES)/zoo/kws_dscnn

# edgekit against ONNX Runtime / TFLite side by side; BENCH_ARGS e.g. "--threads 1 --runs 100".
bench: deps deps-peers build fixtures
	$(PYTHON) bench/compare.py --build $(BUILD) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)
