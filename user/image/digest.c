// SPDX-License-Identifier: GPL-2.0-only
/*
 * digest.c - a 64-bit fingerprint of a compiled image: what the maps of
 * an instance hold (policy, mode, control, every dst4/dst6/ports entry,
 * every name class and its ports, the rule names in order).  Two images
 * with the same digest filter alike.  Field by field, so padding never
 * counts.  FNV-1a: a change detector (sluice-cni CHECK, a fleet's
 * gateways compared), not a MAC.
 *
 * A rule is mixed in as its place in first-match order, never as its
 * counter slot: slots depend on an instance's history (a rule keeps the
 * slot its name had, kernel/apply.c), so two gateways that reached the
 * same rules by different applies, or one that rolled back, must still
 * agree.
 */
#include <string.h>

#include "sl.h"

#define FNV_OFF   0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= FNV_PRIME;
	}
}

static void mix_u32(uint64_t *h, uint32_t v)
{
	mix(h, &v, sizeof(v));
}

/* slot -> rule index in first-match order (SL_NO_RULE: no rule there) */
struct canon {
	uint16_t rule[SL_MAX_SLOTS];
};

static void canon_init(struct canon *c, const struct sl_image *img)
{
	for (uint32_t s = 0; s < SL_MAX_SLOTS; s++)
		c->rule[s] = SL_NO_RULE;
	if (img->rs) {
		for (size_t r = 0; r < img->rs->nrules; r++) {
			uint16_t s = img->slot ? img->slot[r] : (uint16_t)r;

			if (s < SL_MAX_SLOTS)
				c->rule[s] = (uint16_t)r;
		}
	} else if (img->slot_index) {   /* read back from the maps */
		for (uint32_t s = 0; s < SL_MAX_SLOTS; s++)
			if (img->slot_index[s] >= 0)
				c->rule[s] = (uint16_t)img->slot_index[s];
	} else {
		for (uint32_t s = 0; s < SL_MAX_SLOTS; s++)
			c->rule[s] = (uint16_t)s;
	}
}

static uint32_t canon_rule(const struct canon *c, uint16_t slot)
{
	if (slot == SL_NO_RULE)
		return SL_NO_RULE;
	/* a slot no rule has: keep it apart from every rule index */
	return slot < SL_MAX_SLOTS && c->rule[slot] != SL_NO_RULE ? c->rule[slot] : 0x10000u | slot;
}

static void mix_dec(uint64_t *h, const struct canon *c, const struct sl_decision *d)
{
	mix_u32(h, canon_rule(c, d->rule) << 8 | d->action);
}

static void mix_dst(uint64_t *h, const struct canon *c, const struct sl_dst_val *v)
{
	mix_u32(h, v->class_id);
	mix_u32(h, canon_rule(c, v->near_rule));
	mix_u32(h, v->cidx);
	for (size_t i = 0; i < SL_PSLOTS; i++)
		mix_dec(h, c, &v->frag[i]);
}

static void mix_port(uint64_t *h, const struct canon *c, const struct sl_port_entry *e)
{
	mix_u32(h, e->key.prefixlen);
	mix(h, e->key.class_be, sizeof(e->key.class_be));
	mix(h, &e->key.pslot, 1);
	mix(h, e->key.port_be, sizeof(e->key.port_be));
	mix_dec(h, c, &e->val);
}

uint64_t sl_image_digest(const struct sl_image *img)
{
	struct canon c;         /* 16 KB */
	uint64_t h = FNV_OFF;

	canon_init(&c, img);

	mix_u32(&h, img->cfg.policy);
	mix_u32(&h, img->cfg.mode);
	mix_u32(&h, img->cfg.control_pass);
	mix_u32(&h, (uint32_t)img->ndst4);
	for (size_t i = 0; i < img->ndst4; i++) {
		mix_u32(&h, img->dst4[i].key.prefixlen);
		mix(&h, img->dst4[i].key.addr, sizeof(img->dst4[i].key.addr));
		mix_dst(&h, &c, &img->dst4[i].val);
	}
	mix_u32(&h, (uint32_t)img->ndst6);
	for (size_t i = 0; i < img->ndst6; i++) {
		mix_u32(&h, img->dst6[i].key.prefixlen);
		mix(&h, img->dst6[i].key.addr, sizeof(img->dst6[i].key.addr));
		mix_dst(&h, &c, &img->dst6[i].val);
	}
	mix_u32(&h, (uint32_t)img->nports);
	for (size_t i = 0; i < img->nports; i++)
		mix_port(&h, &c, &img->ports[i]);
	mix_u32(&h, (uint32_t)img->nnames);
	for (size_t i = 0; i < img->nnames; i++) {
		const struct sl_nameclass *n = &img->names[i];

		mix(&h, n->name, strlen(n->name) + 1);
		mix_u32(&h, n->wild);
		mix_u32(&h, n->ncls);
		mix_dst(&h, &c, &n->val);
	}
	mix_u32(&h, (uint32_t)img->nname_ports);
	for (size_t i = 0; i < img->nname_ports; i++)
		mix_port(&h, &c, &img->name_ports[i]);
	if (img->rs)
		for (size_t r = 0; r < img->rs->nrules; r++) {
			mix_u32(&h, (uint32_t)r);
			mix(&h, img->rs->rules[r].name, strlen(img->rs->rules[r].name) + 1);
			mix_u32(&h, img->rs->rules[r].action);
		}
	return h;
}
