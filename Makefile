# SPDX-License-Identifier: GPL-2.0-only
# sluice - eBPF egress allowlist filter.  `make` builds build/sluice.
#   make demo    install deps, build, run the namespace lab demo (root)
#   make check   install deps, build, run every test (root for prog/e2e)
#   make install PREFIX=/usr/local

PREFIX     ?= /usr/local
BUILD      := build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror
USER_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -Iinclude -Iuser -I$(BUILD) -D_GNU_SOURCE
USER_LIBS  := -lbpf -lelf -lz
BPF_CFLAGS := -target bpf -g -O2 -std=gnu11 $(WARN) -D__TARGET_ARCH_$(ARCH) \
              -Iinclude -I/usr/include/$(MULTIARCH)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Pure stages: no syscalls, unit-tested without root (DESIGN.md section 1).
PURE_SRCS  := user/diag.c user/parse.c user/resolve.c user/compile.c user/classify.c user/json.c
# System side: loader, CLI.
SYS_SRCS   := user/loader.c user/cli.c
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
HDRS       := $(wildcard include/*.h user/*.h)

PURE_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(PURE_SRCS))
SYS_OBJS   := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(SYS_SRCS))
SAN_PURE   := $(patsubst user/%.c,$(BUILD)/san/%.o,$(PURE_SRCS))
SAN_SYS    := $(patsubst user/%.c,$(BUILD)/san/%.o,$(SYS_SRCS))

UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_SRCS  := $(wildcard tests/prog/*.c)
PROG_BINS  := $(patsubst tests/prog/%.c,$(BUILD)/tests/%,$(PROG_SRCS))

.SECONDARY:
.PHONY: all deps demo check test install uninstall clean bench sanitize
all: $(BUILD)/sluice

$(BUILD) $(BUILD)/obj $(BUILD)/san $(BUILD)/tests:
	@mkdir -p $@

# ---- BPF side: object, then skeleton
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(HDRS) $(wildcard bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# ---- user side
$(BUILD)/obj/%.o: user/%.c $(HDRS) $(SKELS) | $(BUILD)/obj
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c $(HDRS) $(SKELS) | $(BUILD)/san
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/sluice: user/main.c $(PURE_OBJS) $(SYS_OBJS) $(HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) user/main.c $(PURE_OBJS) $(SYS_OBJS) $(USER_LIBS) -o $@

# The same binary with ASan+UBSan: make check runs the unit tests and the
# CLI tests against it.
$(BUILD)/sluice-san: user/main.c $(SAN_PURE) $(SAN_SYS) $(HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) user/main.c $(SAN_PURE) $(SAN_SYS) $(USER_LIBS) -o $@

# Unit tests: pure stages only, sanitized.
$(BUILD)/tests/%: tests/unit/%.c tests/test.h $(SAN_PURE) | $(BUILD)/tests
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -Itests $< $(SAN_PURE) -o $@

# Program tests: the real BPF object through its skeleton + the oracle.
$(BUILD)/tests/%: tests/prog/%.c tests/test.h $(wildcard tests/prog/*.h) $(PURE_OBJS) $(SYS_OBJS) $(SKELS) | $(BUILD)/tests
	$(CC) $(USER_CFLAGS) -Itests $< $(PURE_OBJS) $(SYS_OBJS) $(USER_LIBS) -o $@

# Small tools the end-to-end tests and benchmarks drive traffic with.
TOOLS      := $(BUILD)/sl-udp
$(BUILD)/sl-udp: tests/tools/sl-udp.c | $(BUILD)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) $< -o $@

sanitize: $(BUILD)/sluice-san

deps:
	@scripts/install-deps

test: all $(BUILD)/sluice-san $(UNIT_BINS) $(PROG_BINS) $(TOOLS)
	@tests/run

check: deps
	@$(MAKE) --no-print-directory test

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench

install: $(BUILD)/sluice
	install -D -m 0755 $(BUILD)/sluice $(DESTDIR)$(PREFIX)/sbin/sluice

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/sluice

clean:
	rm -rf $(BUILD)
