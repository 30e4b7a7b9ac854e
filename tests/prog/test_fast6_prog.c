// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_fast6_prog - the kernel's IPv6 fast walk (bpf/fast6.h, run alone by
 * bpf/fast6_test.bpf.c under BPF_PROG_TEST_RUN) against the same table
 * walked in user space (sl_fast6_class) and against the dst6 longest-prefix
 * match it is derived from, on random prefix sets that produce every node
 * kind of node6 (compact groups of 8 and 32, full groups, skips of 1..7
 * bytes, lists of 7 and 15 prefixes, 16-bit strides): the unit test's clustered sets and the benchmark's two shapes at
 * 3e4 prefixes.  Probes: every prefix's first and last address and their
 * outside neighbours, an address inside it, random addresses near and far.
 *
 *   build/tests/test_fast6_prog       (root; skipped otherwise)
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sl.h"
#include "kernel/kernel.h"
#include "fast6_test.skel.h"
#include "test.h"
#include "fast6_gen.h"

#define FT_N 512        /* as bpf/fast6_test.bpf.c */

struct tally { unsigned long addrs, full, f16, c8, c32, skip, l8, l16, deep; };

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static uint64_t half(const uint8_t *a)
{
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x = x << 8 | a[i];
	return x;
}

/* The kernel's leaf of every address of @a (class index, -1 for none) into @got. */
static int kernel_walk(struct fast6_test_bpf *sk, uint8_t (*a)[16], size_t n, int64_t *got)
{
	uint8_t frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1);

	for (size_t at = 0; at < n; at += FT_N) {
		size_t k = n - at < FT_N ? n - at : FT_N;

		for (size_t i = 0; i < k; i++) {
			sk->bss->ft_hi[i] = half(a[at + i]);
			sk->bss->ft_lo[i] = half(a[at + i] + 8);
		}
		sk->bss->ft_n = (uint32_t)k;
		if (bpf_prog_test_run_opts(bpf_program__fd(sk->progs.fast6_probe), &o))
			return -errno;
		for (size_t i = 0; i < k; i++)
			got[at + i] = (int64_t)sk->bss->ft_leaf[i] - 1;
	}
	return 0;
}

/* Load the probe program on the fast table of @img and compare; false on a difference. */
static bool check_set(const struct sl_image *img, const char *what, struct tally *t, char *err,
		      size_t cap)
{
	struct fast6_test_bpf *sk = NULL;
	struct sl_fast6 f;
	size_t nmax = 5 * img->ndst6 + 4000, n;
	uint8_t (*a)[16] = malloc(nmax * 16);
	int64_t *got = malloc(nmax * sizeof(*got));
	bool ok = false;
	int e;

	if (!a || !got || (e = sl_fast6_build(img, &f))) {
		snprintf(err, cap, "%s: cannot build the table", what);
		goto out;
	}
	t->full += f.nfull;
	t->c8 += f.nc8;
	t->c32 += f.nc32;
	t->skip += f.nskip;
	t->f16 += f.nf16;
	t->l8 += f.nl8;
	t->l16 += f.nl16;
	if (!(sk = fast6_test_bpf__open()) ||
	    bpf_map__set_max_entries(sk->maps.node6, f.npool ? f.npool / 4 : 1) ||
	    fast6_test_bpf__load(sk) ||
	    sl_fast6_fill(&f, bpf_map__fd(sk->maps.dir6), bpf_map__fd(sk->maps.node6))) {
		snprintf(err, cap, "%s: load: %s", what, strerror(errno));
		goto free;
	}
	n = probe_addrs(img, a, nmax, 1, 4000);
	if ((e = kernel_walk(sk, a, n, got))) {
		snprintf(err, cap, "%s: test_run: %s", what, strerror(-e));
		goto free;
	}
	ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		const struct sl_dst_val *v = sl_image_dst(img, AF_INET6, a[i]);
		int64_t want = v ? (int64_t)v->cidx : -1, user = sl_fast6_class(&f, a[i]);
		char s[INET6_ADDRSTRLEN];

		t->deep += sl_fast6_depth(&f, a[i]) >= 3;
		if (got[i] != want || user != want) {
			inet_ntop(AF_INET6, a[i], s, sizeof(s));
			snprintf(err, cap, "%s: %s: kernel %lld, user walk %lld, dst6 %lld", what, s,
				 (long long)got[i], (long long)user, (long long)want);
			ok = false;
		}
	}
	t->addrs += n;
free:
	fast6_test_bpf__destroy(sk);
	sl_fast6_free(&f);
out:
	free(a);
	free(got);
	return ok;
}

int main(void)
{
	struct tally t = { 0 };
	char err[512] = "", what[64];
	struct sl_image img;
	bool ok = true;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		T_SKIP("fast6 kernel walk", "not root (BPF_PROG_TEST_RUN needs CAP_BPF)");
		return T_DONE();
	}
	libbpf_set_print(quiet);
	for (unsigned long seed = 1; seed <= 40 && ok; seed++) {
		rng = seed * 0x9e3779b97f4a7c15ULL;
		rand_image(&img, 1 + rnd() % (seed % 5 == 0 ? 3000 : 300), 1 + (int)(rnd() % 8),
			   1 + (uint32_t)(rnd() % 6), seed % 7 == 0);
		snprintf(what, sizeof(what), "random set %lu", seed);
		ok = check_set(&img, what, &t, err, sizeof(err));
		sl_image_free(&img);
	}
	T_CHECK("fast6: kernel walk == user walk == dst6 on 40 random prefix sets", ok, "%s", err);
	for (int doc = 0; doc <= 1; doc++) {
		rng = 4242 + (uint64_t)doc;
		bench_image(&img, 30000, 4, doc);
		snprintf(what, sizeof(what), "%s", doc ? "3e4 /52-/64 in 2001:db8::/33" : "3e4 /24-/64 in 2000::/3");
		ok = check_set(&img, what, &t, err, sizeof(err));
		T_CHECK(doc ? "fast6: kernel walk == dst6 on 3e4 random /52-/64 inside 2001:db8::/33" :
			"fast6: kernel walk == dst6 on 3e4 random /24-/64 in 2000::/3", ok, "%s", err);
		sl_image_free(&img);
	}
	printf("# fast6 kernel walk: %lu addresses; tables held %lu full groups, %lu 16-bit strides, "
	       "%lu + %lu compact (8, 32), %lu skips, %lu + %lu lists (7, 15)\n", t.addrs, t.full, t.f16,
	       t.c8, t.c32, t.skip, t.l8, t.l16);
	T_CHECK("fast6 kernel walk: every node kind in the tables, walks of 3 nodes and more",
		t.full && t.f16 && t.c8 && t.c32 && t.skip && t.l8 && t.l16 && t.deep,
		"%lu full, %lu f16, %lu + %lu compact, %lu skips, %lu + %lu lists, %lu deep", t.full, t.f16,
		t.c8, t.c32, t.skip, t.l8, t.l16, t.deep);
	return T_DONE();
}
