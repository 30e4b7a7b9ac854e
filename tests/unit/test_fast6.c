// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_fast6 - the IPv6 fast table (user/image/fast6.c: dir6, grp6,
 * small6) against the dst6 longest-prefix match it is derived from, on
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

static uint64_t rng;
static uint64_t rnd(void)       /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void mask(uint8_t *a, uint32_t plen)
{
	for (uint32_t b = plen; b < 128; b++)
		a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static void fill_host(uint8_t *a, uint32_t plen)
{
	for (uint32_t b = plen; b < 128; b++)
		if (rnd() & 1)
			a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

static void add1(uint8_t *a, int delta)    /* a += delta (+1 or -1), mod 2^128 */
{
	for (int i = 15; i >= 0; i--) {
		uint8_t old = a[i];

		a[i] = (uint8_t)(a[i] + delta);
		if ((delta > 0 && a[i] > old) || (delta < 0 && a[i] < old))
			break;
	}
}

static uint32_t rand_len(void)
{
	uint32_t r = rnd() % 100;

	if (r < 5)
		return rnd() % 17;                       /* up to /16 */
	if (r < 45) {                                    /* at or next to a byte boundary */
		uint32_t l = 8 * (2 + rnd() % 15);

		l += (uint32_t)(rnd() % 3) - 1;
		return l > 128 ? 128 : l;
	}
	return 17 + rnd() % 112;
}

/* @n random prefixes, under @nbase random bases, classes 0..@ncls-1. */
static void rand_image(struct sl_image *img, size_t n, int nbase, uint32_t ncls, bool doc)
{
	uint8_t base[8][16];

	memset(img, 0, sizeof(*img));
	img->nclasses = ncls;
	img->dst6 = calloc(n ? n : 1, sizeof(*img->dst6));
	for (int k = 0; k < nbase; k++) {
		for (int i = 0; i < 16; i++)
			base[k][i] = (uint8_t)rnd();
		if (doc) {
			base[k][0] = 0x20; base[k][1] = 0x01; base[k][2] = 0x0d; base[k][3] = 0xb8;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_dst6_entry *e = &img->dst6[img->ndst6];
		uint32_t l = rand_len(), keep;

		memcpy(e->key.addr, base[rnd() % nbase], 16);
		/* keep the base's top bits (16, 32 or 48), the rest random */
		keep = doc ? 32 : 16 * (1 + rnd() % 3);
		if (doc && l < 32)
			l = 32 + rnd() % 33;
		for (uint32_t b = keep; b < 128; b++)
			if (rnd() & 1)
				e->key.addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		mask(e->key.addr, l);
		e->key.prefixlen = l;
		e->val.cidx = (uint32_t)(rnd() % ncls);
		e->val.class_id = e->val.cidx;
		img->ndst6++;
	}
	sl_image_sort(img);
	/* LPM keys are unique: keep the first of equal (address, length) */
	size_t m = 0;

	for (size_t i = 0; i < img->ndst6; i++)
		if (!m || img->dst6[i].key.prefixlen != img->dst6[m - 1].key.prefixlen ||
		    memcmp(img->dst6[i].key.addr, img->dst6[m - 1].key.addr, 16))
			img->dst6[m++] = img->dst6[i];
	img->ndst6 = m;
}

struct stats { unsigned long addrs, grp, small, skip, bad; size_t bytes; };

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
	struct sl_fast6 f;
	bool ok = true;

	if (sl_fast6_build(img, &f)) {
		printf("# seed %lu: sl_fast6_build failed\n", seed);
		return false;
	}
	st->grp += f.ngrp;
	st->small += f.nsmall;
	st->skip += f.nskip;
	st->bytes = sl_fast6_bytes(&f);
	for (size_t i = 0; i < img->ndst6 && ok; i += stride) {
		uint8_t a[16];

		memcpy(a, img->dst6[i].key.addr, 16);
		ok &= check_addr(img, &f, a, seed, st);
		add1(a, -1);
		ok &= check_addr(img, &f, a, seed, st);
		memcpy(a, img->dst6[i].key.addr, 16);
		for (uint32_t b = img->dst6[i].key.prefixlen; b < 128; b++)
			a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		ok &= check_addr(img, &f, a, seed, st);
		add1(a, 1);
		ok &= check_addr(img, &f, a, seed, st);
		memcpy(a, img->dst6[i].key.addr, 16);
		fill_host(a, img->dst6[i].key.prefixlen);
		ok &= check_addr(img, &f, a, seed, st);
	}
	for (int i = 0; i < nrand && ok; i++) {
		uint8_t a[16];

		for (int k = 0; k < 16; k++)
			a[k] = (uint8_t)rnd();
		if (img->ndst6 && (i & 1)) {    /* half: a random address near a prefix */
			const struct sl_dst6_entry *e = &img->dst6[rnd() % img->ndst6];
			uint32_t keep = e->key.prefixlen ? (uint32_t)(rnd() % e->key.prefixlen) : 0;

			uint8_t r[16];

			memcpy(r, a, 16);
			memcpy(a, e->key.addr, 16);
			for (uint32_t b = keep; b < 128; b++)
				a[b / 8] = (uint8_t)((a[b / 8] & ~(0x80 >> (b % 8))) | (r[b / 8] & (0x80 >> (b % 8))));
		}
		ok &= check_addr(img, &f, a, seed, st);
	}
	sl_fast6_free(&f);
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
	printf("# fast6: %lu addresses compared, %lu full groups, %lu compact groups, %lu skips\n",
	       st.addrs, st.grp, st.small, st.skip);
	T_CHECK("fast6 (dir6/grp6/small6/skip6) == dst6 LPM on 400 random prefix sets", st.bad == 0,
		"%lu sets differ", st.bad);
	T_CHECK("fast6: full and compact groups and skips exercised", st.grp > 0 && st.small > 0 &&
		st.skip > 0, "%lu full, %lu compact, %lu skips", st.grp, st.small, st.skip);
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
		T_CHECK("fast6: a lone /128 is two skip entries (8 + 6 bytes), no group",
			sl_fast6_class(&f, a) == 1 && f.nskip == 2 && f.nsmall == 0 && f.ngrp == 0 &&
			f.skip[0].len + f.skip[1].len == 14,
			"class %lld, %u skip, %u compact, %u full", (long long)sl_fast6_class(&f, a),
			f.nskip, f.nsmall, f.ngrp);
		sl_fast6_free(&f);
	}
	img.dst6[1].val.cidx = SL_DIR_SKIP;     /* a class index the entries cannot hold */
	img.nclasses = SL_DIR_SKIP + 1;
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
	printf("# fast6: %zu prefixes in 2001:db8::/32: %lu full + %lu compact groups + %lu skips, %zu KiB\n",
	       img.ndst6, st.grp, st.small, st.skip, st.bytes / 1024);
	sl_image_free(&img);
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
	test_compiled();
	(void)t_skipped;
	return T_DONE();
}
