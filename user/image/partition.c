/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * partition.c - the port tables of one policy class (docs/datapath.md
 * section 4) and its fragment decisions.
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

#include "image/image_int.h"

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


void sl__class_frags(const struct sl_ruleset *rs, const uint16_t *slots,
		     const uint16_t *list, uint32_t nl, struct sl_dst_val *val)
{
	for (int s = 0; s < SL_PSLOTS; s++) {
		val->frag[s].rule = SL_NO_RULE;
		val->frag[s].action = SL_ACT_NONE;
		for (uint32_t k = 0; k < nl; k++) {
			const struct sl_rule *r = &rs->rules[list[k]];

			if (rule_has_slot(r, s)) {
				val->frag[s].rule = slots[list[k]];
				val->frag[s].action = (uint8_t)r->action;
				break;
			}
		}
	}
}

int sl__class_ports(const struct sl_ruleset *rs, const uint16_t *slots,
		    const uint16_t *list, uint32_t nl, uint32_t cls, struct pbuf *pb)
{
	int err;

	for (int s = 0; s < SL_PSLOTS; s++) {
		if (s == SL_P_TCP || s == SL_P_UDP) {
			err = ports_tcpudp(rs, slots, list, nl, cls, s, pb);
			if (err)
				return err;
			continue;
		}
		for (uint32_t k = 0; k < nl; k++) {
			const struct sl_rule *r = &rs->rules[list[k]];

			if (rule_matches_port0(r, s)) {
				if (pbuf_push(pb, cls, s, 0, 0, slots[list[k]], (uint8_t)r->action))
					return -ENOMEM;
				break;
			}
		}
	}
	return 0;
}
