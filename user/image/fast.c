// SPDX-License-Identifier: GPL-2.0-only
/*
 * fast.c - the data path's fast tables, derived from a compiled image
 * (docs/datapath.md §4):
 *
 *   classes  one struct sl_class per class id (static classes, then name
 *            classes): near rule, fragment decisions, port-less decisions,
 *            and the TCP/UDP port decision as up to SL_CLS_IVALS sorted
 *            intervals (more: SL_CF_TRIE, the data path asks "ports");
 *   dir16, dir8  the IPv4 table (fast4.c).
 *
 * The LPM tries (dst4, dst6, ports) stay the source of truth: everything
 * here is a function of them, and tests/unit/test_fast4.c checks that a
 * lookup through these tables equals the LPM lookup for every prefix edge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl.h"

static uint32_t port_key_class(const struct sl_port_key *k)
{
	return (uint32_t)k->class_be[0] << 24 | (uint32_t)k->class_be[1] << 16 |
	       (uint32_t)k->class_be[2] << 8 | k->class_be[3];
}

static uint16_t port_key_port(const struct sl_port_key *k)
{
	return (uint16_t)(k->port_be[0] << 8 | k->port_be[1]);
}

struct seg {
	uint16_t hi;
	struct sl_decision d;
};

static bool dec_eq(struct sl_decision a, struct sl_decision b)
{
	return a.rule == b.rule && a.action == b.action;
}

static const struct sl_decision none_dec = { .rule = SL_NO_RULE, .action = SL_ACT_NONE };

static struct sl_decision norm(struct sl_decision d)
{
	return d.action == SL_ACT_NONE ? none_dec : d;
}

static int seg_emit(struct seg **v, size_t *n, size_t *cap, uint32_t lo, uint32_t hi,
		    struct sl_decision d)
{
	(void)lo;
	d = norm(d);
	if (*n && dec_eq((*v)[*n - 1].d, d)) {
		(*v)[*n - 1].hi = (uint16_t)hi;
		return 0;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		void *p = realloc(*v, nc * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[*n].hi = (uint16_t)hi;
	(*v)[*n].d = d;
	(*n)++;
	return 0;
}

/*
 * The port space [0, 65535] of one (class, slot) as merged segments, from
 * its LPM entries e[0..n) sorted by (port, prefixlen): nested or disjoint
 * prefixes, the longest one deciding.  A stack sweep, O(n).
 */
static int port_segments(const struct sl_port_entry *e, size_t n, struct seg **out,
			 size_t *nout, size_t *cap)
{
	struct { uint32_t end; struct sl_decision d; } st[17];
	size_t sp = 0;
	uint32_t pos = 0;
	int err = 0;

	*nout = 0;
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t bits = e[i].key.prefixlen - SL_PORT_KEY_FIXED_BITS;
		uint32_t lo = port_key_port(&e[i].key);
		uint32_t end = lo + (1u << (16 - bits)) - 1;

		while (sp && st[sp - 1].end < lo && !err) {
			sp--;
			if (pos <= st[sp].end) {
				err = seg_emit(out, nout, cap, pos, st[sp].end, st[sp].d);
				pos = st[sp].end + 1;
			}
		}
		if (!err && pos < lo) {
			err = seg_emit(out, nout, cap, pos, lo - 1, sp ? st[sp - 1].d : none_dec);
			pos = lo;
		}
		if (sp < 17) {          /* prefixes nest at most 17 deep (lengths 0..16) */
			st[sp].end = end;
			st[sp].d = e[i].val;
			sp++;
		}
	}
	while (sp && !err) {
		sp--;
		if (pos <= st[sp].end) {
			err = seg_emit(out, nout, cap, pos, st[sp].end, st[sp].d);
			pos = st[sp].end + 1;
		}
	}
	if (!err && pos <= 0xffff)
		err = seg_emit(out, nout, cap, pos, 0xffff, none_dec);
	return err;
}

/* Fill class @c's slot @slot from its entries. */
static int class_slot(struct sl_class *c, int slot, const struct sl_port_entry *e, size_t n,
		      struct seg **sv, size_t *cap)
{
	size_t ns;
	int err = port_segments(e, n, sv, &ns, cap);

	if (err)
		return err;
	if (slot != SL_P_TCP && slot != SL_P_UDP) {
		c->p0[slot] = (*sv)[0].d;       /* the data path asks port 0 */
		return 0;
	}
	if (ns > SL_CLS_IVALS) {
		c->flags |= SL_CF_TRIE(slot);
		return 0;
	}
	struct sl_ivals *iv = &c->iv[slot == SL_P_UDP];

	for (size_t i = 0; i < SL_CLS_IVALS; i++) {
		const struct seg *s = &(*sv)[i < ns ? i : ns - 1];

		iv->hi[i] = i < ns ? s->hi : 0xffff;
		iv->d[i] = s->d;
	}
	return 0;
}

static void class_init(struct sl_class *c, const struct sl_dst_val *v)
{
	memset(c, 0, sizeof(*c));
	c->class_id = v->class_id;
	c->near_rule = v->near_rule;
	for (int s = 0; s < SL_PSLOTS; s++) {
		c->frag[s] = norm(v->frag[s]);
		c->p0[s] = none_dec;
	}
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < SL_CLS_IVALS; i++) {
			c->iv[k].hi[i] = 0xffff;
			c->iv[k].d[i] = none_dec;
		}
}

/* Entries of @tab (sorted by class, slot, port, len), group by group. */
static int classes_from_ports(struct sl_fast *f, const struct sl_image *img,
			      const struct sl_port_entry *tab, size_t n, bool names,
			      struct seg **sv, size_t *cap)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cls = port_key_class(&tab[i].key);
		int slot = tab[i].key.pslot;
		size_t j = i + 1;
		int64_t idx = -1;

		while (j < n && port_key_class(&tab[j].key) == cls && tab[j].key.pslot == slot)
			j++;
		if (!names) {
			idx = cls;
		} else {
			size_t lo = 0, hi = img->nnames;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if (img->names[mid].ncls == cls) {
					idx = img->names[mid].val.cidx;
					break;
				}
				if (img->names[mid].ncls < cls)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		if (idx < 0 || (uint64_t)idx >= f->ncls || slot >= SL_PSLOTS)
			return -EINVAL;
		int err = class_slot(&f->cls[idx], slot, tab + i, j - i, sv, cap);

		if (err)
			return err;
		i = j;
	}
	return 0;
}

int sl_fast_build(const struct sl_image *img, struct sl_fast *f)
{
	struct seg *sv = NULL;
	size_t cap = 0;
	int err;

	memset(f, 0, sizeof(*f));
	f->ncls = img->nclasses + (uint32_t)img->nnames;
	f->cls = calloc(f->ncls ? f->ncls : 1, sizeof(*f->cls));
	if (!f->cls)
		return -ENOMEM;
	/* each class once, from the first value naming it (all carry the same) */
	uint8_t *seen = calloc(f->ncls ? f->ncls : 1, 1);

	if (!seen) {
		sl_fast_free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < img->ndst4 + img->ndst6 + img->nnames; i++) {
		const struct sl_dst_val *v = i < img->ndst4 ? &img->dst4[i].val
			: i < img->ndst4 + img->ndst6 ? &img->dst6[i - img->ndst4].val
			: &img->names[i - img->ndst4 - img->ndst6].val;

		if (v->cidx < f->ncls && !seen[v->cidx]) {
			seen[v->cidx] = 1;
			class_init(&f->cls[v->cidx], v);
		}
	}
	for (uint32_t c = 0; c < f->ncls; c++)
		if (!seen[c])
			class_init(&f->cls[c], &(struct sl_dst_val){ .class_id = c, .near_rule = SL_NO_RULE });
	free(seen);

	err = classes_from_ports(f, img, img->ports, img->nports, false, &sv, &cap);
	if (!err)
		err = classes_from_ports(f, img, img->name_ports, img->nname_ports, true, &sv, &cap);
	free(sv);
	if (!err)
		err = sl__fast4_build(f, img);
	for (uint32_t c = 0; c < f->ncls && !err; c++)
		f->ntrie += !!(f->cls[c].flags & SL_CF_TRIE(SL_P_TCP)) +
			    !!(f->cls[c].flags & SL_CF_TRIE(SL_P_UDP));
	if (err)
		sl_fast_free(f);
	return err;
}

void sl_fast_free(struct sl_fast *f)
{
	free(f->cls);
	free(f->dir16);
	free(f->dir8);
	memset(f, 0, sizeof(*f));
}

struct sl_decision sl_fast_port(const struct sl_image *img, const struct sl_class *c,
				int slot, uint16_t port)
{
	const struct sl_ivals *iv;

	if (slot != SL_P_TCP && slot != SL_P_UDP)
		return c->p0[slot < SL_PSLOTS ? slot : 0];
	if (c->flags & SL_CF_TRIE(slot)) {
		const struct sl_decision *d = sl_image_port_decision(img, c->class_id, slot, port);

		return d ? norm(*d) : none_dec;
	}
	iv = &c->iv[slot == SL_P_UDP];
	return iv->d[sl_ival_index(iv, port)];      /* the data path's own search */
}
