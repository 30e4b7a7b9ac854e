/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lookup.c - the lookup over the compiled tables that behaves as the data
 * path does (`sluice lookup`, the tests' cross-check of the compiler), and
 * sl_image_sort, which puts the tables in the order it searches.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

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

void sl_image_lookup(const struct sl_image *img, const struct sl_pkt *pkt,
		     struct sl_result *res)
{
	int ctl = pkt->kind == SL_PK_IP && img->cfg.control_pass ? sl_pkt_is_control(pkt) : 0;
	const struct sl_dst_val *v;
	struct sl_pkt jp;
	const struct sl_pkt *p = &jp;   /* the judged tuple (direction, ICMP error quote) */
	int slot;
	bool drop;

	sl_pkt_judged(pkt, !ctl, &jp);
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
	if (p->icmp_err)
		res->flags |= SL_RF_ICMP_ERR;
	if (ctl) {
		if (ctl == SL_PKT_CTL_ND)
			res->flags |= SL_RF_ND;
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

void sl_image_lookup_learned(const struct sl_image *img, const struct sl_pkt *pkt,
			     const uint32_t *ncls, size_t n, struct sl_result *res)
{
	struct sl_pkt jp;
	const struct sl_pkt *p = &jp;   /* the judged tuple */
	const struct sl_dst_val *v, *cand[1 + SL_LEARN_SLOTS];
	struct sl_decision best = { .rule = SL_NO_RULE };
	uint32_t bo = 0xffffffffu, no = 0xffffffffu;
	uint16_t near = SL_NO_RULE;
	size_t nc = 0;
	int slot;
	bool drop;

	sl_image_lookup(img, pkt, res);
	sl_pkt_judged(pkt, true, &jp);
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

