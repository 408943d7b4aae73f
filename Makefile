# The stable interface: deps, build, test, demo, bench. See README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
PYTHON ?= python3

.PHONY: all deps build test demo bench clean
all: build

build:
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$$(command -v $(PYTHON))
	cmake --build $(BUILD) -j $(JOBS)

clean:
	rm -rf $(BUILD)
