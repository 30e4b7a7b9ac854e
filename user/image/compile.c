/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.c - rules -> image: exactly what the BPF maps will hold
 * (docs/datapath.md section 4), plus a lookup over the compiled tables that
 * behaves as the data path does.
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
 *
 * Ports.  For each class and protocol slot, the ports are partitioned by the
 * first matching rule of the class: the range end points cut 0..65535 into
 * segments, rules are applied in class order and each claims the segments
 * still free (a "next free segment" union-find keeps that linear).  Adjacent
 * segments of the same rule are merged, then each interval is cut into
 * aligned prefixes.  Slots other than TCP/UDP only ever see port 0: one
 * entry with prefixlen 40 (all ports) carries the decision for port 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

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

/* --------------------------------------------------------------- ports */

static bool proto_in_slot(enum sl_proto lp, int slot)
{
	switch (lp) {
	case SL_PROTO_ANY:   return true;
	case SL_PROTO_TCP:   return slot == SL_P_TCP;
	case SL_PROTO_UDP:   return slot == SL_P_UDP;
	case SL_PROTO_ICMP:  return slot == SL_P_ICMP;
	case SL_PROTO_ICMP6: return slot == SL_P_ICMP6;
	}
	return false;
}

struct pbuf {
	struct sl_port_entry *v;
	size_t n, cap;
	uint32_t *bnd;          /* segment boundaries */
	size_t nbnd, capbnd;
	int32_t *owner;         /* segment -> rule index, -1 free */
	uint32_t *next;         /* union-find: next free segment */
	size_t capseg;
};

static int pbuf_push(struct pbuf *b, uint32_t cls, int slot, uint32_t port,
		     unsigned bits, uint16_t rule_slot, uint8_t action)
{
	struct sl_port_entry *e;

	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		void *nv = realloc(b->v, ncap * sizeof(*b->v));

		if (!nv)
			return -ENOMEM;
		b->v = nv;
		b->cap = ncap;
	}
	e = &b->v[b->n++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = SL_PORT_KEY_FIXED_BITS + bits;
	e->key.class_be[0] = (uint8_t)(cls >> 24);
	e->key.class_be[1] = (uint8_t)(cls >> 16);
	e->key.class_be[2] = (uint8_t)(cls >> 8);
	e->key.class_be[3] = (uint8_t)cls;
	e->key.pslot = (uint8_t)slot;
	e->key.port_be[0] = (uint8_t)(port >> 8);
	e->key.port_be[1] = (uint8_t)port;
	e->val.rule = rule_slot;
	e->val.action = action;
	return 0;
}

/* Cut [lo, hi] into aligned prefixes. */
static int push_interval(struct pbuf *b, uint32_t cls, int slot, uint32_t lo,
			 uint32_t hi, uint16_t rule_slot, uint8_t action)
{
	while (lo <= hi) {
		unsigned k = 0;         /* block size 2^k */

		while (k < 16 && (lo & ((2u << k) - 1)) == 0 && lo + (2u << k) - 1 <= hi)
			k++;
		if (pbuf_push(b, cls, slot, lo, 16 - k, rule_slot, action))
			return -ENOMEM;
		lo += 1u << k;
	}
	return 0;
}

static int bnd_add(struct pbuf *b, uint32_t x)
{
	if (b->nbnd == b->capbnd) {
		size_t ncap = b->capbnd ? b->capbnd * 2 : 256;
		void *nv = realloc(b->bnd, ncap * sizeof(*b->bnd));

		if (!nv)
			return -ENOMEM;
		b->bnd = nv;
		b->capbnd = ncap;
	}
	b->bnd[b->nbnd++] = x;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t uf_find(uint32_t *next, uint32_t i)
{
	uint32_t r = i;

	while (next[r] != r)
		r = next[r];
	while (next[i] != r) {
		uint32_t t = next[i];

		next[i] = r;
		i = t;
	}
	return r;
}

/* First segment index whose start is >= x (bnd sorted, unique). */
static size_t seg_of(const uint32_t *bnd, size_t nb, uint32_t x)
{
	size_t lo = 0, hi = nb;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (bnd[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* TCP or UDP slot of one class. */
static int ports_tcpudp(const struct sl_ruleset *rs, const uint16_t *slots,
			const uint16_t *list, uint32_t nl, uint32_t cls, int slot,
			struct pbuf *b)
{
	uint32_t last = 0;      /* rules list[0..last) are relevant */
	size_t nseg;
	int err;

	/* Boundaries; rules after the first one matching every port never decide. */
	b->nbnd = 0;
	if (bnd_add(b, 0) || bnd_add(b, 65536))
		return -ENOMEM;
	for (last = 0; last < nl; last++) {
		const struct sl_rule *r = &rs->rules[list[last]];
		bool every = false;

		for (size_t l = 0; l < r->nlines; l++) {
			const struct sl_proto_line *pl = &r->lines[l];

			if (!proto_in_slot(pl->proto, slot))
				continue;
			if (pl->nports == 0)
				every = true;
			for (size_t k = 0; k < pl->nports; k++)
				if (bnd_add(b, pl->ports[k].lo) ||
				    bnd_add(b, (uint32_t)pl->ports[k].hi + 1))
					return -ENOMEM;
		}
		if (every) {
			last++;
			break;
		}
	}
	qsort(b->bnd, b->nbnd, sizeof(*b->bnd), u32_cmp);
	{
		size_t u = 0;

		for (size_t i = 0; i < b->nbnd; i++)
			if (!u || b->bnd[u - 1] != b->bnd[i])
				b->bnd[u++] = b->bnd[i];
		b->nbnd = u;
	}
	nseg = b->nbnd - 1;     /* segment s = [bnd[s], bnd[s+1]) */
	if (nseg + 1 > b->capseg) {
		size_t ncap = nseg + 1;
		void *no = realloc(b->owner, ncap * sizeof(*b->owner));

		if (!no)
			return -ENOMEM;
		b->owner = no;
		no = realloc(b->next, ncap * sizeof(*b->next));
		if (!no)
			return -ENOMEM;
		b->next = no;
		b->capseg = ncap;
	}
	for (size_t s = 0; s <= nseg; s++) {
		b->owner[s] = -1;
		b->next[s] = (uint32_t)s;       /* next[nseg] = sentinel */
	}

	/* Each rule, in order, claims the free segments of its ranges. */
	for (uint32_t i = 0; i < last; i++) {
		const struct sl_rule *r = &rs->rules[list[i]];

		for (size_t l = 0; l < r->nlines; l++) {
			const struct sl_proto_line *pl = &r->lines[l];
			size_t nr = pl->nports ? pl->nports : 1;

			if (!proto_in_slot(pl->proto, slot))
				continue;
			for (size_t k = 0; k < nr; k++) {
				uint32_t lo = pl->nports ? pl->ports[k].lo : 0;
				uint32_t hi = pl->nports ? pl->ports[k].hi : 65535;
				size_t s = seg_of(b->bnd, b->nbnd, lo);
				size_t e = seg_of(b->bnd, b->nbnd, hi + 1); /* exclusive */

				for (s = uf_find(b->next, (uint32_t)s); s < e;
				     s = uf_find(b->next, (uint32_t)s)) {
					b->owner[s] = (int32_t)list[i];
					b->next[s] = (uint32_t)s + 1;
				}
			}
		}
	}

	/* Merge runs of the same rule, emit prefixes. */
	for (size_t s = 0; s < nseg;) {
		size_t t = s + 1;
		int32_t o = b->owner[s];

		while (t < nseg && b->owner[t] == o)
			t++;
		if (o >= 0) {
			err = push_interval(b, cls, slot, b->bnd[s], b->bnd[t] - 1,
					    slots[o], (uint8_t)rs->rules[o].action);
			if (err)
				return err;
		}
		s = t;
	}
	return 0;
}

static bool rule_matches_port0(const struct sl_rule *r, int slot)
{
	for (size_t l = 0; l < r->nlines; l++) {
		const struct sl_proto_line *pl = &r->lines[l];

		if (!proto_in_slot(pl->proto, slot))
			continue;
		if (pl->nports == 0)
			return true;
		for (size_t k = 0; k < pl->nports; k++)
			if (pl->ports[k].lo == 0)
				return true;
	}
	return false;
}

static bool rule_has_slot(const struct sl_rule *r, int slot)
{
	for (size_t l = 0; l < r->nlines; l++)
		if (proto_in_slot(r->lines[l].proto, slot))
			return true;
	return false;
}

/* ------------------------------------------------------------- compile */

static int validate(const struct sl_ruleset *rs, const uint16_t *slots)
{
	uint8_t seen[SL_MAX_RULES] = { 0 };

	if (rs->nrules > SL_MAX_RULES)
		return -EINVAL;
	if (rs->nrules && !rs->rules)
		return -EINVAL;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];
		uint16_t s = slots ? slots[i] : (uint16_t)i;

		if (s >= SL_MAX_RULES || seen[s])
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

int sl_compile(const struct sl_ruleset *rs, const uint16_t *slots,
	       uint32_t generation, struct sl_image *img)
{
	struct classes cl = { 0 };
	struct sweep_out o4 = { 0 }, o6 = { 0 };
	struct pbuf pb = { 0 };
	struct pfx *v4 = NULL, *v6 = NULL;
	uint64_t *k4 = NULL, *tmp = NULL;
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
	img->slot = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*img->slot));
	buf = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*buf));
	if (!img->slot || !buf)
		goto nomem;
	for (size_t i = 0; i < rs->nrules; i++)
		img->slot[i] = slots ? slots[i] : (uint16_t)i;

	/* Collect (prefix, rule) pairs, host bits masked. */
	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t d = 0; d < rs->rules[i].ndsts; d++) {
			if (rs->rules[i].dsts[d].family == AF_INET)
				n4++;
			else
				n6++;
		}
	k4 = malloc((n4 ? n4 : 1) * sizeof(*k4));
	tmp = malloc((n4 ? n4 : 1) * sizeof(*tmp));
	v4 = malloc((n4 ? n4 : 1) * sizeof(*v4));
	v6 = malloc((n6 ? n6 : 1) * sizeof(*v6));
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
	k4 = tmp = NULL;
	qsort(v6, n6, sizeof(*v6), pfx_cmp);

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
		uint32_t nl = cl.len[c];

		vals[c].class_id = c;
		vals[c].cidx = c;
		vals[c].near_rule = img->slot[list[0]];
		for (int s = 0; s < SL_PSLOTS; s++) {
			vals[c].frag[s].rule = SL_NO_RULE;
			vals[c].frag[s].action = SL_ACT_NONE;
			for (uint32_t k = 0; k < nl; k++) {
				const struct sl_rule *r = &rs->rules[list[k]];

				if (rule_has_slot(r, s)) {
					vals[c].frag[s].rule = img->slot[list[k]];
					vals[c].frag[s].action = (uint8_t)r->action;
					break;
				}
			}
		}
	}

	img->dst4 = malloc((o4.n ? o4.n : 1) * sizeof(*img->dst4));
	img->dst6 = malloc((o6.n ? o6.n : 1) * sizeof(*img->dst6));
	if (!img->dst4 || !img->dst6)
		goto nomem;
	for (size_t i = 0; i < o4.n; i++) {
		struct sl_dst4_entry *e = &img->dst4[i];
		uint64_t a = o4.keys[i].hi >> 32;

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = o4.keys[i].plen;
		e->key.addr[0] = (uint8_t)(a >> 24);
		e->key.addr[1] = (uint8_t)(a >> 16);
		e->key.addr[2] = (uint8_t)(a >> 8);
		e->key.addr[3] = (uint8_t)a;
		e->val = vals[o4.cls[i]];
	}
	img->ndst4 = o4.n;
	for (size_t i = 0; i < o6.n; i++) {
		struct sl_dst6_entry *e = &img->dst6[i];

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = o6.keys[i].plen;
		put_be64(e->key.addr, o6.keys[i].hi);
		put_be64(e->key.addr + 8, o6.keys[i].lo);
		e->val = vals[o6.cls[i]];
	}
	img->ndst6 = o6.n;

	/* Port tables, class by class, slot by slot: sorted by key. */
	for (uint32_t c = 0; c < cl.n; c++) {
		const uint16_t *list = cl.pool + cl.off[c];
		uint32_t nl = cl.len[c];

		for (int s = 0; s < SL_PSLOTS; s++) {
			if (s == SL_P_TCP || s == SL_P_UDP) {
				err = ports_tcpudp(rs, img->slot, list, nl, c, s, &pb);
				if (err)
					goto fail;
				continue;
			}
			for (uint32_t k = 0; k < nl; k++) {
				const struct sl_rule *r = &rs->rules[list[k]];

				if (rule_matches_port0(r, s)) {
					if (pbuf_push(&pb, c, s, 0, 0, img->slot[list[k]],
						      (uint8_t)r->action))
						goto nomem;
					break;
				}
			}
		}
	}
	img->ports = pb.v;
	img->nports = pb.n;
	pb.v = NULL;
	pb.n = pb.cap = 0;

	/* Name classes (names.c, docs/dns.md): ids above the static ones; their
	 * port entries go to img->name_ports (the loader writes both tables
	 * into the one "ports" map). */
	err = sl_names_build(rs, &img->names, &img->nnames, &img->max_wild_labels);
	if (err)
		goto fail;
	for (size_t k = 0; k < img->nnames; k++) {
		struct sl_nameclass *nc = &img->names[k];
		const uint16_t *list = nc->rules;
		uint32_t nl = (uint32_t)nc->nrules;

		memset(&nc->val, 0, sizeof(nc->val));
		nc->val.class_id = nc->ncls;
		nc->val.cidx = cl.n + (uint32_t)k;
		nc->val.near_rule = nl ? img->slot[list[0]] : SL_NO_RULE;
		for (int s = 0; s < SL_PSLOTS; s++) {
			nc->val.frag[s].rule = SL_NO_RULE;
			nc->val.frag[s].action = SL_ACT_NONE;
			for (uint32_t i = 0; i < nl; i++)
				if (rule_has_slot(&rs->rules[list[i]], s)) {
					nc->val.frag[s].rule = img->slot[list[i]];
					nc->val.frag[s].action = (uint8_t)rs->rules[list[i]].action;
					break;
				}
		}
		for (int s = 0; s < SL_PSLOTS; s++) {
			if (s == SL_P_TCP || s == SL_P_UDP) {
				err = ports_tcpudp(rs, img->slot, list, nl, nc->ncls, s, &pb);
				if (err)
					goto fail;
				continue;
			}
			for (uint32_t i = 0; i < nl; i++) {
				const struct sl_rule *r = &rs->rules[list[i]];

				if (rule_matches_port0(r, s)) {
					if (pbuf_push(&pb, nc->ncls, s, 0, 0, img->slot[list[i]],
						      (uint8_t)r->action))
						goto nomem;
					break;
				}
			}
		}
	}
	img->name_ports = pb.v;
	img->nname_ports = pb.n;
	pb.v = NULL;

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
	free(k4);
	free(tmp);
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
		return slot < SL_MAX_RULES ? img->slot_index[slot] : -1;
	if (!img || !img->rs || !img->slot)
		return -1;
	for (size_t i = 0; i < img->rs->nrules; i++)
		if (img->slot[i] == slot)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ sorting */

static int dst4_cmp(const void *a, const void *b)
{
	const struct sl_dst4_entry *x = a, *y = b;
	int c = memcmp(x->key.addr, y->key.addr, 4);

	return c ? c : (x->key.prefixlen > y->key.prefixlen) - (x->key.prefixlen < y->key.prefixlen);
}

static int dst6_cmp(const void *a, const void *b)
{
	const struct sl_dst6_entry *x = a, *y = b;
	int c = memcmp(x->key.addr, y->key.addr, 16);

	return c ? c : (x->key.prefixlen > y->key.prefixlen) - (x->key.prefixlen < y->key.prefixlen);
}

static int port_key_cmp(const struct sl_port_key *x, const struct sl_port_key *y);

static int port_entry_cmp(const void *a, const void *b)
{
	return port_key_cmp(&((const struct sl_port_entry *)a)->key,
			    &((const struct sl_port_entry *)b)->key);
}

void sl_image_sort(struct sl_image *img)
{
	if (img->ndst4)
		qsort(img->dst4, img->ndst4, sizeof(*img->dst4), dst4_cmp);
	if (img->ndst6)
		qsort(img->dst6, img->ndst6, sizeof(*img->dst6), dst6_cmp);
	if (img->nports)
		qsort(img->ports, img->nports, sizeof(*img->ports), port_entry_cmp);
}

/* -------------------------------------------------------------- lookup */

/*
 * Exact-match binary search over a sorted dst table (entries: key
 * {prefixlen, addr[nb]} then value at @val_off), for dst4 and dst6 alike.
 */
static const struct sl_dst_val *find_dst(const void *tab, size_t n, size_t stride, size_t nb,
					 size_t val_off, const uint8_t *a, uint32_t plen)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const unsigned char *e = (const unsigned char *)tab + mid * stride;
		uint32_t epl;
		int c = memcmp(e + sizeof(uint32_t), a, nb);

		memcpy(&epl, e, sizeof(epl));
		if (!c)
			c = epl < plen ? -1 : epl > plen;
		if (!c)
			return (const struct sl_dst_val *)(e + val_off);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct sl_dst_val *find4(const struct sl_image *img, const uint8_t *a, uint32_t plen)
{
	return find_dst(img->dst4, img->ndst4, sizeof(*img->dst4), 4,
			offsetof(struct sl_dst4_entry, val), a, plen);
}

static const struct sl_dst_val *find6(const struct sl_image *img, const uint8_t *a, uint32_t plen)
{
	return find_dst(img->dst6, img->ndst6, sizeof(*img->dst6), 16,
			offsetof(struct sl_dst6_entry, val), a, plen);
}

static void mask_bytes(uint8_t *out, const uint8_t *in, unsigned nbytes, unsigned plen)
{
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		out[i] = bits >= 8 ? in[i] : (uint8_t)(in[i] & (0xff00 >> bits));
	}
}

static const struct sl_dst_val *lpm_dst(const struct sl_image *img, uint8_t family,
					const uint8_t *dst)
{
	unsigned nb = family == AF_INET ? 4 : 16;
	uint8_t a[16];

	for (int plen = (int)nb * 8; plen >= 0; plen--) {
		const struct sl_dst_val *v;

		mask_bytes(a, dst, nb, (unsigned)plen);
		v = family == AF_INET ? find4(img, a, (uint32_t)plen)
				      : find6(img, a, (uint32_t)plen);
		if (v)
			return v;
	}
	return NULL;
}

static int port_key_cmp(const struct sl_port_key *x, const struct sl_port_key *y)
{
	int c = memcmp(x->class_be, y->class_be, 4);

	if (!c)
		c = (int)x->pslot - (int)y->pslot;
	if (!c)
		c = memcmp(x->port_be, y->port_be, 2);
	if (!c)
		c = x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
	return c;
}

static const struct sl_decision *lpm_ports(const struct sl_image *img, uint32_t cls,
					   int slot, uint16_t port)
{
	for (int bits = 16; bits >= 0; bits--) {
		struct sl_port_key k = { 0 };
		uint16_t m = (uint16_t)(bits ? port & (0xffff0000u >> bits) : 0);
		size_t lo = 0, hi = img->nports;

		k.prefixlen = SL_PORT_KEY_FIXED_BITS + (uint32_t)bits;
		k.class_be[0] = (uint8_t)(cls >> 24);
		k.class_be[1] = (uint8_t)(cls >> 16);
		k.class_be[2] = (uint8_t)(cls >> 8);
		k.class_be[3] = (uint8_t)cls;
		k.pslot = (uint8_t)slot;
		k.port_be[0] = (uint8_t)(m >> 8);
		k.port_be[1] = (uint8_t)m;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = port_key_cmp(&img->ports[mid].key, &k);

			if (!c)
				return &img->ports[mid].val;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

/* The same over the name classes' entries (img->name_ports). */
static const struct sl_decision *lpm_name_ports(const struct sl_image *img, uint32_t cls,
						int slot, uint16_t port)
{
	struct sl_image t = { .ports = img->name_ports, .nports = img->nname_ports };

	return cls >= SL_NCLS_BASE ? lpm_ports(&t, cls, slot, port) : lpm_ports(img, cls, slot, port);
}

const struct sl_dst_val *sl_image_dst(const struct sl_image *img, uint8_t family,
				     const uint8_t *addr)
{
	return lpm_dst(img, family, addr);
}

const struct sl_decision *sl_image_port_decision(const struct sl_image *img, uint32_t cls,
						 int slot, uint16_t port)
{
	return lpm_name_ports(img, cls, slot, port);
}

static int lookup_pslot(uint8_t proto)
{
	switch (proto) {
	case 6:  return SL_P_TCP;
	case 17: return SL_P_UDP;
	case 1:  return SL_P_ICMP;
	case 58: return SL_P_ICMP6;
	default: return SL_P_OTHER;
	}
}

static bool lookup_control(const struct sl_pkt *p)
{
	const uint8_t *d = p->dst;
	static const uint8_t lo6[16] = { [15] = 1 };

	if (p->family == AF_INET &&
	    (d[0] == 127 || (d[0] == 224 && d[1] == 0 && d[2] == 0)))
		return true;
	if (p->family == AF_INET6 &&
	    (!memcmp(d, lo6, 16) || (d[0] == 0xff && d[1] == 0x02)))
		return true;
	return p->family == AF_INET6 && p->proto == 58 && !p->fragment &&
	       p->icmp_type >= 133 && p->icmp_type <= 137;
}

void sl_image_lookup(const struct sl_image *img, const struct sl_pkt *p,
		     struct sl_result *res)
{
	const struct sl_dst_val *v;
	int slot;
	bool drop;

	memset(res, 0, sizeof(*res));
	res->rule = SL_NO_RULE;
	res->packets = 1;

	if (p->kind == SL_PK_MALFORMED) {
		res->reason = SL_R_MALFORMED;
		drop = true;
		goto out;
	}
	if (p->kind != SL_PK_IP) {
		res->reason = SL_R_NON_IP;
		res->verdict = SL_V_PASS;
		return;
	}
	slot = lookup_pslot(p->proto);
	res->proto = p->proto;
	res->port = (!p->fragment && (slot == SL_P_TCP || slot == SL_P_UDP)) ? p->port : 0;
	if (p->fragment)
		res->flags |= SL_RF_FRAGMENT;
	if (img->cfg.control_pass && lookup_control(p)) {
		res->reason = SL_R_CONTROL;
		res->verdict = SL_V_PASS;
		return;
	}

	v = (p->family == AF_INET || p->family == AF_INET6) ?
		lpm_dst(img, p->family, p->dst) : NULL;
	if (!v) {
		res->reason = SL_R_POLICY;
		drop = img->cfg.policy != SL_POLICY_ALLOW;
		goto out;
	}
	{
		const struct sl_decision *d = p->fragment ? &v->frag[slot]
				: lpm_ports(img, v->class_id, slot, res->port);

		if (d && d->action != SL_ACT_NONE) {
			res->reason = SL_R_RULE;
			res->rule = d->rule;
			drop = d->action != SL_ACT_ALLOW;
		} else {
			res->reason = SL_R_NEAR_MISS;
			res->rule = v->near_rule;
			drop = img->cfg.policy != SL_POLICY_ALLOW;
		}
	}
out:
	res->verdict = (drop && img->cfg.mode != SL_MODE_AUDIT) ? SL_V_DROP : SL_V_PASS;
}

/*
 * Learned addresses (datapath.md §5): the earliest, in rule order, of the
 * first matches of the static class and of each live name class; near rule
 * likewise.  Rule order = index in img->rs when present, else the slot's
 * position via sl_image_rule_of_slot.
 */
static uint32_t order_of(const struct sl_image *img, uint16_t slot)
{
	int i = sl_image_rule_of_slot(img, slot);

	return i < 0 ? 0xffffffffu : (uint32_t)i;
}

void sl_image_lookup_learned(const struct sl_image *img, const struct sl_pkt *p,
			     const uint32_t *ncls, size_t n, struct sl_result *res)
{
	const struct sl_dst_val *v, *cand[1 + SL_LEARN_SLOTS];
	struct sl_decision best = { .rule = SL_NO_RULE };
	uint32_t bo = 0xffffffffu, no = 0xffffffffu;
	uint16_t near = SL_NO_RULE;
	size_t nc = 0;
	int slot;
	bool drop;

	sl_image_lookup(img, p, res);
	if (p->kind != SL_PK_IP || res->reason == SL_R_CONTROL || !n)
		return;
	slot = lookup_pslot(p->proto);
	v = lpm_dst(img, p->family, p->dst);
	if (v)
		cand[nc++] = v;
	for (size_t i = 0; i < n && nc < 1 + SL_LEARN_SLOTS; i++)
		for (size_t k = 0; k < img->nnames; k++)
			if (img->names[k].ncls == ncls[i]) {
				cand[nc++] = &img->names[k].val;
				break;
			}
	if (nc == (v ? 1u : 0u))
		return;         /* no live name class the ruleset knows */
	for (size_t i = 0; i < nc; i++) {
		const struct sl_decision *d = p->fragment ? &cand[i]->frag[slot]
				: lpm_name_ports(img, cand[i]->class_id, slot, res->port);
		uint32_t o = order_of(img, cand[i]->near_rule);

		if (o < no) {
			no = o;
			near = cand[i]->near_rule;
		}
		if (d && d->action != SL_ACT_NONE && (o = order_of(img, d->rule)) < bo) {
			bo = o;
			best = *d;
		}
	}
	if (bo != 0xffffffffu) {
		res->reason = SL_R_RULE;
		res->rule = best.rule;
		drop = best.action != SL_ACT_ALLOW;
	} else {
		res->reason = SL_R_NEAR_MISS;
		res->rule = near;
		drop = img->cfg.policy != SL_POLICY_ALLOW;
	}
	res->verdict = (drop && img->cfg.mode != SL_MODE_AUDIT) ? SL_V_DROP : SL_V_PASS;
}
