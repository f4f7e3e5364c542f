# covata-proxy: `make run` tries it against covata-mock, `make test` runs the whole suite.
SHELL := /bin/bash
SWIFT ?= swift
BIN = $(shell $(SWIFT) build --show-bin-path)

# Local-trial credentials: covata-mock accepts exactly these (they protect nothing real).
export COVATA_CLIENT_SECRET ?= exampleClientApplicationSecret
MOCK_PASSWORD = correct horse battery staple

.PHONY: deps test-deps build test fuzz run bench soak image-check deb clean

# What building and running need (libcurl's headers); the test toolchain only for tests and benchmarks.
deps:
	@.ci/install-deps

test-deps:
	@.ci/install-deps --test

build: deps
	$(SWIFT) build

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	bench/soak --seconds 15 --bin "$(BIN)"
	bench/soak --scenario fleet --seconds 60 --bin "$(BIN)"
	bench/soak --scenario storm --seconds 45 --bin "$(BIN)"
	bench/run --smoke
	bench/cpu --bin "$(BIN)" --against "$(BIN)" --pairs 1 --seconds 1
	FUZZ_CONFIG=debug FUZZ_SECONDS=10 Tests/Fuzz/run

# Coverage-guided fuzzing (libFuzzer, AddressSanitizer) of everything the proxy parses, FUZZ_SECONDS (60) per
# target, TARGET=name for one; see Tests/Fuzz/README.md.
fuzz: test-deps
	Tests/Fuzz/run

# The soak at full length: steady load, token revocations every few seconds, injected faults; see bench/soak (and
# its fleet and storm scenarios against Spring's token store).
soak: build
	bench/soak --seconds 180 --bin "$(BIN)"

# The image's build stage without a Docker engine: its swift commands in exactly the context its COPY lines make, and
# both executables out (minutes; `make test` runs the quick form, which only loads the package there).
image-check: deps
	docker/check-build-stage --build

# The Debian package for VMs (release build, systemd unit, default config): dist/covata-proxy_VERSION_ARCH.deb.
deb: deps
	packaging/build-deb

# Starts covata-mock on :9900 and covata-proxy with the shipped proxy.json; Ctrl-C stops both.
.ONESHELL:
run: build
	@set -euo pipefail
	mkdir -p run
	printf '%s\n' "$(MOCK_PASSWORD)" > run/covata-password
	chmod 600 run/covata-password
	"$(BIN)/covata-mock" --port 9900 --password-file run/covata-password &
	mock=$$!
	trap 'kill $$mock $${proxy:-} 2>/dev/null; wait 2>/dev/null; echo; echo "stopped"' EXIT INT TERM
	sleep 0.5
	"$(BIN)/covata-proxy" run --config proxy.json --log-level info &
	proxy=$$!
	sleep 1
	echo
	echo "covata-proxy is up. Try, in another terminal:"
	echo "  curl -i 'http://127.0.0.1:8080/api/v1/users/me?hello=world'"
	echo "Press Ctrl-C to stop."
	wait $$proxy

# Benchmark against nginx and HAProxy (installs them and wrk when missing); see bench/run.
bench: test-deps
	bench/run

clean:
	rm -rf .build .build-fuzz .build-fuzz-debug run dist
