/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_name.h - DNS names in the scratch buffer (learn.h): the label
 * walk with backward-only compression pointers, the per-suffix hash
 * (sl_name_hash), the byte-by-byte comparison with a stored wire name, and
 * the learning configuration.
 */
#ifndef SL_LEARN_NAME_H
#define SL_LEARN_NAME_H

#include "learn_msg.h"

static long sl_walk_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_walk_ctx *w = &sc->walk;
	__u32 off = w->off, c;

	(void)idx;
	if (off >= w->len)
		goto bad;
	c = sl_b(sc, off);
	if (c == 0) {
		if (!w->e)
			w->e = off + 1;
		w->rc = 1;
		return 1;
	}
	if ((c & 0xc0) == 0xc0) {
		__u32 t;

		if (off + 1 >= w->len)
			goto bad;
		t = ((c & 0x3f) << 8) | sl_b(sc, off + 1);
		if (t >= off)
			goto bad;       /* forward or self pointer: loops impossible */
		if (!w->e)
			w->e = off + 2;
		w->off = t;
		return 0;
	}
	if (c & 0xc0)
		goto bad;               /* 01 / 10 label types */
	w->wire += c + 1;
	if (w->wire > SL_DNS_NAME_MAX || w->n >= SL_DNS_LABELS - 1)
		goto bad;
	if (off + 1 + c >= w->len)
		goto bad;               /* the label or the name's end is past the message */
	sc->lab[w->n & (SL_DNS_LABELS - 1)] = (__u16)off;
	w->n++;
	w->off = off + 1 + c;
	return 0;
bad:
	w->rc = -1;
	return 1;
}

static __always_inline int sl_dns_walk(struct sl_dns_scratch *sc, __u32 len, __u32 off,
				       __u32 *nlab, __u32 *end)
{
	struct sl_walk_ctx *w = &sc->walk;
	struct sl_cb cb = { .sc = sc };

	w->len = len;
	w->off = off;
	w->n = 0;
	w->wire = 1;
	w->e = 0;
	w->rc = 0;
	bpf_loop(SL_NAME_STEPS, sl_walk_step, &cb, 0);
	if (w->rc != 1)
		return -1;              /* malformed, or more steps than any name needs */
	*nlab = w->n;
	*end = w->e;
	return 0;
}

/*
 * sl_name_hash over labels [0, nlab): from the last label to the first,
 * h = (h ^ len) * P then (h ^ lower(byte)) * P for each byte (FNV-1a
 * steps).  sufh[k] is the hash of the name from label k (sufh[nlab] = the
 * root = the seed).  One bpf_loop step per byte.
 */

static long sl_hash_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_hash_ctx *x = &sc->hash;

	(void)idx;
	if (x->j > x->L) {
		sc->sufh[x->k & 0xff] = x->h;  /* the suffix from label k */
		if (x->k == 0)
			return 1;
		x->k--;
		x->pos = sc->lab[x->k & (SL_DNS_LABELS - 1)];
		x->L = sl_b(sc, x->pos);
		x->h = (x->h ^ x->L) * SL_FNV_PRIME;
		x->j = 1;
		return 0;
	}
	x->h = (x->h ^ sl_lower(sl_b(sc, x->pos + x->j))) * SL_FNV_PRIME;
	x->j++;
	return 0;
}

static __always_inline __u64 sl_dns_hash(struct sl_dns_scratch *sc, __u32 nlab, __u64 seed)
{
	struct sl_hash_ctx *x = &sc->hash;
	struct sl_cb cb = { .sc = sc };

	x->h = SL_FNV_OFF ^ seed;
	x->nlab = nlab;
	x->k = nlab;
	x->j = 1;
	x->L = 0;

	/* bytes + labels + 1 <= 255 + 128 + 1 steps */
	bpf_loop(SL_DNS_NAME_MAX + SL_DNS_LABELS + 1, sl_hash_step, &cb, 0);
	return sc->sufh[0];
}

/* The name from label @k (labels in sc->lab) equals @nv->wire (lower case)? */

static long sl_same_step(__u32 idx, void *arg)
{
	const struct sl_cb *cb = arg;
	const struct sl_dns_scratch *sc0 = cb->sc;
	struct sl_same_ctx *x = &cb->sc->same;
	const struct sl_name_val *nv = cb->nv;
	__u8 c;

	(void)idx;
	if (x->j > x->L) {
		if (x->k >= x->nlab) {
			x->rc = x->w == nv->wlen ? 1 : -1;
			return 1;
		}
		x->pos = sc0->lab[x->k & (SL_DNS_LABELS - 1)];
		x->k++;
		x->L = sl_b(sc0, x->pos);
		c = (__u8)x->L;
		x->j = 1;
	} else {
		c = sl_lower(sl_b(sc0, x->pos + x->j));
		x->j++;
	}
	if (x->w >= nv->wlen || nv->wire[x->w & 0xff] != c) {
		x->rc = -1;
		return 1;
	}
	x->w++;
	return 0;
}

static __always_inline int sl_dns_same(const struct sl_dns_scratch *sc, __u32 nlab, __u32 k,
				       const struct sl_name_val *nv)
{
	struct sl_cb cb = { .sc = (struct sl_dns_scratch *)sc, .nv = nv };
	struct sl_same_ctx *x = &cb.sc->same;

	if (nlab - k != nv->nlabels)
		return 0;
	x->nlab = nlab;
	x->k = k;
	x->w = 0;
	x->pos = 0;
	x->j = 1;
	x->L = 0;
	x->rc = 0;
	bpf_loop(SL_DNS_NAME_MAX + 2, sl_same_step, &cb, 0);
	return x->rc == 1;
}

static __always_inline struct sl_learn_cfg *sl_lcfg(void)
{
	return bpf_map_lookup_elem(&learn_cfg, &(__u32){ 0 });
}

#endif /* SL_LEARN_NAME_H */
