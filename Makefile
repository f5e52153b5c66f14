# Thin wrapper around Meson. The two commands the README promises:
#   make demo   install, build and run the demo
#   make test   install, build and run every test (unit tests under ASan+UBSan)

BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTEST     ?= /usr/bin/python3 -m pytest
MESON_OPTS ?=

.PHONY: all build deps console demo demo-stop test unit unit-asan e2e k8s valgrind bench bench-console bench-console-soak bench-kube kill9-full fuzz-api clean test-buildpacks-java

all: build

deps:
	scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

# The web console (web/): npm ci from the lockfile when it changed, then a
# Vite build into web/dist when a source changed. Idempotent; once installed
# nothing needs the network.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build

console: web/dist/index.html

unit-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1 \
	meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2

unit: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

e2e: build console
	FERRY_BUILD_DIR=$(CURDIR)/$(BUILD) $(PYTEST) -v -p no:cacheprovider tests/e2e

# The java buildpack's e2e test: out of the default suite (its JDK and Maven
# base images and Maven's plugin downloads take minutes; docs/buildpacks.md).
test-buildpacks-java: build
	FERRY_TEST_JAVA=1 FERRY_BUILD_DIR=$(CURDIR)/$(BUILD) $(PYTEST) -v -p no:cacheprovider \
	  tests/e2e/test_buildpacks.py -k java

valgrind: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 20 \
	  --wrapper 'valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet' \
	  --suite lib --suite store --suite vault --suite sched --suite core

# The test Kubernetes control plane (docs/kubernetes.md), built once from the
# official Go modules and cached in /var/cache/ferry-k8s.
k8s:
	tests/k8s/build-control-plane

test: deps
	$(MAKE) unit-asan
	$(MAKE) k8s
	$(MAKE) e2e

demo: deps build console
	scripts/demo

demo-stop:
	scripts/demo stop

# schemathesis (PyPI, in a venv under the build dir) against a real ferryd,
# from its OpenAPI description; not part of `make test`.
kill9-full: build
	FERRY_KILL_INSTANTS=20 FERRY_BUILD_DIR=$(CURDIR)/$(BUILD) /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/e2e/test_kill9.py

fuzz-api: build
	scripts/fuzz-api $(CURDIR)/$(BUILD) $(FUZZ_API_OPTS)

bench: build
	bench/api/run

# ferry on the test Kubernetes control plane: promote -> available, API
# requests per rollout (bench/kube/run; not part of make test)
bench-kube: build k8s
	FERRY_BUILD_DIR=$(CURDIR)/$(BUILD) bench/kube/run

bench-console: build console
	bench/console/run

bench-console-soak: build console
	bench/console/soak

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz web/dist web/node_modules
