// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-bench-events - the events half of `make bench` (scripts/bench): the
 * per-packet cost of sluice_tc on a pass and on a drop, with events off
 * (`log none;`), on for drops only (`log drops;`, the default) and on for
 * passes too (`log all;`), side by side with the empty TC program and with
 * the same program with the event code compiled out (bpf/sluice_noev.bpf.c,
 * on the same maps), all in one process under BPF_PROG_TEST_RUN, the
 * variants interleaved round by round.  Medians of RUNS runs.
 *
 *   sl-bench-events RULES [RUNS]
 *
 * A drop with events on at repeat 1e6 is almost always *suppressed* by the
 * rate limit (the cost of a flood: the token bucket); the cost of an event
 * actually written (bucket, ring buffer record, copy of the bytes) is
 * measured apart: repeat 2000 (fits the ring buffer), rate 1e6/s, the
 * ring buffer drained between runs.  Prints one JSON object per line.
 * Needs root.  No packet leaves the machine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sl.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"
#include "bench_pkt.skel.h"
#include "sluice_noev.skel.h"
#include "../prog/pkt.h"

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("sl-bench-events: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns/packet of @fd on @frame over @runs runs of @repeat; @rb drained after each. */
static double run(int fd, const uint8_t *frame, size_t len, int runs, uint32_t repeat,
		  struct ring_buffer *rb, int *rv)
{
	double v[64];

	if (runs > 64)
		runs = 64;
	for (int i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .repeat = repeat);
		if (bpf_prog_test_run_opts(fd, &o))
			die("test_run: %s", strerror(errno));
		v[i] = o.duration;
		*rv = (int)o.retval;
		if (rb)
			ring_buffer__consume(rb);
	}
	qsort(v, (size_t)runs, sizeof(v[0]), cmp_d);
	return runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static int drop_ev(void *ctx, void *data, size_t size)
{
	(void)ctx; (void)data; (void)size;
	return 0;
}

struct variant {
	const char *id;
	uint8_t drops, pass;
	uint32_t rate;
	struct sluice_bpf *skel;
	struct ring_buffer *rb;
};

int main(int argc, char **argv)
{
	static const struct { const char *id, *what; const char *dst; uint16_t port; } cases[] = {
		{ "pass", "IPv4 pass (udp 8801 to 3.7.35.1, Zoom media)", "3.7.35.1", 8801 },
		{ "drop", "IPv4 policy drop (udp 443 to 8.8.8.8)", "8.8.8.8", 443 },
	};
	struct variant vs[] = {
		{ "off", 0, SL_LOGP_NONE, SL_LOG_RATE_DEFAULT, NULL, NULL },        /* log none; */
		{ "drops", 1, SL_LOGP_NONE, SL_LOG_RATE_DEFAULT, NULL, NULL },      /* log drops; (default) */
		{ "all", 1, SL_LOGP_ALL, SL_LOG_RATE_DEFAULT, NULL, NULL },         /* log all; */
		{ "emit", 1, SL_LOGP_ALL, 1000000, NULL, NULL },                    /* every event written */
	};
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	struct sl_ruleset rs;
	struct sl_diags d = { 0 };
	struct sl_image img;
	struct bench_pkt_bpf *bp;
	uint8_t frame[PK_SCRATCH];
	int e;

	if (argc < 2)
		die("usage: sl-bench-events RULES [RUNS]");
	libbpf_set_print(quiet);
	if ((e = sl_ruleset_load(argv[1], &rs, &d))) {
		sl_diag_print(&d, stderr);
		die("%s: %s", argv[1], strerror(-e));
	}
	sl_diag_free(&d);
	if ((e = sl_compile(&rs, NULL, 1, &img)))
		die("compile: %s", strerror(-e));
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		img.cfg.log_drops = vs[i].drops;
		img.cfg.log_pass = vs[i].pass;
		img.cfg.log_rate = vs[i].rate;
		if ((e = sl_bpf_load_progs(&img, false, NULL, SL_PROG_TC, &vs[i].skel)))
			die("load (%s): %s", vs[i].id, strerror(-e));
		vs[i].rb = ring_buffer__new(bpf_map__fd(vs[i].skel->maps.events), drop_ev, NULL, NULL);
		if (!vs[i].rb)
			die("ring buffer: %s", strerror(errno));
	}
	if (!(bp = bench_pkt_bpf__open_and_load()))
		die("bench_pkt: %s", strerror(errno));
	/* the program without event code, on the maps of variant "off" */
	img.cfg.log_drops = 0;
	img.cfg.log_pass = SL_LOGP_NONE;
	struct sluice_noev_bpf *nv = sluice_noev_bpf__open();
	struct bpf_map *m;

	if (!nv)
		die("sluice_noev: %s", strerror(errno));
	nv->rodata->cfg = img.cfg;
	bpf_program__set_autoload(nv->progs.sluice_xdp, false);
	bpf_program__set_autoload(nv->progs.sluice_cgroup, false);
	bpf_program__set_autoload(nv->progs.sluice_learn, false);
	bpf_object__for_each_map(m, nv->obj) {
		struct bpf_map *om;

		if (bpf_map__is_internal(m))
			continue;
		om = bpf_object__find_map_by_name(vs[0].skel->obj, bpf_map__name(m));
		if (!om || bpf_map__reuse_fd(m, bpf_map__fd(om)))
			die("sluice_noev: cannot share map %s", bpf_map__name(m));
	}
	if ((e = sluice_noev_bpf__load(nv)))
		die("sluice_noev load: %s", strerror(-e));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pk_spec s = { .family = 4, .proto = 17, .dport = cases[c].port, .payload = 64 };
		size_t len;
		double ns[4], empty, noev;
		int rv, rv0 = -1;

		pk_ip4(s.dst, cases[c].dst);
		len = pk_build(&s, frame, NULL);
		/* interleaved: every variant once per round, so that load changes hit all alike */
		double acc[4][64], eacc[64], nacc[64];
		int r = runs > 64 ? 64 : runs;

		for (int k = 0; k < r; k++) {
			eacc[k] = run(bpf_program__fd(bp->progs.bench_empty), frame, len, 1, 1000000, NULL, &rv);
			nacc[k] = run(bpf_program__fd(nv->progs.sluice_tc), frame, len, 1, 1000000, NULL, &rv);
			rv0 = rv;
			for (size_t i = 0; i < 4; i++) {
				uint32_t rep = i == 3 ? 2000 : 1000000;

				acc[i][k] = run(bpf_program__fd(vs[i].skel->progs.sluice_tc), frame, len, 1, rep,
						vs[i].rb, &rv);
				if (rv0 < 0)
					rv0 = rv;
				else if (rv != rv0)
					die("%s: the variants disagree on the verdict", cases[c].id);
			}
		}
		qsort(eacc, (size_t)r, sizeof(double), cmp_d);
		empty = r % 2 ? eacc[r / 2] : (eacc[r / 2 - 1] + eacc[r / 2]) / 2;
		qsort(nacc, (size_t)r, sizeof(double), cmp_d);
		noev = r % 2 ? nacc[r / 2] : (nacc[r / 2 - 1] + nacc[r / 2]) / 2;
		for (size_t i = 0; i < 4; i++) {
			qsort(acc[i], (size_t)r, sizeof(double), cmp_d);
			ns[i] = r % 2 ? acc[i][r / 2] : (acc[i][r / 2 - 1] + acc[i][r / 2]) / 2;
		}
		printf("{\"section\":\"events\",\"case\":\"%s\",\"what\":\"%s\",\"verdict\":\"%s\",\"empty_ns\":%.1f,"
		       "\"noev_ns\":%.1f,\"off_ns\":%.1f,\"drops_ns\":%.1f,\"all_ns\":%.1f,\"emit_ns\":%.1f,\"runs\":%d}\n",
		       cases[c].id, cases[c].what, rv0 == 2 ? "drop" : "pass", empty, noev, ns[0], ns[1], ns[2], ns[3], r);
	}
	bench_pkt_bpf__destroy(bp);
	sluice_noev_bpf__destroy(nv);
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		ring_buffer__free(vs[i].rb);
		sl_bpf_destroy(vs[i].skel);
	}
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	return 0;
}
