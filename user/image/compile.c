/* SPDX-License-Identifier: GPL-2.0-only */
/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.c - rules -> image: exactly what the BPF maps will hold
 * (docs/datapath.md section 4): policy classes, the dst4/dst6 LPM entries
 * and the per-class values; the port tables come from partition.c and the
 * lookup over the compiled tables is lookup.c.
 *
 * Destinations.  Every (prefix, rule) pair of one family is sorted by
 * address, then prefix length, then rule index.  A sweep over the sorted
 * list keeps a stack of the enclosing prefixes, so each distinct prefix P
 * finds its nearest enclosing prefix in O(1) amortized; P's policy class is
 * the parent's class merged with P's own rules (the ordered list of every
 * rule having a prefix that contains P).  Class lists are interned in a hash
 * table so identical lists share a class id (dense from 0, in order of first
 * appearance: IPv4 prefixes by address, then IPv6).  O(n log n) in the
 * number of prefixes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "image/image_int.h"

/* ------------------------------------------------------------ helpers */

struct pfx {
	uint64_t hi, lo;        /* address, big-endian bytes as a 128-bit number */
	uint16_t rule;          /* rule index */
	uint8_t plen;
};

static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return (int)x->rule - (int)y->rule;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void put_be64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Top @n bits of a 64-bit word (n in 0..64). */
static uint64_t mask64(unsigned n)
{
	return n == 0 ? 0 : n >= 64 ? ~0ULL : ~0ULL << (64 - n);
}

static void mask128(uint64_t *hi, uint64_t *lo, unsigned plen)
{
	*hi &= mask64(plen > 64 ? 64 : plen);
	*lo &= mask64(plen > 64 ? plen - 64 : 0);
}

/* Does prefix (ahi, alo)/alen contain (bhi, blo)/blen? */
static bool pfx_contains(const struct pfx *a, const struct pfx *b)
{
	uint64_t hi = b->hi, lo = b->lo;

	if (a->plen > b->plen)
		return false;
	mask128(&hi, &lo, a->plen);
	return hi == a->hi && lo == a->lo;
}

/* Radix sort for the IPv4 case: key = addr:32 | plen:8 | rule:16. */
static int sort_u64(uint64_t *v, size_t n, uint64_t *tmp)
{
	size_t *cnt = malloc(sizeof(*cnt) << 16);

	if (!cnt)
		return -ENOMEM;
	for (int pass = 0; pass < 4; pass++) {
		int sh = pass * 16;
		size_t sum = 0;
		bool trivial = false;

		memset(cnt, 0, sizeof(*cnt) << 16);
		for (size_t i = 0; i < n; i++)
			cnt[(v[i] >> sh) & 0xffff]++;
		for (size_t i = 0; i < (1u << 16); i++) {
			size_t c = cnt[i];

			if (c == n)
				trivial = true;
			cnt[i] = sum;
			sum += c;
		}
		if (trivial)
			continue;
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(v[i] >> sh) & 0xffff]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(cnt);
	return 0;
}

/* ------------------------------------------------------------ classes */

struct classes {
	uint16_t *pool;         /* rule indices of every class, back to back */
	size_t npool, cappool;
	uint32_t *off, *len;
	uint32_t n, cap;
	uint32_t *ht;           /* open addressing: class id + 1, 0 = empty */
	size_t htcap;
};

static uint64_t hash_list(const uint16_t *v, uint32_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (uint32_t i = 0; i < n; i++) {
		h ^= v[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return h;
}

static int ht_grow(struct classes *c)
{
	size_t ncap = c->htcap ? c->htcap * 2 : 1024;
	uint32_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (uint32_t id = 0; id < c->n; id++) {
		size_t i = hash_list(c->pool + c->off[id], c->len[id]) & (ncap - 1);

		while (nt[i])
			i = (i + 1) & (ncap - 1);
		nt[i] = id + 1;
	}
	free(c->ht);
	c->ht = nt;
	c->htcap = ncap;
	return 0;
}

/* Class id of the sorted rule list @v, interning it if new; <0 on error. */
static int64_t class_intern(struct classes *c, const uint16_t *v, uint32_t n)
{
	uint64_t h = hash_list(v, n);
	size_t i;

	if ((c->n + 1) * 2 > c->htcap && ht_grow(c))
		return -ENOMEM;
	for (i = h & (c->htcap - 1); c->ht[i]; i = (i + 1) & (c->htcap - 1)) {
		uint32_t id = c->ht[i] - 1;

		if (c->len[id] == n && !memcmp(c->pool + c->off[id], v, n * sizeof(*v)))
			return id;
	}
	if (c->n == c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : 256;
		uint32_t *no = realloc(c->off, ncap * sizeof(*no));

		if (!no)
			return -ENOMEM;
		c->off = no;
		no = realloc(c->len, ncap * sizeof(*no));
		if (!no)
			return -ENOMEM;
		c->len = no;
		c->cap = ncap;
	}
	if (c->npool + n > c->cappool) {
		size_t ncap = c->cappool ? c->cappool * 2 : 4096;
		uint16_t *np;

		while (ncap < c->npool + n)
			ncap *= 2;
		np = realloc(c->pool, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		c->pool = np;
		c->cappool = ncap;
	}
	memcpy(c->pool + c->npool, v, n * sizeof(*v));
	c->off[c->n] = (uint32_t)c->npool;
	c->len[c->n] = n;
	c->npool += n;
	c->ht[i] = c->n + 1;
	return c->n++;
}

static void classes_free(struct classes *c)
{
	free(c->pool);
	free(c->off);
	free(c->len);
	free(c->ht);
	memset(c, 0, sizeof(*c));
}

/* -------------------------------------------------------- destinations */

struct sweep_out {
	struct pfx *keys;       /* distinct prefixes, sorted */
	uint32_t *cls;          /* their class ids */
	size_t n;
};

/*
 * @v: sorted (prefix, rule) pairs.  Fills @o with each distinct prefix and
 * its class.  @buf: scratch of nrules entries.
 */
static int sweep(const struct pfx *v, size_t n, struct classes *c, uint16_t *buf,
		 struct sweep_out *o)
{
	struct { struct pfx p; uint32_t cls; } stack[130];
	int sp = 0;

	o->keys = malloc((n ? n : 1) * sizeof(*o->keys));
	o->cls = malloc((n ? n : 1) * sizeof(*o->cls));
	o->n = 0;
	if (!o->keys || !o->cls)
		return -ENOMEM;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		const uint16_t *par = NULL;
		uint32_t npar = 0, m;
		bool all_in = true;
		int64_t id;

		/* The group of pairs with this exact prefix: its own rules. */
		while (j < n && v[j].hi == v[i].hi && v[j].lo == v[i].lo &&
		       v[j].plen == v[i].plen)
			j++;

		while (sp > 0 && !pfx_contains(&stack[sp - 1].p, &v[i]))
			sp--;
		if (sp > 0) {
			par = c->pool + c->off[stack[sp - 1].cls];
			npar = c->len[stack[sp - 1].cls];
		}

		/* Merge the parent's list with the group's rules (both sorted). */
		m = 0;
		{
			uint32_t a = 0;

			for (size_t k = i; k < j; k++) {
				uint16_t r = v[k].rule;

				if (k > i && r == v[k - 1].rule)
					continue;
				while (a < npar && par[a] < r)
					buf[m++] = par[a++];
				if (a < npar && par[a] == r) {
					buf[m++] = par[a++];
					continue;
				}
				all_in = false;
				buf[m++] = r;
			}
			while (a < npar)
				buf[m++] = par[a++];
		}
		if (all_in && sp > 0)
			id = stack[sp - 1].cls;
		else
			id = class_intern(c, buf, m);
		if (id < 0)
			return (int)id;

		stack[sp].p = v[i];
		stack[sp].cls = (uint32_t)id;
		sp++;
		o->keys[o->n] = v[i];
		o->cls[o->n] = (uint32_t)id;
		o->n++;
		i = j;
	}
	return 0;
}


/* ------------------------------------------------------------- compile */

static int validate(const struct sl_ruleset *rs, const uint16_t *slots)
{
	uint8_t seen[SL_MAX_SLOTS] = { 0 };

	if (rs->nrules > SL_MAX_RULES)
		return -EINVAL;
	if (rs->nrules && !rs->rules)
		return -EINVAL;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];
		uint16_t s = slots ? slots[i] : (uint16_t)i;

		if (s >= SL_MAX_SLOTS || seen[s])
			return -EINVAL;
		seen[s] = 1;
		if (r->action != SL_ACT_ALLOW && r->action != SL_ACT_DENY)
			return -EINVAL;
		for (size_t l = 0; l < r->nlines; l++) {
			const struct sl_proto_line *pl = &r->lines[l];

			if ((unsigned)pl->proto > SL_PROTO_ANY)
				return -EINVAL;
			if (pl->nports && !pl->ports)
				return -EINVAL;
			for (size_t k = 0; k < pl->nports; k++)
				if (pl->ports[k].lo > pl->ports[k].hi)
					return -EINVAL;
		}
		for (size_t d = 0; d < r->ndsts; d++) {
			const struct sl_cidr *c = &r->dsts[d];

			if (c->family == AF_INET ? c->plen > 32 :
			    c->family == AF_INET6 ? c->plen > 128 : true)
				return -EINVAL;
		}
	}
	return 0;
}

/* Collect the (prefix, rule) pairs of each family, host bits masked, sorted. */
static int collect(const struct sl_ruleset *rs, struct pfx **v4p, size_t *n4p,
		   struct pfx **v6p, size_t *n6p)
{
	struct pfx *v4 = NULL, *v6 = NULL;
	uint64_t *k4 = NULL, *tmp = NULL;
	size_t n4 = 0, n6 = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t d = 0; d < rs->rules[i].ndsts; d++) {
			if (rs->rules[i].dsts[d].family == AF_INET)
				n4++;
			else
				n6++;
		}
	k4 = malloc((n4 ? n4 : 1) * sizeof(*k4));
	tmp = malloc((n4 ? n4 : 1) * sizeof(*tmp));
	*v4p = v4 = malloc((n4 ? n4 : 1) * sizeof(*v4));
	*v6p = v6 = malloc((n6 ? n6 : 1) * sizeof(*v6));
	if (!k4 || !tmp || !v4 || !v6)
		goto nomem;
	n4 = n6 = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t d = 0; d < rs->rules[i].ndsts; d++) {
			const struct sl_cidr *c = &rs->rules[i].dsts[d];

			if (c->family == AF_INET) {
				uint64_t a = (uint64_t)c->addr[0] << 24 | c->addr[1] << 16 |
					     c->addr[2] << 8 | c->addr[3];

				a &= mask64(c->plen) >> 32;
				k4[n4++] = a << 24 | (uint64_t)c->plen << 16 | i;
			} else {
				struct pfx *p = &v6[n6++];

				p->hi = be64(c->addr);
				p->lo = be64(c->addr + 8);
				p->plen = c->plen;
				p->rule = (uint16_t)i;
				mask128(&p->hi, &p->lo, p->plen);
			}
		}
	if (sort_u64(k4, n4, tmp))
		goto nomem;
	for (size_t i = 0; i < n4; i++) {
		v4[i].hi = (k4[i] >> 24) << 32;
		v4[i].lo = 0;
		v4[i].plen = (uint8_t)(k4[i] >> 16);
		v4[i].rule = (uint16_t)k4[i];
	}
	free(k4);
	free(tmp);
	qsort(v6, n6, sizeof(*v6), pfx_cmp);
	*n4p = n4;
	*n6p = n6;
	return 0;
nomem:
	free(k4);
	free(tmp);
	return -ENOMEM;
}

/* The dst4/dst6 entries: each distinct prefix with its class's value. */
static int emit_dsts(struct sl_image *img, const struct sweep_out *o4,
		     const struct sweep_out *o6, const struct sl_dst_val *vals)
{
	img->dst4 = malloc((o4->n ? o4->n : 1) * sizeof(*img->dst4));
	img->dst6 = malloc((o6->n ? o6->n : 1) * sizeof(*img->dst6));
	if (!img->dst4 || !img->dst6)
		return -ENOMEM;
	for (size_t i = 0; i < o4->n; i++) {
		struct sl_dst4_entry *e = &img->dst4[i];
		uint64_t a = o4->keys[i].hi >> 32;

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = o4->keys[i].plen;
		e->key.addr[0] = (uint8_t)(a >> 24);
		e->key.addr[1] = (uint8_t)(a >> 16);
		e->key.addr[2] = (uint8_t)(a >> 8);
		e->key.addr[3] = (uint8_t)a;
		e->val = vals[o4->cls[i]];
	}
	img->ndst4 = o4->n;
	for (size_t i = 0; i < o6->n; i++) {
		struct sl_dst6_entry *e = &img->dst6[i];

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = o6->keys[i].plen;
		put_be64(e->key.addr, o6->keys[i].hi);
		put_be64(e->key.addr + 8, o6->keys[i].lo);
		e->val = vals[o6->cls[i]];
	}
	img->ndst6 = o6->n;
	return 0;
}

/*
 * Name classes (names.c, docs/dns.md): ids above the static ones; their
 * port entries go to img->name_ports (the loader writes both tables into
 * the one "ports" map).  @ncls: the number of static classes.
 */
static int compile_names(const struct sl_ruleset *rs, struct sl_image *img, uint32_t ncls,
			 struct pbuf *pb)
{
	int err;

	err = sl_names_build(rs, &img->names, &img->nnames, &img->max_wild_labels);
	if (err)
		return err;
	for (size_t k = 0; k < img->nnames; k++) {
		struct sl_nameclass *nc = &img->names[k];
		const uint16_t *list = nc->rules;
		uint32_t nl = (uint32_t)nc->nrules;

		memset(&nc->val, 0, sizeof(nc->val));
		nc->val.class_id = nc->ncls;
		nc->val.cidx = ncls + (uint32_t)k;
		nc->val.near_rule = nl ? img->slot[list[0]] : SL_NO_RULE;
		sl__class_frags(rs, img->slot, list, nl, &nc->val);
		err = sl__class_ports(rs, img->slot, list, nl, nc->ncls, pb);
		if (err)
			return err;
	}
	img->name_ports = pb->v;
	img->nname_ports = pb->n;
	pb->v = NULL;
	return 0;
}

int sl_compile(const struct sl_ruleset *rs, const uint16_t *slots,
	       uint32_t generation, struct sl_image *img)
{
	struct classes cl = { 0 };
	struct sweep_out o4 = { 0 }, o6 = { 0 };
	struct pbuf pb = { 0 };
	struct pfx *v4 = NULL, *v6 = NULL;
	struct sl_dst_val *vals = NULL;
	uint16_t *buf = NULL;
	size_t n4 = 0, n6 = 0;
	int err;

	if (!rs || !img)
		return -EINVAL;
	memset(img, 0, sizeof(*img));
	err = validate(rs, slots);
	if (err)
		return err;

	img->rs = rs;
	img->cfg.policy = (uint8_t)rs->policy;
	img->cfg.mode = (uint8_t)rs->mode;
	img->cfg.control_pass = rs->control_pass ? 1 : 0;
	img->cfg.record = 0;
	img->cfg.generation = generation;
	sl_event_cfg(rs, &img->cfg);            /* log drops|none|all, rate, snap (image/event.c) */
	img->slot = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*img->slot));
	buf = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*buf));
	if (!img->slot || !buf)
		goto nomem;
	for (size_t i = 0; i < rs->nrules; i++)
		img->slot[i] = slots ? slots[i] : (uint16_t)i;

	err = collect(rs, &v4, &n4, &v6, &n6);
	if (err)
		goto fail;
	err = sweep(v4, n4, &cl, buf, &o4);
	if (!err)
		err = sweep(v6, n6, &cl, buf, &o6);
	if (err)
		goto fail;
	free(v4);
	free(v6);
	v4 = v6 = NULL;
	img->nclasses = cl.n;

	/* Per-class values: near rule, fragment decisions. */
	vals = calloc(cl.n ? cl.n : 1, sizeof(*vals));
	if (!vals)
		goto nomem;
	for (uint32_t c = 0; c < cl.n; c++) {
		const uint16_t *list = cl.pool + cl.off[c];

		vals[c].class_id = c;
		vals[c].cidx = c;
		vals[c].near_rule = img->slot[list[0]];
		sl__class_frags(rs, img->slot, list, cl.len[c], &vals[c]);
	}
	err = emit_dsts(img, &o4, &o6, vals);
	if (err)
		goto fail;

	/* Port tables, class by class, slot by slot: sorted by key. */
	for (uint32_t c = 0; c < cl.n; c++) {
		err = sl__class_ports(rs, img->slot, cl.pool + cl.off[c], cl.len[c], c, &pb);
		if (err)
			goto fail;
	}
	img->ports = pb.v;
	img->nports = pb.n;
	pb.v = NULL;
	pb.n = pb.cap = 0;

	err = compile_names(rs, img, cl.n, &pb);
	if (err)
		goto fail;

	err = 0;
	goto out;
nomem:
	err = -ENOMEM;
fail:
	sl_image_free(img);
out:
	free(pb.v);
	free(pb.bnd);
	free(pb.owner);
	free(pb.next);
	free(vals);
	free(o4.keys);
	free(o4.cls);
	free(o6.keys);
	free(o6.cls);
	free(v4);
	free(v6);
	free(buf);
	classes_free(&cl);
	return err;
}


void sl_image_free(struct sl_image *img)
{
	if (!img)
		return;
	free(img->slot);
	free(img->dst4);
	free(img->dst6);
	free(img->ports);
	free(img->name_ports);
	free(img->slot_index);
	sl_names_free(img->names, img->nnames);
	memset(img, 0, sizeof(*img));
}

int sl_image_rule_of_slot(const struct sl_image *img, uint16_t slot)
{
	if (img && !img->rs && img->slot_index)
		return slot < SL_MAX_SLOTS ? img->slot_index[slot] : -1;
	if (!img || !img->rs || !img->slot)
		return -1;
	for (size_t i = 0; i < img->rs->nrules; i++)
		if (img->slot[i] == slot)
			return (int)i;
	return -1;
}

