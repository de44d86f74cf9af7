# kgc — Kubernetes Gateway API controller for Kong Gateway.
#
#   make            build everything into build/ (-O2 -g, warnings are errors)
#   make asan       the same with ASan+UBSan into build-asan/
#   make deps       install missing Debian packages and kubectl/helm into .tools/bin, and put the
#                   Gateway API CRDs and conformance manifests of the pinned version into
#                   .deps/gateway-api (from ../shared/gateway-api or the release archive)
#   make test       lint + unit tests + unit tests under ASan+UBSan + e2e (against the ASan+UBSan
#                   binaries, so leaks and UB in kgc and the test servers fail it) + chart tests
#                   + a replay of every fuzz corpus
#   make bench      benchmarks (printed tables, never asserted)
#   make demo       the Kong-restart story against the embedded test servers
#   make lint       clang-format check, cppcheck, clang-tidy
#   make format     apply clang-format to every C file
#   make docs       regenerate docs/configuration.md from kgc --help

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
BUILD    ?= build
CC       ?= cc
SAN      ?=
PKGS     := libcurl json-c libmicrohttpd yaml-0.1 libpcre2-8 libssl libcrypto

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -llmdb -lpthread -lm

OPT      ?= -O2 -g
CFLAGS   := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers -Wno-format-truncation \
            -D_GNU_SOURCE -DKGC_VERSION='"$(VERSION)"' -Iinclude $(OPT) $(PKG_CFLAGS)
LDFLAGS  :=
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -Wno-unknown-warning-option \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=fuzzer,address,undefined
endif

# --- sources -------------------------------------------------------------------------------------
PKG_SRCS   := $(sort $(wildcard pkg/*/*.c))
PKG_OBJS   := $(PKG_SRCS:%.c=$(BUILD)/obj/%.o)
LIBKGC     := $(BUILD)/libkgc.a

CMD_SRCS   := $(sort $(wildcard cmd/kgc/*.c))
CMD_OBJS   := $(CMD_SRCS:%.c=$(BUILD)/obj/%.o)

# Each test/fakes/<name>/ is one test server: main.c makes build/kgc-test-<name>, the other files
# make build/libfake-<name>.a so unit tests can link them.
FAKES      := $(notdir $(patsubst %/,%,$(wildcard test/fakes/*/)))
FAKE_BINS  := $(FAKES:%=$(BUILD)/kgc-test-%)
FAKE_LIBS  := $(FAKES:%=$(BUILD)/libfake-%.a)

UNIT_SRCS  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)
UNIT_HELP  := $(filter-out $(UNIT_SRCS),$(wildcard test/unit/*.c))
UNIT_HOBJS := $(UNIT_HELP:%.c=$(BUILD)/obj/%.o)

BENCH_SRCS := $(sort $(wildcard test/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:test/bench/%.c=$(BUILD)/bench/%)

# test/fuzz/fuzz_<name>.c: libFuzzer targets, built only with SAN=fuzz (clang) into BUILD/fuzz/.
FUZZ_SRCS  := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:test/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

ALL_BINS   := $(if $(CMD_SRCS),$(BUILD)/kgc) $(FAKE_BINS) $(UNIT_BINS) $(BENCH_BINS)

.PHONY: all asan deps gateway-api test unit unit-asan e2e chart-test lint format bench demo fuzz fuzz-bins docs \
        fuzz-build clean
all: $(LIBKGC) $(ALL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBKGC): $(PKG_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kgc: $(CMD_OBJS) $(LIBKGC)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

define FAKE_template
$(BUILD)/libfake-$(1).a: $$(patsubst %.c,$(BUILD)/obj/%.o,$$(filter-out test/fakes/$(1)/main.c,$$(wildcard test/fakes/$(1)/*.c)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/kgc-test-$(1): $(BUILD)/obj/test/fakes/$(1)/main.o $(BUILD)/libfake-$(1).a $(LIBKGC)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach f,$(FAKES),$(eval $(call FAKE_template,$(f))))

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(UNIT_HOBJS) $(FAKE_LIBS) $(LIBKGC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/test/bench/%.o $(FAKE_LIBS) $(LIBKGC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# An LD_PRELOAD sampler of glibc's heap counters for the scenario benches (test/bench/memprobe.c):
# no sanitizer, whatever the build, since it is loaded into a process built without one.
$(BUILD)/bench/libmemprobe.so: test/bench/memprobe.c
	@mkdir -p $(dir $@)
	cc -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -lpthread

$(BUILD)/fuzz/%: $(BUILD)/obj/test/fuzz/%.o $(FAKE_LIBS) $(LIBKGC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz-bins: $(FUZZ_BINS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- sanitizers ----------------------------------------------------------------------------------
asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" all

# --- fuzzing -------------------------------------------------------------------------------------
# `make fuzz` runs every target for FUZZ_SECONDS; new inputs go to build-fuzz/corpus/<name>, the
# checked-in seeds in test/fuzz/corpus/<name> are read only. `make test` replays the seeds once.
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" fuzz-bins

fuzz: fuzz-build
	@for f in $(FUZZ_SRCS:test/fuzz/%.c=%); do \
	    mkdir -p build-fuzz/corpus/$$f test/fuzz/corpus/$$f; \
	    echo "== $$f ($(FUZZ_SECONDS) s)"; \
	    build-fuzz/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=1048576 -print_final_stats=1 \
	        build-fuzz/corpus/$$f test/fuzz/corpus/$$f 2>&1 | grep -E '^(stat::|Done|==)|ERROR' ; \
	done

# --- dependencies --------------------------------------------------------------------------------
deps:
	@scripts/deps.sh

# Only the Gateway API data (.deps/gateway-api; nothing to do when present and intact). The unit
# steps go on without it: the tests that read it then fail naming the folder and `make deps`.
gateway-api:
	@scripts/deps.sh gateway-api

# --- tests ---------------------------------------------------------------------------------------
# Every step appends "<passed> <failed> <name>" to $(BUILD)/results; the last line of `make test`
# is the sum: "N passed, N failed". The three builds use JOBS compilers (default: the cores); the
# e2e scenarios run E2E_JOBS at a time (scripts/run-tests.sh).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	@rm -f $(BUILD)/results
	@$(MAKE) --no-print-directory -j$(JOBS) all >/dev/null
	@$(MAKE) --no-print-directory -j$(JOBS) asan >/dev/null
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build >/dev/null
	@scripts/run-tests.sh $(BUILD)/results lint
	@scripts/run-tests.sh $(BUILD)/results unit $(BUILD)
	@scripts/run-tests.sh $(BUILD)/results unit build-asan
	@scripts/run-tests.sh $(BUILD)/results e2e build-asan
	@scripts/run-tests.sh $(BUILD)/results chart
	@scripts/run-tests.sh $(BUILD)/results fuzz build-fuzz
	@scripts/run-tests.sh $(BUILD)/results summary

unit: all
	@scripts/deps.sh gateway-api || true
	@rm -f $(BUILD)/results
	@scripts/run-tests.sh $(BUILD)/results unit $(BUILD)
	@scripts/run-tests.sh $(BUILD)/results summary

unit-asan: asan
	@scripts/deps.sh gateway-api || true
	@rm -f $(BUILD)/results
	@scripts/run-tests.sh $(BUILD)/results unit build-asan
	@scripts/run-tests.sh $(BUILD)/results summary

e2e: deps all
	@rm -f $(BUILD)/results
	@scripts/run-tests.sh $(BUILD)/results e2e $(BUILD)
	@scripts/run-tests.sh $(BUILD)/results summary

lint:
	@rm -f $(BUILD)/results
	@scripts/run-tests.sh $(BUILD)/results lint
	@scripts/run-tests.sh $(BUILD)/results summary

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The component benches (test/bench/bench_*.c), then the scenario benches against the real
# binaries (test/bench/*.sh, driven by $(BUILD)/bench/kgcload). BENCH_QUICK=1 scales them down
# (about 5 minutes instead of about 20; no 60 s outage, no 10k-route runs); BENCH_SCENARIOS picks
# scenarios (default "recovery sync_scale churn"; empty: component benches only).
BENCH_SCENARIOS ?= recovery sync_scale churn
bench: all $(BUILD)/bench/kgcload $(BUILD)/bench/libmemprobe.so gateway-api
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; echo; done
	@for s in $(BENCH_SCENARIOS); do \
	    BUILD=$(BUILD) BENCH_QUICK=$(BENCH_QUICK) test/bench/$$s.sh || exit 1; echo; done

demo: deps all
	@scripts/demo.sh

docs: all
	scripts/gen-config-doc.sh > docs/configuration.md

clean:
	rm -rf build build-asan build-fuzz
