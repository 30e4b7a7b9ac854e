/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast6_gen.h - random IPv6 prefix sets for the fast table's tests
 * (tests/unit/test_fast6.c against dst6 in user space,
 * tests/prog/test_fast6_prog.c against the kernel's walk): clustered bases,
 * lengths at and next to byte boundaries, repeated classes, and the two
 * shapes of the benchmark (sl-bench gen: 2000::/3 /24-/64, and /52-/64
 * inside 2001:db8::/33), which give compact groups of 32, full groups and
 * long skips.  One header, included once per test program.
 */
#ifndef SL_FAST6_GEN_H
#define SL_FAST6_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sl.h"

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

/* Keep the first of equal (address, length) (LPM keys are unique). */
static void uniq_image(struct sl_image *img)
{
	size_t m = 0;

	sl_image_sort(img);
	for (size_t i = 0; i < img->ndst6; i++)
		if (!m || img->dst6[i].key.prefixlen != img->dst6[m - 1].key.prefixlen ||
		    memcmp(img->dst6[i].key.addr, img->dst6[m - 1].key.addr, 16))
			img->dst6[m++] = img->dst6[i];
	img->ndst6 = m;
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
	uniq_image(img);
}

/* @n prefixes of the benchmark's shapes: @doc: /52../64 inside
 * 2001:db8::/33, else /24../64 in 2000::/3 (/48 most common). */
static void bench_image(struct sl_image *img, size_t n, uint32_t ncls, bool doc)
{
	memset(img, 0, sizeof(*img));
	img->nclasses = ncls;
	img->dst6 = calloc(n ? n : 1, sizeof(*img->dst6));
	for (size_t i = 0; i < n; i++) {
		struct sl_dst6_entry *e = &img->dst6[img->ndst6++];
		uint32_t r = rnd() % 100, l;
		uint64_t hi = rnd(), lo = rnd();

		if (doc) {
			l = r < 20 ? 52 + rnd() % 4 : r < 70 ? 56 : 57 + rnd() % 8;
			hi = 0x20010db800000000ULL | (hi & 0x7fffffffULL);
		} else {
			l = r < 10 ? 24 + rnd() % 9 : r < 40 ? 33 + rnd() % 15 : r < 80 ? 48 : 49 + rnd() % 16;
			hi = (hi & ~(7ULL << 61)) | (1ULL << 61);
		}
		for (int k = 0; k < 8; k++) {
			e->key.addr[k] = (uint8_t)(hi >> (56 - 8 * k));
			e->key.addr[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
		}
		mask(e->key.addr, l);
		e->key.prefixlen = l;
		e->val.cidx = (uint32_t)(rnd() % ncls);
		e->val.class_id = e->val.cidx;
	}
	uniq_image(img);
}

/* Up to @cap probe addresses for @img into @out: every @stride-th prefix's
 * first and last address and their outside neighbours and a random address
 * inside it, then @nrand random addresses, half of them near a prefix. */
static size_t probe_addrs(const struct sl_image *img, uint8_t (*out)[16], size_t cap, size_t stride,
			  size_t nrand)
{
	size_t n = 0;

	for (size_t i = 0; i < img->ndst6 && n + 5 <= cap; i += stride) {
		const struct sl_dst6_entry *e = &img->dst6[i];

		memcpy(out[n], e->key.addr, 16);
		memcpy(out[n + 1], e->key.addr, 16);
		add1(out[n + 1], -1);
		memcpy(out[n + 2], e->key.addr, 16);
		for (uint32_t b = e->key.prefixlen; b < 128; b++)
			out[n + 2][b / 8] |= (uint8_t)(0x80 >> (b % 8));
		memcpy(out[n + 3], out[n + 2], 16);
		add1(out[n + 3], 1);
		memcpy(out[n + 4], e->key.addr, 16);
		fill_host(out[n + 4], e->key.prefixlen);
		n += 5;
	}
	for (size_t i = 0; i < nrand && n < cap; i++, n++) {
		uint8_t r[16];

		for (int k = 0; k < 16; k++)
			r[k] = (uint8_t)rnd();
		memcpy(out[n], r, 16);
		if (img->ndst6 && (i & 1)) {
			const struct sl_dst6_entry *e = &img->dst6[rnd() % img->ndst6];
			uint32_t keep = e->key.prefixlen ? (uint32_t)(rnd() % e->key.prefixlen) : 0;

			memcpy(out[n], e->key.addr, 16);
			for (uint32_t b = keep; b < 128; b++)
				out[n][b / 8] = (uint8_t)((out[n][b / 8] & ~(0x80 >> (b % 8))) |
							  (r[b / 8] & (0x80 >> (b % 8))));
		}
	}
	return n;
}

#endif /* SL_FAST6_GEN_H */
