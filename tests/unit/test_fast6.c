// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_fast6 - the IPv6 fast table (user/image/fast6.c: dir6, node6)
 * against the dst6 longest-prefix match it is derived from, on
 * random prefix sets: every prefix's first and last address and their
 * outside neighbours, random addresses inside prefixes, random addresses.
 * Prefixes cluster under a few /16s and /32s, lengths near byte boundaries
 * are common, classes repeat (so equal leaves merge), and a large set
 * inside 2001:db8::/32 exercises full groups.  Also through sl_compile on
 * a rules file with nested IPv6 prefixes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>

#include "sl.h"
#include "test.h"
#include "fast6_gen.h"

struct stats { unsigned long addrs, full, c8, c32, skip, list, l16, bad; size_t bytes; };

static bool check_addr(const struct sl_image *img, const struct sl_fast6 *f, const uint8_t *a,
		       unsigned long seed, struct stats *st)
{
	const struct sl_dst_val *v = sl_image_dst(img, AF_INET6, a);
	int64_t x = sl_fast6_class(f, a);
	char s[INET6_ADDRSTRLEN];

	st->addrs++;
	if ((v ? (int64_t)v->cidx : -1) == x)
		return true;
	inet_ntop(AF_INET6, a, s, sizeof(s));
	printf("# seed %lu: %s: dst6 class %lld, fast6 %lld\n", seed, s,
	       v ? (long long)v->cidx : -1LL, (long long)x);
	return false;
}

static bool check_image_s(const struct sl_image *img, unsigned long seed, int nrand, size_t stride,
			  struct stats *st)
{
	size_t cap = 5 * (img->ndst6 / stride + 1) + (size_t)nrand, n;
	uint8_t (*a)[16] = malloc(cap * 16);
	struct sl_fast6 f;
	bool ok = true;

	if (!a || sl_fast6_build(img, &f)) {
		printf("# seed %lu: sl_fast6_build failed\n", seed);
		free(a);
		return false;
	}
	st->full += f.nfull;
	st->c8 += f.nc8;
	st->c32 += f.nc32;
	st->skip += f.nskip;
	st->list += f.nl8;
	st->l16 += f.nl16;
	st->bytes = sl_fast6_bytes(&f);
	n = probe_addrs(img, a, cap, stride, (size_t)nrand);
	for (size_t i = 0; i < n && ok; i++)
		ok &= check_addr(img, &f, a[i], seed, st);
	sl_fast6_free(&f);
	free(a);
	return ok;
}

static bool check_image(const struct sl_image *img, unsigned long seed, int nrand, struct stats *st)
{
	return check_image_s(img, seed, nrand, 1, st);
}

static void test_random(void)
{
	struct stats st = {0};

	for (unsigned long seed = 1; seed <= 400; seed++) {
		struct sl_image img;

		rng = seed * 0x9e3779b97f4a7c15ULL;
		rand_image(&img, 1 + rnd() % (seed % 10 == 0 ? 3000 : 200), 1 + (int)(rnd() % 8),
			   1 + (uint32_t)(rnd() % 6), seed % 7 == 0);
		if (!check_image(&img, seed, 500, &st))
			st.bad++;
		sl_image_free(&img);
	}
	printf("# fast6: %lu addresses compared, %lu full groups, %lu + %lu compact groups (8, 32), %lu skips, "
	       "%lu + %lu lists (7, 15)\n", st.addrs, st.full, st.c8, st.c32, st.skip, st.list, st.l16);
	T_CHECK("fast6 (dir6/node6) == dst6 LPM on 400 random prefix sets", st.bad == 0,
		"%lu sets differ", st.bad);
	T_CHECK("fast6: full groups, compact groups of 8 and 32, skips, lists of 7 and 15 exercised",
		st.full > 0 && st.c8 > 0 && st.c32 > 0 && st.skip > 0 && st.list > 0 && st.l16 > 0,
		"%lu full, %lu + %lu compact, %lu skips, %lu + %lu lists", st.full, st.c8, st.c32, st.skip,
		st.list, st.l16);
}

static void test_edges(void)
{
	struct stats st = {0};
	struct sl_image img;
	bool ok;

	/* no prefix at all, and ::/0 alone */
	memset(&img, 0, sizeof(img));
	img.nclasses = 1;
	ok = check_image(&img, 0, 200, &st);
	img.dst6 = calloc(1, sizeof(*img.dst6));
	img.ndst6 = 1;
	ok &= check_image(&img, 0, 200, &st);
	/* a /128 under ::/0, same class and another */
	img.dst6 = realloc(img.dst6, 2 * sizeof(*img.dst6));
	memset(&img.dst6[1], 0, sizeof(img.dst6[1]));
	img.dst6[1].key.prefixlen = 128;
	img.ndst6 = 2;
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", img.dst6[1].key.addr);
	ok &= check_image(&img, 0, 200, &st);
	img.nclasses = 2;
	img.dst6[1].val.cidx = 1;
	ok &= check_image(&img, 0, 200, &st);
	T_CHECK("fast6: empty, ::/0, a /128 (same class and another) == dst6", ok, "differs");
	{
		struct sl_fast6 f;
		uint8_t a[16];

		sl_fast6_build(&img, &f);
		inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", a);
		T_CHECK("fast6: a lone /128 is two skips (7 + 7 bytes), no group, two reads",
			sl_fast6_class(&f, a) == 1 && f.nskip == 2 && f.nc8 + f.nc32 == 0 && f.nfull == 0 &&
			(64 - (f.pool[0].q[0] & 0xff)) / 8 + (64 - (f.pool[1].q[0] & 0xff)) / 8 == 14 &&
			sl_fast6_depth(&f, a) == 2,
			"class %lld, %u skip, %u compact, %u full, %d reads", (long long)sl_fast6_class(&f, a),
			f.nskip, f.nc8 + f.nc32, f.nfull, sl_fast6_depth(&f, a));
		sl_fast6_free(&f);
	}
	img.dst6[1].val.cidx = SL_N6_UNIT_MAX;  /* a class index the entries cannot hold */
	img.nclasses = SL_N6_UNIT_MAX + 1;
	{
		struct sl_fast6 f;

		T_CHECK("fast6: a class index too large for an entry is refused",
			sl_fast6_build(&img, &f) == -EINVAL, "accepted");
	}
	sl_image_free(&img);
}

/* 1e5 prefixes inside 2001:db8::/32 (the benchmark's shape): the memory. */
static void test_doc_large(void)
{
	struct stats st = {0};
	struct sl_image img;

	rng = 424242;
	rand_image(&img, 100000, 1, 4, true);
	T_CHECK("fast6: 1e5 prefixes inside 2001:db8::/32 == dst6 (every 7th prefix's edges)", check_image_s(&img, 9, 5000, 7, &st),
		"differs");
	printf("# fast6: %zu prefixes in 2001:db8::/32: %lu full + %lu + %lu compact groups + %lu skips, %zu KiB\n",
	       img.ndst6, st.full, st.c8, st.c32, st.skip, st.bytes / 1024);
	sl_image_free(&img);
}

/* The benchmark's two shapes at 1e5 (sl-bench gen): memory and reads per lookup. */
static void test_bench_shapes(void)
{
	for (int doc = 0; doc <= 1; doc++) {
		struct stats st = {0};
		struct sl_image img;
		struct sl_fast6 f;
		double reads = 0;

		rng = 777 + (uint64_t)doc;
		bench_image(&img, 100000, 4, doc);
		T_CHECK(doc ? "fast6: 1e5 bench-shaped /52-/64 in 2001:db8::/33 == dst6 (every 7th prefix's edges)" :
			"fast6: 1e5 bench-shaped /24-/64 in 2000::/3 == dst6 (every 7th prefix's edges)",
			check_image_s(&img, 10 + (unsigned long)doc, 5000, 7, &st), "differs");
		if (!sl_fast6_build(&img, &f)) {
			for (int i = 0; i < 10000; i++) {
				const struct sl_dst6_entry *e = &img.dst6[rnd() % img.ndst6];
				uint8_t a[16];

				memcpy(a, e->key.addr, 16);
				fill_host(a, e->key.prefixlen);
				reads += sl_fast6_depth(&f, a);
			}
			printf("# fast6: %zu bench-shaped prefixes (%s): %u full + %u 16-bit + %u + %u compact "
			       "+ %u skips + %u + %u lists, %zu KiB, %.2f node reads per random destination\n",
			       img.ndst6, doc ? "2001:db8::/33" : "2000::/3", f.nfull, f.nf16, f.nc8, f.nc32,
			       f.nskip, f.nl8, f.nl16, sl_fast6_bytes(&f) / 1024, reads / 10000);
			T_CHECK(doc ? "fast6: a dense /40 of 2001:db8::/33 gets a 16-bit stride, 3 reads per destination" :
				"fast6: 1e5 random prefixes in 2000::/3: under 1.5 reads per destination",
				doc ? f.nf16 == 1 && reads / 10000 < 3.1 : reads / 10000 < 1.5,
				"%u 16-bit strides, %.2f reads", f.nf16, reads / 10000);
			sl_fast6_free(&f);
		}
		sl_image_free(&img);
	}
}

/* Through the compiler: nested IPv6 destinations of a rules file. */
static void test_compiled(void)
{
	static const char text[] =
		"policy drop;\n"
		"rule a { allow udp 8801; to 2001:db8::/32; }\n"
		"rule b { allow tcp 443; to 2001:db8:0:100::/56, 2001:db8:ff00::/40, 2001:db8:0:1::5/128; }\n"
		"rule c { deny any; to 2001:db8:0:1:8000::/65, 2001:db8:0:2::/64; }\n";
	struct sl_ruleset rs;
	struct sl_diags d = {0};
	struct sl_image img;
	struct stats st = {0};
	bool ok = sl_ruleset_parse("fast6.rules", text, sizeof(text) - 1, &rs, &d) == 0;

	if (!ok)
		sl_diag_print(&d, stdout);
	sl_diag_free(&d);
	T_CHECK("fast6: the rules file parses", ok, "parse failed");
	if (!ok)
		return;
	ok = sl_compile(&rs, NULL, 1, &img) == 0;
	T_CHECK("fast6: the rules file compiles", ok, "compile failed");
	if (ok) {
		rng = 77;
		T_CHECK("fast6: compiled nested IPv6 destinations == dst6", check_image(&img, 77, 5000, &st),
			"differs");
		sl_image_free(&img);
	}
	sl_ruleset_free(&rs);
}

int main(void)
{
	test_edges();
	test_random();
	test_doc_large();
	test_bench_shapes();
	test_compiled();
	(void)t_skipped;
	return T_DONE();
}
