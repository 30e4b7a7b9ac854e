# SPDX-License-Identifier: GPL-2.0-only
# sluice - eBPF egress allowlist filter.  `make` builds build/sluice and
# build/sluice-cni (the CNI plugin).
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
APP_LIBS   := -lmicrohttpd        # sluice run --metrics (user/daemon/metrics.c): build/sluice only
# build/sluice only: sluice log --pcap (user/util/pcap.c)
PCAP_LIBS  := -lpcap
# build/sluice only: URL sets (user/feed/): libcurl fetches, libcrypto hashes,
# jansson reads JSON bodies and the state files
FEED_LIBS  := -lcurl -lcrypto -ljansson
BPF_CFLAGS := -target bpf -g -O2 -std=gnu11 $(WARN) -D__TARGET_ARCH_$(ARCH) \
              -Iinclude -I/usr/include/$(MULTIARCH)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# user/ is laid out as the pipeline (docs/architecture.md).  Pure stages: no
# syscalls, unit-tested without root (DESIGN.md section 1).
PURE_SRCS  := $(filter-out user/util/pcap.c,$(wildcard user/front/*.c user/image/*.c user/util/*.c user/plan/*.c user/verify/*.c))
# The kernel side (instances, pins, load, attach, read-back): with the pure
# stages it forms libsluice.a, which every binary and the program tests link.
KERN_SRCS  := $(wildcard user/kernel/*.c)
# Front doors over the library: the command line and the daemon (sluice run).
# (user/util/pcap.c too: it is the one user of libpcap, for `sluice log --pcap`)
APP_SRCS   := $(filter-out user/cli/main.c,$(wildcard user/cli/*.c)) user/util/pcap.c \
              $(wildcard user/daemon/*.c) $(wildcard user/feed/*.c)
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
HDRS       := $(wildcard include/*.h user/*.h user/*/*.h)

obj_of      = $(patsubst user/%.c,$(BUILD)/$(1)/%.o,$(2))
PURE_OBJS  := $(call obj_of,obj,$(PURE_SRCS))
KERN_OBJS  := $(call obj_of,obj,$(KERN_SRCS))
APP_OBJS   := $(call obj_of,obj,$(APP_SRCS))
SAN_PURE   := $(call obj_of,san,$(PURE_SRCS))
SAN_KERN   := $(call obj_of,san,$(KERN_SRCS))
SAN_APP    := $(call obj_of,san,$(APP_SRCS))
LIB        := $(BUILD)/libsluice.a
SAN_LIB    := $(BUILD)/libsluice-san.a

UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_SRCS  := $(wildcard tests/prog/*.c)
PROG_BINS  := $(patsubst tests/prog/%.c,$(BUILD)/tests/%,$(PROG_SRCS))

.SECONDARY:
.PHONY: all deps demo check test install uninstall clean bench sanitize
all: $(BUILD)/sluice $(BUILD)/sluice-cni

$(BUILD) $(BUILD)/tests:
	@mkdir -p $@

# ---- BPF side: object, then skeleton
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(HDRS) $(wildcard bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# the "before" variants of make bench include the object they vary
$(BUILD)/sluice_lpm.bpf.o: bpf/sluice.bpf.c
$(BUILD)/sluice_noev.bpf.o: bpf/sluice.bpf.c
$(BUILD)/sluice_cal.bpf.o: bpf/sluice.bpf.c
$(BUILD)/bench_lookup_lpm.bpf.o: bpf/bench_lookup.bpf.c

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# ---- user side
$(BUILD)/obj/%.o: user/%.c $(HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c $(HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# The engine as one static library: front end, image, kernel side.
$(LIB): $(PURE_OBJS) $(KERN_OBJS)
	rm -f $@ && ar rcs $@ $^
$(SAN_LIB): $(SAN_PURE) $(SAN_KERN)
	rm -f $@ && ar rcs $@ $^

# The version (debian/changelog's first entry) and the git commit, baked in
# build/version.h: from git in a clone, from COMMIT (git archive fills it in,
# .gitattributes export-subst) in a tarball, or GIT_COMMIT=... (make deb).
VERSION    := $(shell sed -n '1s/^sluice (\([^)-]*\).*/\1/p' debian/changelog)
GIT_COMMIT ?= $(shell if git -C . rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		c=$$(git rev-parse --short=12 HEAD); git diff --quiet HEAD 2>/dev/null || c=$$c-dirty; \
		echo $$c; elif ! grep -q Format COMMIT 2>/dev/null; then cat COMMIT; else echo unknown; fi)
$(BUILD)/version.h: FORCE | $(BUILD)
	@printf '#define SLUICE_VERSION "%s"\n#define SLUICE_COMMIT "%s"\n' '$(VERSION)' '$(GIT_COMMIT)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:
$(BUILD)/obj/cli/cli.o $(BUILD)/san/cli/cli.o: $(BUILD)/version.h

$(BUILD)/sluice: user/cli/main.c $(APP_OBJS) $(LIB) $(HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) $(LDFLAGS) user/cli/main.c $(APP_OBJS) $(LIB) $(USER_LIBS) $(APP_LIBS) $(PCAP_LIBS) $(FEED_LIBS) -o $@

# The CNI plugin: a second front door over the same library (user/cni/).
CNI_SRCS   := $(wildcard user/cni/*.c)
CNI_OBJS   := $(call obj_of,obj,$(CNI_SRCS))
CNI_LIBS   := -ljansson
$(BUILD)/sluice-cni: $(CNI_OBJS) $(LIB)
	$(CC) $(USER_CFLAGS) $(LDFLAGS) $(CNI_OBJS) $(LIB) $(USER_LIBS) $(CNI_LIBS) -o $@
# Statically linked, for nodes that lack Debian's libbpf/libjansson (the
# Kubernetes DaemonSet of contrib/kubernetes copies it onto each node).
$(BUILD)/sluice-cni-static: $(CNI_OBJS) $(LIB)
	$(CC) $(USER_CFLAGS) -static $(CNI_OBJS) $(LIB) $(USER_LIBS) $(CNI_LIBS) -o $@
.PHONY: cni-static
cni-static: $(BUILD)/sluice-cni-static
# With ASan+UBSan: make check runs the conformance test against it.
SAN_CNI    := $(call obj_of,san,$(CNI_SRCS))
$(BUILD)/sluice-cni-san: $(SAN_CNI) $(SAN_LIB)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) $(SAN_CNI) $(SAN_LIB) $(USER_LIBS) $(CNI_LIBS) -o $@

# The same binary with ASan+UBSan: make check runs the unit tests and the
# CLI tests against it.
$(BUILD)/sluice-san: user/cli/main.c $(SAN_APP) $(SAN_LIB) $(HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) user/cli/main.c $(SAN_APP) $(SAN_LIB) $(USER_LIBS) $(APP_LIBS) $(PCAP_LIBS) $(FEED_LIBS) -o $@

# Unit tests: pure stages only, sanitized (tests/unit/*.h: their shared helpers).
$(BUILD)/tests/%: tests/unit/%.c tests/test.h tests/fast6_gen.h $(wildcard tests/unit/*.h) $(SAN_PURE) | $(BUILD)/tests
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -Itests $< $(SAN_PURE) -o $@

# The URL-set bodies and guards (user/feed/body.c): pure too, but with jansson.
$(BUILD)/tests/test_feed: tests/unit/test_feed.c tests/test.h $(BUILD)/san/feed/body.o $(SAN_PURE) | $(BUILD)/tests
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -Itests $< $(BUILD)/san/feed/body.o $(SAN_PURE) -ljansson -o $@

# Program tests: the real BPF object through its skeleton + the oracle.
$(BUILD)/tests/%: tests/prog/%.c tests/test.h tests/fast6_gen.h $(wildcard tests/prog/*.h) $(LIB) $(SKELS) | $(BUILD)/tests
	$(CC) $(USER_CFLAGS) -Itests $< $(LIB) $(USER_LIBS) -o $@

# Small tools the end-to-end tests and benchmarks drive traffic with.
TOOLS      := $(BUILD)/sl-udp $(BUILD)/sl-hookq $(BUILD)/foreign.bpf.o
$(BUILD)/sl-udp: tests/tools/sl-udp.c | $(BUILD)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) $< -o $@
$(BUILD)/sl-hookq: tests/tools/sl-hookq.c | $(BUILD)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) $< -lbpf -o $@

# A BPF object that is not sluice's, for the coexistence tests.
$(BUILD)/foreign.bpf.o: tests/tools/foreign.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

sanitize: $(BUILD)/sluice-san

deps:
	@scripts/install-deps

test: all $(BUILD)/sluice-san $(BUILD)/sluice-cni-san $(UNIT_BINS) $(PROG_BINS) $(TOOLS)
	@tests/run

check: deps
	@$(MAKE) --no-print-directory test

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: deps
	@$(MAKE) --no-print-directory all >&2   # stdout: the Markdown report only
	@scripts/bench

UNITDIR    ?= $(PREFIX)/lib/systemd/system
# where runtimes look for CNI plugins: /usr/lib/cni on Debian, /opt/cni/bin elsewhere
CNIDIR     ?= $(if $(wildcard /usr/lib/cni/bridge),/usr/lib/cni,/opt/cni/bin)
DOCDIR     ?= $(PREFIX)/share/doc/sluice
RULESDIR   ?= $(PREFIX)/share/sluice/rules
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

# sbin/sluice, the CNI plugin, the unit, man pages, completion, the rule
# packs, the docs (README.md "Install"; the package installs the same, into /usr).
install: $(BUILD)/sluice $(BUILD)/sluice-cni
	install -D -m 0755 $(BUILD)/sluice $(DESTDIR)$(PREFIX)/sbin/sluice
	install -D -m 0755 $(BUILD)/sluice-cni $(DESTDIR)$(CNIDIR)/sluice-cni
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(RULESDIR) $(DESTDIR)$(DOCDIR)/contrib
	sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		scripts/systemd/sluice@.service.in > $(DESTDIR)$(UNITDIR)/sluice@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sluice@.service
	install -D -m 0644 user/cli/sluice.8 $(DESTDIR)$(MANDIR)/man8/sluice.8
	install -D -m 0644 user/cni/sluice-cni.8 $(DESTDIR)$(MANDIR)/man8/sluice-cni.8
	install -D -m 0644 user/front/sluice.rules.5 $(DESTDIR)$(MANDIR)/man5/sluice.rules.5
	install -D -m 0644 user/cli/sluice.bash $(DESTDIR)$(BASHCOMPDIR)/sluice
	cp -r rules/. $(DESTDIR)$(RULESDIR)/
	find $(DESTDIR)$(RULESDIR) -type f -exec chmod 0644 {} +
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -d $(DESTDIR)$(DOCDIR)/bench
	install -m 0644 bench/README.md bench/results.md $(DESTDIR)$(DOCDIR)/bench/
	cp -r contrib/. $(DESTDIR)$(DOCDIR)/contrib/    # prometheus, grafana, kubernetes
	find $(DESTDIR)$(DOCDIR)/contrib -type f -exec chmod 0644 {} +

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/sluice $(DESTDIR)$(UNITDIR)/sluice@.service
	rm -f $(DESTDIR)$(CNIDIR)/sluice-cni
	rm -f $(DESTDIR)$(MANDIR)/man8/sluice.8 $(DESTDIR)$(MANDIR)/man8/sluice-cni.8
	rm -f $(DESTDIR)$(MANDIR)/man5/sluice.rules.5 $(DESTDIR)$(BASHCOMPDIR)/sluice
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(RULESDIR)

# The Debian package (debian/): dpkg-buildpackage on a copy of the tree in
# build/deb/ (it writes its results beside the source), the results moved to
# build/: build/sluice_VERSION_ARCH.deb.  Nothing is downloaded.
DEB_ARCH   := $(shell dpkg --print-architecture 2>/dev/null)
DEB        := $(BUILD)/sluice_$(VERSION)_$(DEB_ARCH).deb
.PHONY: deb deb-check
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/sluice-$(VERSION)
	git ls-files -z 2>/dev/null | xargs -0 -r cp --parents -t $(BUILD)/deb/sluice-$(VERSION) || \
		tar -c --exclude=./build --exclude=./.git . | tar -x -C $(BUILD)/deb/sluice-$(VERSION)
	echo '$(GIT_COMMIT)' > $(BUILD)/deb/sluice-$(VERSION)/COMMIT
	cd $(BUILD)/deb/sluice-$(VERSION) && dpkg-buildpackage -b -us -uc -j2 > ../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	mv $(BUILD)/deb/sluice_$(VERSION)_*.deb $(BUILD)/deb/sluice-dbgsym_$(VERSION)_*.deb \
		$(BUILD)/deb/sluice_$(VERSION)_*.buildinfo \
		$(BUILD)/deb/sluice_$(VERSION)_*.changes $(BUILD)/
	@echo "built $(DEB)"
# The package built, linted, installed, upgraded under traffic and purged (root):
# tests/package/deb.sh; .ci/run runs it after make check.
deb-check: deb all $(TOOLS)
	@bash tests/package/deb.sh $(DEB)

clean:
	rm -rf $(BUILD)

# ---- benchmarks, fuzzing, leak checks (make bench / fuzz / fuzz-long; see bench/README.md)
BENCH_BINS := $(BUILD)/sl-bench $(BUILD)/sl-bench-events $(BUILD)/sl-blast $(BUILD)/sl-scrape
SLB_SRCS   := tests/bench/sl-bench.c tests/bench/floor.c tests/bench/export.c tests/bench/gateway.c tests/bench/gwrun.c \
              tests/bench/ablate.c
$(BUILD)/sl-bench: $(SLB_SRCS) tests/bench/bench.h tests/prog/pkt.h $(LIB) $(SKELS) | $(BUILD)
	$(CC) $(USER_CFLAGS) $(SLB_SRCS) $(LIB) $(USER_LIBS) -o $@
$(BUILD)/sl-bench-events: tests/bench/sl-bench-events.c tests/prog/pkt.h $(LIB) $(SKELS) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< $(LIB) $(USER_LIBS) -o $@
# one metrics scrape, timed and its allocations counted (bench section 7)
$(BUILD)/sl-scrape: tests/bench/sl-scrape.c $(LIB) $(SKELS) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< $(LIB) $(USER_LIBS) -o $@
$(BUILD)/sl-blast: tests/bench/sl-blast.c | $(BUILD)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) $< -o $@

# libFuzzer targets (clang): the rule front end + compiler, the reference
# packet parser + classifier; each checks the oracle against the compiled
# tables.  `make fuzz` runs each for FUZZ_TIME seconds; make check runs them
# briefly (tests/cli/fuzz.sh).
FUZZ_TIME  ?= 120
FUZZ_BINS  := $(BUILD)/fuzz/fuzz_rules $(BUILD)/fuzz/fuzz_pkt $(BUILD)/fuzz/fuzz_dns
FUZZ_FLAGS := -std=gnu11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -Iinclude -Iuser -D_GNU_SOURCE
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(PURE_SRCS) $(HDRS) | $(BUILD)
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) $(FUZZ_FLAGS) $< $(PURE_SRCS) -o $@

.PHONY: fuzz fuzz-long
fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_TIME) bash tests/cli/fuzz.sh

# Far more random differential packets than make check (root; bounded time):
# 2000 rulesets x 5000 packets, seeded (FUZZ_SEED=...) and reproducible.
FUZZ_SEED  ?= $(shell date +%s)
FUZZ_LONG_TIMEOUT ?= 3600
fuzz-long: $(PROG_BINS) $(FUZZ_BINS)
	timeout $(FUZZ_LONG_TIMEOUT) $(BUILD)/tests/test_prog_diff -r -s $(FUZZ_SEED) -n 2000 -p 5000
	@FUZZ_SECONDS=600 bash tests/cli/fuzz.sh

# make check builds the fuzz targets, the bench tools and the valgrind run's binary.
test: $(FUZZ_BINS) $(BENCH_BINS)
