// SPDX-License-Identifier: GPL-2.0-only
/*
 * fast4.c - the IPv4 fast table (docs/datapath.md §4), derived from dst4:
 *
 *   dir16   the top 16 bits: a leaf (class index + 1), nothing, or the /16's
 *           node in dir8;
 *   dir8    64-byte lines holding the nodes of the 3rd byte (one per /16
 *           with longer prefixes) and of the 4th (one per /24 with longer
 *           prefixes), 16-bit entries: compact nodes (one line, at most
 *           SL_DIR4_CN ranges), wide ones (3 lines, at most SL_DIR4_WN) or
 *           full ones (256 entries in 8 lines).
 *
 * Layout: the /24 nodes of one /16 follow its node, so that a lookup's two
 * dir8 lines usually lie in one page (a TLB miss on 4 KiB pages costs a
 * 2-D page walk in a VM).  A /16 or /24 whose entries are all one leaf is
 * that leaf in its parent.  include/sluice.h describes the encoding; bpf/fast4.h
 * walks it; tests/unit/test_fast4.c checks it against the LPM lookup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

uint32_t sl_fast4_leaf_max = SL_DIR4_LEAF_MAX;
uint32_t sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;

/* Build-time entries of the 3rd byte (u32): a leaf, or a /24 node. */
#define T_CHILD  0x80000000u    /* | kind << T_KSHIFT | line in the /24 lines */
#define T_KSHIFT 29
#define T_KIND(x) (((x) >> T_KSHIFT) & 3)
#define T_LINE   0x1fffffffu

struct lines {
	struct sl_dir_line *v;
	size_t n, cap;
};

static struct sl_dir_line *lines_add(struct lines *l, size_t k)
{
	if (l->n + k > SL_DIR4_LINE)
		return NULL;
	if (l->n + k > l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 1024;
		void *p;

		while (nc < l->n + k)
			nc *= 2;
		p = realloc(l->v, nc * sizeof(*l->v));
		if (!p)
			return NULL;
		l->v = p;
		l->cap = nc;
	}
	memset(&l->v[l->n], 0, k * sizeof(*l->v));
	l->n += k;
	return &l->v[l->n - k];
}

/* A leaf as a 16-bit entry (SL_DIR4_TRIE above the limit; counted). */
static uint16_t leaf16(struct sl_fast *f, uint32_t leaf)
{
	if (leaf <= sl_fast4_leaf_max && leaf <= SL_DIR4_LEAF_MAX)
		return (uint16_t)leaf;
	f->ntrie4++;
	return SL_DIR4_TRIE;
}

/* Append the node of the 256 entries @e to @l: compact, wide or full by
 * the ranges they make (full if @dense); *@kind says which (SL_K4_*), *@at
 * where. */
static int node_put(struct lines *l, const uint16_t *e, bool dense, uint32_t *kind, size_t *at)
{
	uint8_t hi[256];
	uint16_t v[256];
	struct sl_dir_line *d;
	int n = 0;

	for (int b = 0; b < 256; b++) {
		if (n && v[n - 1] == e[b]) {
			hi[n - 1] = (uint8_t)b;
			continue;
		}
		hi[n] = (uint8_t)b;
		v[n++] = e[b];
	}
	*at = l->n;
	*kind = dense ? SL_K4_FULL : n <= SL_DIR4_CN ? SL_K4_COMPACT : n <= SL_DIR4_WN ? SL_K4_WIDE
	      : SL_K4_FULL;
	if (!(d = lines_add(l, SL_K4_LINES(*kind))))
		return -ENOMEM;
	if (*kind == SL_K4_FULL) {
		for (int b = 0; b < 256; b++)
			d[b >> 5].f[b & 31] = e[b];
	} else if (*kind == SL_K4_WIDE) {
		for (int i = 0; i < SL_DIR4_WN; i++) {
			d[0].h[i] = i < n ? hi[i] : 255;
			d[1 + i / 32].f[i % 32] = i < n ? v[i] : v[n - 1];
		}
	} else {
		for (int i = 0; i < SL_DIR4_CN; i++) {
			d->c.hi[i] = i < n ? hi[i] : 255;
			d->c.e[i] = i < n ? v[i] : v[n - 1];
		}
	}
	return 0;
}

struct l3 {                     /* a prefix longer than /24 */
	uint32_t a;
	uint32_t leaf;
	uint8_t plen;
};

static int l3_cmp(const void *x, const void *y)
{
	const struct l3 *p = x, *q = y;

	if ((p->a >> 8) != (q->a >> 8))
		return (p->a >> 8) < (q->a >> 8) ? -1 : 1;
	return (int)p->plen - (int)q->plen;
}

struct build {
	struct sl_fast *f;
	uint32_t *grp;                  /* 256 build-time entries per /16 group */
	size_t ngrp, gcap;
	struct lines n24;               /* the /24 nodes, in address order */
	struct lines out;               /* dir8 */
	bool dense;                     /* every node full (small tables) */
};

/* The build-time group of the /16 whose dir16 entry is *@e16 (made if need be). */
static int64_t group_of(struct build *b, uint32_t *e16)
{
	if (*e16 & SL_DIR_GROUP)
		return *e16 & ~SL_DIR_GROUP;
	if (b->ngrp == b->gcap) {
		size_t nc = b->gcap ? b->gcap * 2 : 256;
		uint32_t *p = realloc(b->grp, nc * 256 * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->grp = p;
		b->gcap = nc;
	}
	for (int i = 0; i < 256; i++)
		b->grp[b->ngrp * 256 + i] = *e16;
	*e16 = SL_DIR_GROUP | (uint32_t)b->ngrp;
	return (int64_t)b->ngrp++;
}

/* The /24 whose build-time entry is *@at: its last-byte table @t as a node (or a leaf). */
static int put24(struct build *b, uint32_t *at, const uint32_t *t)
{
	uint16_t e[256];
	size_t pos;
	uint32_t kind;
	bool one = true;

	for (int i = 0; i < 256; i++) {
		e[i] = leaf16(b->f, t[i]);
		one &= t[i] == t[0];
	}
	if (one) {                      /* one leaf: no node */
		*at = t[0];
		return 0;
	}
	int err = node_put(&b->n24, e, b->dense, &kind, &pos);

	if (err)
		return err;
	b->f->n24[kind]++;
	*at = T_CHILD | kind << T_KSHIFT | (uint32_t)pos;
	return 0;
}

/* The /16 of build-time group @g: its node and, after it, its /24 nodes. */
static int put16(struct build *b, uint32_t *e16, const uint32_t *g)
{
	struct sl_fast *f = b->f;
	uint16_t e[256];
	size_t first = SIZE_MAX, end = 0, pos;
	uint32_t kind;
	bool one = true;
	int err;

	for (int i = 0; i < 256; i++) {
		one &= g[i] == g[0];
		if (!(g[i] & T_CHILD))
			continue;
		size_t c = g[i] & T_LINE;

		if (c < first)
			first = c;
		c += SL_K4_LINES(T_KIND(g[i]));
		if (c > end)
			end = c;
	}
	if (one && !(g[0] & T_CHILD)) {          /* one leaf: no node */
		*e16 = g[0];
		return 0;
	}
	if (first != SIZE_MAX && end - first > SL_E4_OFF)
		return -E2BIG;          /* cannot be: 256 full nodes are 2048 lines */
	for (int i = 0; i < 256; i++)
		e[i] = g[i] & T_CHILD ? (uint16_t)(SL_E4_PTR | T_KIND(g[i]) << 13 |
						   ((g[i] & T_LINE) - first))
				      : leaf16(f, g[i]);
	if ((err = node_put(&b->out, e, b->dense, &kind, &pos)))
		return err;
	if (first != SIZE_MAX) {
		struct sl_dir_line *d = lines_add(&b->out, end - first);

		if (!d)
			return -ENOMEM;
		memcpy(d, &b->n24.v[first], (end - first) * sizeof(*d));
	}
	f->n16[kind]++;
	*e16 = SL_DIR4_PTR | kind << 29 | (uint32_t)pos;
	return 0;
}

/*
 * Pass 1 paints the prefixes up to /24 by ascending length (a longer one
 * overrides) into dir16 and a build-time group of 256 entries for every
 * /16 that holds a prefix longer than /16.  Pass 2 takes the prefixes longer
 * than /24, /24 by /24 (in address order): it paints them over that /24's
 * entry and makes the /24's node.  Pass 3 makes each /16's node, followed by
 * its /24 nodes.
 */
int sl__fast4_build(struct sl_fast *f, const struct sl_image *img)
{
	size_t cnt[34] = { 0 }, n3 = 0;
	struct build b = { .f = f };
	size_t *order;
	struct l3 *v3;
	int err = 0;

	f->dir16 = calloc(SL_DIR16_SIZE, sizeof(*f->dir16));
	order = malloc((img->ndst4 ? img->ndst4 : 1) * sizeof(*order));
	v3 = malloc((img->ndst4 ? img->ndst4 : 1) * sizeof(*v3));
	if (!f->dir16 || !order || !v3) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < img->ndst4; i++) {
		if (img->dst4[i].key.prefixlen > 32 || img->dst4[i].val.cidx >= f->ncls ||
		    img->dst4[i].val.cidx + 1 >= 1u << T_KSHIFT) {
			err = -EINVAL;
			goto out;
		}
		cnt[img->dst4[i].key.prefixlen + 1]++;
	}
	for (int l = 1; l < 34; l++)
		cnt[l] += cnt[l - 1];
	for (size_t i = 0; i < img->ndst4; i++)
		order[cnt[img->dst4[i].key.prefixlen]++] = i;

	for (size_t n = 0; n < img->ndst4; n++) {
		const struct sl_dst4_entry *d = &img->dst4[order[n]];
		const uint8_t *a = d->key.addr;
		uint32_t plen = d->key.prefixlen, leaf = d->val.cidx + 1;
		uint32_t i16 = (uint32_t)a[0] << 8 | a[1];
		int64_t g;

		if (plen <= 16) {
			for (uint32_t i = 0; i < (1u << (16 - plen)); i++)
				f->dir16[i16 + i] = leaf;
			continue;
		}
		if ((g = group_of(&b, &f->dir16[i16])) < 0) {
			err = (int)g;
			goto out;
		}
		if (plen <= 24) {
			for (uint32_t i = 0; i < (1u << (24 - plen)); i++)
				b.grp[(size_t)g * 256 + a[2] + i] = leaf;
			continue;
		}
		v3[n3].a = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		v3[n3].leaf = leaf;
		v3[n3].plen = (uint8_t)plen;
		n3++;
	}
	qsort(v3, n3, sizeof(*v3), l3_cmp);
	{
		size_t n24 = 0;

		for (size_t i = 0; i < n3; i++)
			n24 += !i || (v3[i].a >> 8) != (v3[i - 1].a >> 8);
		b.dense = 8 * (uint64_t)(b.ngrp + n24) <= sl_fast4_dense_lines;
	}
	for (size_t i = 0; i < n3 && !err;) {
		uint32_t p24 = v3[i].a >> 8, t[256];
		uint32_t *at = &b.grp[(size_t)(f->dir16[p24 >> 8] & ~SL_DIR_GROUP) * 256 + (p24 & 0xff)];

		for (int k = 0; k < 256; k++)
			t[k] = *at;     /* the /24's own leaf, or 0 */
		for (; i < n3 && (v3[i].a >> 8) == p24; i++)
			for (uint32_t k = 0; k < (1u << (32 - v3[i].plen)); k++)
				t[(v3[i].a & 0xff) + k] = v3[i].leaf;
		err = put24(&b, at, t);
	}
	for (uint32_t i = 0; i < SL_DIR16_SIZE && !err; i++)
		if (f->dir16[i] & SL_DIR_GROUP)
			err = put16(&b, &f->dir16[i], &b.grp[(size_t)(f->dir16[i] & ~SL_DIR_GROUP) * 256]);
	f->dir8 = b.out.v;
	f->nlines = (uint32_t)b.out.n;
out:
	free(order);
	free(v3);
	free(b.grp);
	free(b.n24.v);
	return err;
}

/*
 * An upper bound of the lines sl__fast4_build() makes, from one pass over
 * dst4 in sl_compile's order (by address, then length; anything else gets a
 * bound that holds for any order).  A prefix of the same class as its
 * parent (the longest prefix containing it) changes no entry.  A /16's
 * entries change only at the first byte and after the last of each other
 * prefix of /17-/24 and of each /24 holding other longer ones (a bitmap of
 * those bytes per /16): at most SL_DIR4_CN ranges make a compact node, at
 * most SL_DIR4_WN a wide one, else full; a /24 holding k such longer
 * prefixes has at most 2k + 1 ranges.
 */
/* Lines of a /24 node holding @k longer prefixes (2k + 1 ranges at most). */
static uint32_t lines24(uint32_t k)
{
	return !k ? 0 : 2 * k + 1 <= SL_DIR4_CN ? 1 : 2 * k + 1 <= SL_DIR4_WN ? 3 : 8;
}

uint32_t sl_fast_bounds(const struct sl_image *img)
{
	uint64_t (*edge)[4] = calloc(SL_DIR16_SIZE, sizeof(*edge));
	uint8_t *has = calloc(SL_DIR16_SIZE, 1);
	uint64_t *grp16 = calloc(SL_DIR16_SIZE / 64, sizeof(*grp16));
	struct { uint32_t lo, hi, cidx; } st[33];
	uint64_t lines = 0, n16 = 0, n24 = 0, d16 = 0, d24 = 0;
	uint32_t last24 = 0;
	uint32_t run = 0, p24 = 0, prev = 0;
	int sp = 0;
	bool in = false, sorted = true;

	if (!edge || !has || !grp16) {
		free(edge);
		free(has);
		free(grp16);
		return SL_DIR4_LINE;    /* the loader's sizing fails: -E2BIG */
	}
#define EDGE(i16, b) (edge[i16][(b) >> 6] |= 1ULL << ((b) & 63))
	for (size_t i = 0; i < img->ndst4; i++) {
		const uint8_t *a = img->dst4[i].key.addr;
		uint32_t plen = img->dst4[i].key.prefixlen, i16 = (uint32_t)a[0] << 8 | a[1];
		uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		uint32_t s = a[2], end = plen <= 24 ? s + (1u << (24 - plen)) : s + 1;
		bool same;

		n16 += plen > 16;
		n24 += plen > 24;
		if (plen > 24 && (!d24 || last24 != x >> 8)) {
			d24++;          /* /24s holding longer prefixes (adjacent: sorted) */
			last24 = x >> 8;
		}
		if (x < prev || plen > 32)
			sorted = false;
		if (plen > 16)
			grp16[i16 >> 6] |= 1ULL << (i16 & 63);
		prev = x;
		while (sp && (x < st[sp - 1].lo || x > st[sp - 1].hi))
			sp--;
		same = sp ? st[sp - 1].cidx == img->dst4[i].val.cidx : false;
		if (sp < 33 && plen <= 32) {
			st[sp].lo = x;
			st[sp].hi = x | (plen >= 32 ? 0 : plen ? ~0u >> plen : ~0u);
			st[sp].cidx = img->dst4[i].val.cidx;
			sp++;
		}
		if (plen <= 16 || same)
			continue;
		has[i16] = 1;
		if (plen <= 24 || !in || p24 != (i16 << 8 | a[2])) {
			if (s)
				EDGE(i16, s);
			if (end < 256)
				EDGE(i16, end);
		}
		if (plen <= 24)
			continue;
		/* prefixes longer than /24 of one /24 are adjacent in dst4's order */
		if (!in || p24 != (i16 << 8 | a[2])) {
			lines += lines24(run);
			in = true;
			p24 = i16 << 8 | a[2];
			run = 0;
		}
		run++;
	}
	lines += lines24(run);
#undef EDGE
	for (uint32_t i = 0; i < SL_DIR16_SIZE; i++) {
		int ch = 0;

		d16 += !!(grp16[i >> 6] & 1ULL << (i & 63));
		if (!has[i])
			continue;
		for (int k = 0; k < 4; k++)
			ch += __builtin_popcountll(edge[i][k]);
		lines += ch + 1 <= SL_DIR4_CN ? 1 : ch + 1 <= SL_DIR4_WN ? 3 : 8;
	}
	free(edge);
	free(has);
	free(grp16);
	if (sorted && 8 * (d16 + d24) <= sl_fast4_dense_lines)
		lines = 8 * (d16 + d24);        /* sl__fast4_build's dense tables */
	if (!sorted)
		lines = 8 * (n16 < SL_DIR16_SIZE ? n16 : SL_DIR16_SIZE) + 8 * n24;
	return lines > SL_DIR4_LINE ? SL_DIR4_LINE : (uint32_t)lines;
}

/* Entry of byte @b in the node of kind @kind at line @p (as bpf/fast4.h),
 * or SL_E4_PTR | SL_E4_OFF if it lies outside dir8. */
static uint32_t node_entry(const struct sl_fast *f, uint32_t p, uint32_t kind, uint8_t b)
{
	uint32_t i;

	if ((uint64_t)p + SL_K4_LINES(kind) > f->nlines)
		return SL_E4_PTR | SL_E4_OFF;
	if (kind == SL_K4_FULL)
		return f->dir8[p + (b >> 5)].f[b & 31];
	if (kind != SL_K4_WIDE)
		return sl_dir_line_entry(&f->dir8[p], b);
	i = sl_dir_wide_index(&f->dir8[p], b);
	return f->dir8[p + 1 + (i >> 5)].f[i & 31];
}

int64_t sl_fast_class4(const struct sl_fast *f, const struct sl_image *img, const uint8_t a[4])
{
	uint32_t x = f->dir16[(uint32_t)a[0] << 8 | a[1]];

	if (x & SL_DIR4_PTR) {
		uint32_t p = x & SL_DIR4_LINE, kind = SL_DIR4_KIND(x);

		if (kind > SL_K4_FULL)
			return -2;
		x = node_entry(f, p, kind, a[2]);
		if (x & SL_E4_PTR) {
			if (SL_E4_KIND(x) > SL_K4_FULL)
				return -2;
			x = node_entry(f, p + SL_K4_LINES(kind) + (x & SL_E4_OFF), SL_E4_KIND(x), a[3]);
			if (x & SL_E4_PTR)
				return -2;
		}
		if (x == SL_DIR4_TRIE) {
			const struct sl_dst_val *v = sl_image_dst(img, AF_INET, a);

			return v ? (int64_t)v->cidx : -1;
		}
	}
	return x ? (int64_t)x - 1 : -1;
}
