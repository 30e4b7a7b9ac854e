// SPDX-License-Identifier: GPL-2.0-only
/*
 * fast6.c - the IPv6 fast table of the data path, derived from dst6 (which
 * stays the source of truth; docs/datapath.md §4):
 *
 *   dir6    65536 entries indexed by the top 16 bits of the destination
 *           (256 array values of 256 entries, as dir16);
 *   node6   every node below, in one pool of 16-byte units
 *           (include/sluice.h, SL_N6_*), one byte of the address per level:
 *           full groups (256 entries), compact groups of at most 8 or 32
 *           ranges (sorted upper bounds, a 3- or 5-step search: most groups
 *           are), and skips: chains of levels where a single byte value leads
 *           on (one prefix deep below, the rest default), up to
 *           SL_N6_SKIP_MAX bytes compared at once (path compression, as a
 *           Patricia trie's).
 *
 * A multibit trie with 8-bit strides below a 16-bit first level (DPDK's
 * lpm6 has tbl24 + tbl8 groups; here the groups with few ranges are
 * compact, as in poptrie/SAIL the sparse levels are).  Nodes are emitted
 * children first, so a subtree is one contiguous run of the pool and a
 * lookup's nodes below a /16 or /32 mostly share a 4 KiB page (the pool is
 * mmapable, i.e. page-aligned, in the kernel).  A group whose 256 entries
 * are one leaf is that leaf.  At most 15 reads of dir6/node6 entries, fewer
 * where chains are compressed; tests/unit/test_fast6.c checks it against
 * the dst6 longest-prefix match on random rulesets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl.h"

struct b6 {
	const struct sl_dst6_entry *e;  /* the image's dst6 */
	uint32_t *ord;                  /* indices into e, by (address, prefixlen) */
	size_t cap;                     /* units allocated for f->pool */
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

/* The @s (1 or 2) address bytes from byte @d of entry @i. */
static uint32_t bytes_at(const struct b6 *b, size_t i, int d, int s)
{
	const uint8_t *a = addr_of(b, i);

	return s == 1 ? a[d] : (uint32_t)a[d] << 8 | a[d + 1];
}

/* Paint [first, first + 2^(8(d+s) - plen)) of @t (2^(8s) entries indexed by
 * the @s bytes from byte @d) with the entries of [lo, hi) whose length is in
 * (8d, 8d + 8s], shortest first. */
static void paint(const struct b6 *b, size_t lo, size_t hi, int d, int s, uint32_t *t)
{
	for (uint32_t l = 8 * d + 1; l <= 8u * d + 8u * s; l++)
		for (size_t i = lo; i < hi; i++)
			if (plen_of(b, i) == l) {
				uint32_t first = bytes_at(b, i, d, s), cnt = 1u << (8 * d + 8 * s - l);

				for (uint32_t k = 0; k < cnt; k++)
					t[first + k] = b->e[b->ord[i]].val.cidx + 1;
			}
}

/* @n units of the pool: the unit index.  A node of up to 4 units never
 * crosses a 64-byte line, a larger one starts on a line (the pool is
 * page-aligned in the kernel): as few lines per node as its size allows. */
static int64_t pool_alloc(struct b6 *b, uint32_t n)
{
	struct sl_fast6 *f = b->f;
	size_t at = f->npool;

	if (n > 4 || at % 4 + n > 4)
		at = (at + 3) / 4 * 4;

	if (at + n > SL_N6_UNIT_MAX)
		return -E2BIG;
	if (at + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		void *p;

		while (nc < at + n)
			nc *= 2;
		if (!(p = realloc(f->pool, nc * sizeof(*f->pool))))
			return -ENOMEM;
		f->pool = p;
		b->cap = nc;
	}
	memset(&f->pool[f->npool], 0, (at + n - f->npool) * sizeof(*f->pool));
	f->npool = (uint32_t)(at + n);
	return (int64_t)at;
}

static uint32_t n6_kind(uint32_t x)
{
	return x >> SL_N6_SHIFT;
}

static uint32_t n6_ptr(uint32_t kind, int64_t unit)
{
	return kind << SL_N6_SHIFT | (uint32_t)unit;
}

/* A level where only byte @v leads elsewhere (to @next), all others to
 * @miss: a skip, merged with the skip below it if that one has the same
 * miss and room (path compression). */
static int64_t emit_skip(struct b6 *b, uint8_t v, uint32_t miss, uint32_t next)
{
	struct sl_n6unit *k;
	int64_t u;

	if (n6_kind(next) == SL_N6_SKIP) {
		k = &b->f->pool[next & SL_N6_UNIT_MAX];
		uint32_t len = (64 - (k->q[0] & 0xff)) / 8;

		if (k->w[2] == miss && len < SL_N6_SKIP_MAX) {
			k->q[0] = (uint64_t)v << 56 | (k->q[0] & ~0xffULL) >> 8 | (64 - 8 * (len + 1));
			return next;
		}
	}
	if ((u = pool_alloc(b, 1)) < 0)
		return u;
	k = &b->f->pool[u];
	k->q[0] = (uint64_t)v << 56 | 56;
	k->w[2] = miss;
	k->w[3] = next;
	b->f->nskip++;
	return n6_ptr(SL_N6_SKIP, u);
}

/* A group of @n ranges (upper bounds @hi, entries @leaf) as a compact node. */
static int64_t emit_compact(struct b6 *b, const uint8_t *hi, const uint32_t *leaf, int n)
{
	uint32_t w = n <= 8 ? 8 : 32;
	int64_t u = pool_alloc(b, (w + 4 * n + 15) / 16);
	uint8_t *p;

	if (u < 0)
		return u;
	p = b->f->pool[u].b;
	for (uint32_t i = 0; i < w; i++)
		p[i] = i < (uint32_t)n ? hi[i] : 255;
	memcpy(p + w, leaf, 4 * (size_t)n);
	if (w == 8)
		b->f->nc8++;
	else
		b->f->nc32++;
	return n6_ptr(w == 8 ? SL_N6_C8 : SL_N6_C32, u);
}

static int64_t emit(struct b6 *b, const uint32_t *t)
{
	uint8_t hi[256];
	uint32_t leaf[256];
	int64_t u;
	int n = 0;

	for (int i = 0; i < 256; i++) {
		if (n && leaf[n - 1] == t[i]) {
			hi[n - 1] = (uint8_t)i;
			continue;
		}
		hi[n] = (uint8_t)i;
		leaf[n++] = t[i];
	}
	if (n == 1 && !n6_kind(leaf[0]))
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
	if (n <= 32)
		return emit_compact(b, hi, leaf, n);
	if ((u = pool_alloc(b, 64)) < 0)
		return u;
	memcpy(b->f->pool[u].b, t, 256 * sizeof(*t));
	b->f->nfull++;
	return n6_ptr(SL_N6_FULL, u);
}

/* The prefixes of [lo, hi) longer than 8 @d bits as a list node, if there
 * are 2..SL_N6_LIST_MAX of them, none longer than 8 @d + 56, and the groups
 * would take two levels or more (a prefix longer than 8 @d + 8): 0 if not. */
static int64_t emit_list(struct b6 *b, size_t lo, size_t hi, int d, uint32_t def)
{
	uint32_t ix[SL_N6_LIST_MAX], k = 0, maxl = 0;
	struct sl_n6unit *n;
	int64_t u;

	if (d > 9)
		return 0;
	for (size_t i = lo; i < hi; i++) {
		uint32_t l = plen_of(b, i);

		if (l <= 8u * d)
			continue;
		if (k == SL_N6_LIST_MAX || l > 8u * d + 56)
			return 0;
		ix[k++] = (uint32_t)i;
		maxl = l > maxl ? l : maxl;
	}
	if (k < 2 || maxl <= 8u * d + 8)
		return 0;
	/* by ascending length (insertion sort: at most 15) */
	for (uint32_t i = 1; i < k; i++)
		for (uint32_t j = i; j && plen_of(b, ix[j - 1]) > plen_of(b, ix[j]); j--) {
			uint32_t x = ix[j];

			ix[j] = ix[j - 1];
			ix[j - 1] = x;
		}
	if ((u = pool_alloc(b, k <= 7 ? 8 : 16)) < 0)
		return u;
	n = &b->f->pool[u];
	n[0].w[0] = def;
	n[0].w[1] = k;
	for (uint32_t i = 0; i < (k <= 7 ? 7u : 15u); i++) {
		uint32_t at = ix[i < k ? i : k - 1];    /* unused: the last one again */
		const uint8_t *a = addr_of(b, at);
		uint32_t rl = plen_of(b, at) - 8u * d;
		uint64_t key = 0;

		for (int j = 0; j < 7; j++)
			key |= (uint64_t)a[d + j] << (56 - 8 * j);
		key &= ~0ULL << (64 - rl);
		n[1 + i].q[0] = key | (64 - rl);
		n[1 + i].w[2] = b->e[b->ord[at]].val.cidx + 1;
	}
	if (k <= 7)
		b->f->nl8++;
	else
		b->f->nl16++;
	return n6_ptr(k <= 7 ? SL_N6_L8 : SL_N6_L16, u);
}

static int64_t node(struct b6 *b, size_t lo, size_t hi, int d, uint32_t def);

/* A 16-bit stride (SL_N6_F16: 65536 entries, the two bytes from @d) where
 * at least SL_N6_F16_MIN two-byte values lead deeper (a dense /32 or /40):
 * one read for two levels, 256 KiB in one run of the pool.  0 if not dense. */
#define SL_N6_F16_MIN 8192
static int64_t emit_f16(struct b6 *b, size_t lo, size_t hi, int d, uint32_t def)
{
	uint32_t *t, nv = 0, last = UINT32_MAX;
	int64_t u = 0;

	if (d > 13)
		return 0;
	for (size_t i = lo; i < hi; i++)
		if (plen_of(b, i) > 8u * d + 8 && bytes_at(b, i, d, 2) != last) {
			last = bytes_at(b, i, d, 2);
			nv++;
		}
	if (nv < SL_N6_F16_MIN)
		return 0;
	if (!(t = malloc(65536 * sizeof(*t))))
		return -ENOMEM;
	for (uint32_t i = 0; i < 65536; i++)
		t[i] = def;
	paint(b, lo, hi, d, 2, t);
	for (size_t i = lo; i < hi && u >= 0;) {
		uint32_t v = bytes_at(b, i, d, 2);
		size_t j = i;
		bool deeper = false;

		for (; j < hi && bytes_at(b, j, d, 2) == v; j++)
			deeper |= plen_of(b, j) > 8u * d + 16;
		if (deeper && (u = node(b, i, j, d + 2, t[v])) >= 0)
			t[v] = (uint32_t)u;
		i = j;
	}
	if (u >= 0 && (u = pool_alloc(b, 16384)) >= 0) {
		memcpy(b->f->pool[u].b, t, 65536 * sizeof(*t));
		b->f->nf16++;
		u = n6_ptr(SL_N6_F16, u);
	}
	free(t);
	return u;
}

/*
 * The entry of the node at byte @d (2..15) holding the entries [lo, hi)
 * (all sharing bytes 0..d-1; those no longer than 8d bits were painted
 * above), @def the leaf of the longest shorter prefix covering it.
 */
static int64_t node(struct b6 *b, size_t lo, size_t hi, int d, uint32_t def)
{
	uint32_t t[256];
	int64_t l = emit_list(b, lo, hi, d, def);

	if (!l)
		l = emit_f16(b, lo, hi, d, def);
	if (l)
		return l;
	for (int i = 0; i < 256; i++)
		t[i] = def;
	paint(b, lo, hi, d, 1, t);
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
		    img->dst6[i].val.cidx + 1 > SL_N6_UNIT_MAX) {
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
	/* whole lines: node6 holds them as 64-byte values */
	if (!err && f->npool % 4) {
		int64_t u = pool_alloc(&b, 4 - f->npool % 4);

		if (u < 0)
			err = (int)u;
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
	free(f->pool);
	memset(f, 0, sizeof(*f));
}

/* The u32 at byte @off of the node at unit @u. */
static uint32_t pool_u32(const struct sl_fast6 *f, uint32_t u, uint32_t off)
{
	uint32_t x;

	memcpy(&x, (const uint8_t *)f->pool + (size_t)u * sizeof(*f->pool) + off, 4);
	return x;
}

/* Index of the range of byte @v in the compact group at unit @u with @w
 * bounds: bpf/fast6.h's search, step by step. */
static uint32_t compact_index(const struct sl_fast6 *f, uint32_t u, uint32_t w, uint8_t v)
{
	const uint8_t *hi = f->pool[u].b;
	uint32_t i = 0;

	if (w == 32) {
		hi = f->pool[u + (v > hi[15])].b;
		i = v > f->pool[u].b[15] ? 16 : 0;
		i += v > hi[7] ? 8 : 0;
	}
	i += v > hi[(i + 3) & 15] ? 4 : 0;
	i += v > hi[(i + 1) & 15] ? 2 : 0;
	i += v > hi[i & 15] ? 1 : 0;
	return i;
}

/* The walk of bpf/fast6.h: the leaf of @a, the node6 nodes read in @depth. */
static uint32_t walk(const struct sl_fast6 *f, const uint8_t a[16], int *depth)
{
	uint32_t x = f->dir6[(uint32_t)a[0] << 8 | a[1]];
	int d = 2;

	*depth = 0;
	while (d < 16 && n6_kind(x)) {
		uint32_t u = x & SL_N6_UNIT_MAX, k = n6_kind(x);

		if (u >= f->npool)
			return 0;
		++*depth;
		if (k == SL_N6_SKIP) {
			const struct sl_n6unit *n = &f->pool[u];
			uint32_t len = (64 - (n->q[0] & 0xff)) / 8;
			uint64_t w = 0;

			for (uint32_t j = 0; j < len; j++)
				w |= (uint64_t)(d + (int)j < 16 ? a[d + j] : 0) << (56 - 8 * j);
			x = w == (n->q[0] & ~0xffULL) ? n->w[3] : n->w[2];
			d += (int)len;
		} else if (k == SL_N6_FULL) {
			x = pool_u32(f, u, 4u * a[d++]);
		} else if (k == SL_N6_F16) {
			x = pool_u32(f, u, 4u * ((uint32_t)a[d] << 8 | (d < 15 ? a[d + 1] : 0)));
			d += 2;
		} else if (k == SL_N6_L8 || k == SL_N6_L16) {
			uint64_t w = 0;

			for (int j = 0; j < 8; j++)
				w |= (uint64_t)(d + j < 16 ? a[d + j] : 0) << (56 - 8 * j);
			x = f->pool[u].w[0];
			for (uint32_t j = 1; j <= (k == SL_N6_L8 ? 7u : 15u); j++) {
				uint64_t key = f->pool[u + j].q[0];

				if (!((w ^ key) >> (key & 63)))
					x = f->pool[u + j].w[2];
			}
			d += 7;
		} else if (k == SL_N6_C8 || k == SL_N6_C32) {
			uint32_t w = k == SL_N6_C8 ? 8 : 32;

			x = pool_u32(f, u, w + 4 * compact_index(f, u, w, a[d++]));
		} else {
			return 0;
		}
	}
	return n6_kind(x) ? 0 : x;
}

int64_t sl_fast6_class(const struct sl_fast6 *f, const uint8_t a[16])
{
	int depth;
	uint32_t x = walk(f, a, &depth);

	return x ? (int64_t)x - 1 : -1;
}

int sl_fast6_depth(const struct sl_fast6 *f, const uint8_t a[16])
{
	int depth;

	walk(f, a, &depth);
	return depth;
}

size_t sl_fast6_bytes(const struct sl_fast6 *f)
{
	return SL_DIR16_SIZE * sizeof(uint32_t) + (size_t)f->npool * sizeof(struct sl_n6unit);
}
