// SPDX-License-Identifier: GPL-2.0-only
/*
 * fast6.c - the IPv6 fast table of the data path, derived from dst6 (which
 * stays the source of truth; docs/datapath.md §4):
 *
 *   dir6    65536 entries indexed by the top 16 bits of the destination
 *           (256 array values of 256 entries, as dir16);
 *   grp6    full groups of 256 entries, indexed by the next byte;
 *   small6  compact groups (at most SL_DIR_SMALL_N ranges of the next byte,
 *           a 3-step binary search), as most groups are;
 *   skip6   chains of levels where a single byte value leads on (one
 *           prefix deep below, the rest default), up to SL_SKIP_MAX bytes
 *           compared at once (path compression, as a Patricia trie's).
 *
 * A multibit trie with 8-bit strides below a 16-bit first level (DPDK's
 * lpm6 has tbl24 + tbl8 groups; here the groups with few ranges are
 * compact, as in poptrie/SAIL the sparse levels are).  An entry is 0 (no
 * prefix), class index + 1 (a leaf), SL_DIR_GROUP | g (grp6[g], next byte)
 * or SL_DIR_SMALL | i (small6[i], next byte) or SL_DIR_SKIP | i (skip6[i],
 * the next 1..8 bytes); a group whose 256 entries are one leaf is that
 * leaf.  At most 15 array reads, fewer where chains are compressed; tests/unit/test_fast6.c
 * checks it against the dst6 longest-prefix match on random rulesets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl.h"

struct b6 {
	const struct sl_dst6_entry *e;  /* the image's dst6 */
	uint32_t *ord;                  /* indices into e, by (address, prefixlen) */
	size_t gcap, scap, kcap;
	struct sl_fast6 *f;
};

static const struct sl_dst6_entry *g_e6;        /* qsort context (single-threaded use) */

static int ord_cmp(const void *x, const void *y)
{
	const struct sl_dst6_entry *p = &g_e6[*(const uint32_t *)x], *q = &g_e6[*(const uint32_t *)y];
	int c = memcmp(p->key.addr, q->key.addr, 16);

	if (c)
		return c;
	return p->key.prefixlen < q->key.prefixlen ? -1 : p->key.prefixlen > q->key.prefixlen;
}

static const uint8_t *addr_of(const struct b6 *b, size_t i)
{
	return b->e[b->ord[i]].key.addr;
}

static uint32_t plen_of(const struct b6 *b, size_t i)
{
	return b->e[b->ord[i]].key.prefixlen;
}

/* Paint [a[d], a[d] + 2^(8(d+1) - plen)) of @t with the entries of [lo, hi)
 * whose length is in (8d, 8d + 8], shortest first. */
static void paint(const struct b6 *b, size_t lo, size_t hi, int d, uint32_t *t)
{
	for (uint32_t l = 8 * d + 1; l <= 8u * d + 8; l++)
		for (size_t i = lo; i < hi; i++)
			if (plen_of(b, i) == l) {
				uint32_t first = addr_of(b, i)[d], cnt = 1u << (8 * d + 8 - l);

				for (uint32_t k = 0; k < cnt; k++)
					t[first + k] = b->e[b->ord[i]].val.cidx + 1;
			}
}

#define SL_DIR6_PTR (SL_DIR_GROUP | SL_DIR_SMALL | SL_DIR_SKIP)

/* A level where only byte @v leads elsewhere (to @next), all others to
 * @miss: a skip entry, merged with the skip below it if that one has the
 * same miss and room (path compression). */
static int64_t emit_skip(struct b6 *b, uint8_t v, uint32_t miss, uint32_t next)
{
	struct sl_fast6 *f = b->f;
	struct sl_dir_skip *k;

	if ((next & SL_DIR6_PTR) == SL_DIR_SKIP) {
		k = &f->skip[next & ~SL_DIR_SKIP];
		if (k->miss == miss && k->len < SL_SKIP_MAX) {
			k->key = (uint64_t)v << 56 | k->key >> 8;
			k->len++;
			return next;
		}
	}
	if (f->nskip >= SL_DIR_SKIP)
		return -E2BIG;
	if (f->nskip == b->kcap) {
		size_t nc = b->kcap ? b->kcap * 2 : 64;
		void *p = realloc(f->skip, nc * sizeof(*f->skip));

		if (!p)
			return -ENOMEM;
		f->skip = p;
		b->kcap = nc;
	}
	k = &f->skip[f->nskip];
	memset(k, 0, sizeof(*k));
	k->key = (uint64_t)v << 56;
	k->len = 1;
	k->miss = miss;
	k->next = next;
	return SL_DIR_SKIP | f->nskip++;
}

static int64_t emit(struct b6 *b, const uint32_t *t)
{
	struct sl_fast6 *f = b->f;
	uint8_t hi[256];
	uint32_t leaf[256];
	int n = 0;

	for (int i = 0; i < 256; i++) {
		if (n && leaf[n - 1] == t[i]) {
			hi[n - 1] = (uint8_t)i;
			continue;
		}
		hi[n] = (uint8_t)i;
		leaf[n++] = t[i];
	}
	if (n == 1 && !(leaf[0] & SL_DIR6_PTR))
		return leaf[0];         /* one leaf (or nothing) everywhere: no group */
	{
		uint32_t m = t[0] == t[1] ? t[0] : t[2];
		int v = -1, cnt = 0;

		for (int i = 0; i < 256; i++)
			if (t[i] != m) {
				v = i;
				cnt++;
			}
		if (cnt == 1)
			return emit_skip(b, (uint8_t)v, m, t[v]);
	}
	if (n <= SL_DIR_SMALL_N) {
		struct sl_dir_small *g;

		if (f->nsmall >= SL_DIR_SKIP)
			return -E2BIG;
		if (f->nsmall == b->scap) {
			size_t nc = b->scap ? b->scap * 2 : 64;
			void *p = realloc(f->small, nc * sizeof(*f->small));

			if (!p)
				return -ENOMEM;
			f->small = p;
			b->scap = nc;
		}
		g = &f->small[f->nsmall];
		for (int i = 0; i < SL_DIR_SMALL_N; i++) {
			g->hi[i] = i < n ? hi[i] : 255;
			g->leaf[i] = i < n ? leaf[i] : leaf[n - 1];
		}
		return SL_DIR_SMALL | f->nsmall++;
	}
	if (f->ngrp >= SL_DIR_SKIP)
		return -E2BIG;
	if (f->ngrp == b->gcap) {
		size_t nc = b->gcap ? b->gcap * 2 : 64;
		uint32_t *p = realloc(f->grp, nc * 256 * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->grp = p;
		b->gcap = nc;
	}
	memcpy(&f->grp[(size_t)f->ngrp * 256], t, 256 * sizeof(*t));
	return SL_DIR_GROUP | f->ngrp++;
}

/*
 * The entry of the node at byte @d (2..15) holding the entries [lo, hi)
 * (all sharing bytes 0..d-1; those no longer than 8d bits were painted
 * above), @def the leaf of the longest shorter prefix covering it.
 */
static int64_t node(struct b6 *b, size_t lo, size_t hi, int d, uint32_t def)
{
	uint32_t t[256];

	for (int i = 0; i < 256; i++)
		t[i] = def;
	paint(b, lo, hi, d, t);
	if (d < 15) {
		for (size_t i = lo; i < hi;) {
			uint8_t v = addr_of(b, i)[d];
			size_t j = i;
			bool deeper = false;

			for (; j < hi && addr_of(b, j)[d] == v; j++)
				deeper |= plen_of(b, j) > 8u * d + 8;
			if (deeper) {
				int64_t x = node(b, i, j, d + 1, t[v]);

				if (x < 0)
					return x;
				t[v] = (uint32_t)x;
			}
			i = j;
		}
	}
	return emit(b, t);
}

int sl_fast6_build(const struct sl_image *img, struct sl_fast6 *f)
{
	struct b6 b = { .e = img->dst6, .f = f };
	uint32_t ncls = img->nclasses + (uint32_t)img->nnames;
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->dir6 = calloc(SL_DIR16_SIZE, sizeof(*f->dir6));
	b.ord = malloc((img->ndst6 ? img->ndst6 : 1) * sizeof(*b.ord));
	if (!f->dir6 || !b.ord) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < img->ndst6; i++) {
		if (img->dst6[i].key.prefixlen > 128 || img->dst6[i].val.cidx >= ncls ||
		    img->dst6[i].val.cidx + 1 >= SL_DIR_SKIP) {
			err = -EINVAL;
			goto out;
		}
		b.ord[i] = (uint32_t)i;
	}
	g_e6 = img->dst6;
	qsort(b.ord, img->ndst6, sizeof(*b.ord), ord_cmp);
	/* the first level: prefixes up to /16 by ascending length */
	for (uint32_t l = 0; l <= 16; l++)
		for (size_t i = 0; i < img->ndst6; i++)
			if (plen_of(&b, i) == l) {
				const uint8_t *a = addr_of(&b, i);
				uint32_t i16 = (uint32_t)a[0] << 8 | a[1];

				for (uint32_t k = 0; k < (1u << (16 - l)); k++)
					f->dir6[i16 + k] = img->dst6[b.ord[i]].val.cidx + 1;
			}
	/* then every /16 holding a longer prefix gets its node */
	for (size_t i = 0; i < img->ndst6 && !err;) {
		const uint8_t *a = addr_of(&b, i);
		uint32_t i16 = (uint32_t)a[0] << 8 | a[1];
		size_t j = i;
		bool deeper = false;

		for (; j < img->ndst6 && ((uint32_t)addr_of(&b, j)[0] << 8 | addr_of(&b, j)[1]) == i16; j++)
			deeper |= plen_of(&b, j) > 16;
		if (deeper) {
			int64_t x = node(&b, i, j, 2, f->dir6[i16]);

			if (x < 0)
				err = (int)x;
			else
				f->dir6[i16] = (uint32_t)x;
		}
		i = j;
	}
out:
	free(b.ord);
	if (err)
		sl_fast6_free(f);
	return err;
}

void sl_fast6_free(struct sl_fast6 *f)
{
	free(f->dir6);
	free(f->grp);
	free(f->small);
	free(f->skip);
	memset(f, 0, sizeof(*f));
}

int64_t sl_fast6_class(const struct sl_fast6 *f, const uint8_t a[16])
{
	uint32_t x = f->dir6[(uint32_t)a[0] << 8 | a[1]];

	for (int d = 2; d < 16 && (x & SL_DIR6_PTR);) {
		if (x & SL_DIR_GROUP) {
			x = f->grp[(size_t)(x & ~SL_DIR_GROUP) * 256 + a[d++]];
		} else if (x & SL_DIR_SMALL) {
			x = sl_dir_small_leaf(&f->small[x & ~SL_DIR_SMALL], a[d++]);
		} else {
			const struct sl_dir_skip *k = &f->skip[x & ~SL_DIR_SKIP];
			uint64_t w = 0;

			for (uint32_t i = 0; i < k->len; i++)
				w |= (uint64_t)(d + (int)i < 16 ? a[d + i] : 0) << (56 - 8 * i);
			x = w == k->key ? k->next : k->miss;
			d += (int)k->len;
		}
	}
	return x && !(x & SL_DIR6_PTR) ? (int64_t)x - 1 : -1;
}

size_t sl_fast6_bytes(const struct sl_fast6 *f)
{
	return SL_DIR16_SIZE * sizeof(uint32_t) + (size_t)f->ngrp * sizeof(struct sl_dir_grp) +
	       (size_t)f->nsmall * sizeof(struct sl_dir_small) +
	       (size_t)f->nskip * sizeof(struct sl_dir_skip);
}
