// SPDX-License-Identifier: GPL-2.0-only
/*
 * digest.c - a 64-bit fingerprint of a compiled image: what the maps of
 * an instance hold (policy, mode, control, every dst4/dst6/ports entry,
 * every name class and its ports, the rule names by slot).  Two images
 * with the same digest filter alike.  Field by field, so padding never
 * counts.  FNV-1a: a change detector (sluice-cni CHECK), not a MAC.
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

static void mix_dec(uint64_t *h, const struct sl_decision *d)
{
	mix_u32(h, (uint32_t)d->rule << 8 | d->action);
}

static void mix_dst(uint64_t *h, const struct sl_dst_val *v)
{
	mix_u32(h, v->class_id);
	mix_u32(h, v->near_rule);
	mix_u32(h, v->cidx);
	for (size_t i = 0; i < SL_PSLOTS; i++)
		mix_dec(h, &v->frag[i]);
}

static void mix_port(uint64_t *h, const struct sl_port_entry *e)
{
	mix_u32(h, e->key.prefixlen);
	mix(h, e->key.class_be, sizeof(e->key.class_be));
	mix(h, &e->key.pslot, 1);
	mix(h, e->key.port_be, sizeof(e->key.port_be));
	mix_dec(h, &e->val);
}

uint64_t sl_image_digest(const struct sl_image *img)
{
	uint64_t h = FNV_OFF;

	mix_u32(&h, img->cfg.policy);
	mix_u32(&h, img->cfg.mode);
	mix_u32(&h, img->cfg.control_pass);
	mix_u32(&h, (uint32_t)img->ndst4);
	for (size_t i = 0; i < img->ndst4; i++) {
		mix_u32(&h, img->dst4[i].key.prefixlen);
		mix(&h, img->dst4[i].key.addr, sizeof(img->dst4[i].key.addr));
		mix_dst(&h, &img->dst4[i].val);
	}
	mix_u32(&h, (uint32_t)img->ndst6);
	for (size_t i = 0; i < img->ndst6; i++) {
		mix_u32(&h, img->dst6[i].key.prefixlen);
		mix(&h, img->dst6[i].key.addr, sizeof(img->dst6[i].key.addr));
		mix_dst(&h, &img->dst6[i].val);
	}
	mix_u32(&h, (uint32_t)img->nports);
	for (size_t i = 0; i < img->nports; i++)
		mix_port(&h, &img->ports[i]);
	mix_u32(&h, (uint32_t)img->nnames);
	for (size_t i = 0; i < img->nnames; i++) {
		const struct sl_nameclass *n = &img->names[i];

		mix(&h, n->name, strlen(n->name) + 1);
		mix_u32(&h, n->wild);
		mix_u32(&h, n->ncls);
		mix_dst(&h, &n->val);
	}
	mix_u32(&h, (uint32_t)img->nname_ports);
	for (size_t i = 0; i < img->nname_ports; i++)
		mix_port(&h, &img->name_ports[i]);
	if (img->rs)
		for (size_t r = 0; r < img->rs->nrules; r++) {
			mix_u32(&h, img->slot ? img->slot[r] : (uint32_t)r);
			mix(&h, img->rs->rules[r].name, strlen(img->rs->rules[r].name) + 1);
			mix_u32(&h, img->rs->rules[r].action);
		}
	return h;
}
