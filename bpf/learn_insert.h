/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_insert.h - insertion of learned addresses (learn.h): the "learned"
 * entries with their name classes and expiry, the live count, the ring of
 * recent insertions and the bloom filter.
 */
#ifndef SL_LEARN_INSERT_H
#define SL_LEARN_INSERT_H

#include "learn_msg.h"

/* ---------------------------------------------------------------- ingress */

static __always_inline void sl_live_add(__s64 d, struct sl_learn_cfg *lc)
{
	__u64 *live = bpf_map_lookup_elem(&learn_live, &(__u32){ 0 });

	if (!live)
		return;
	if (d > 0) {
		if (*live >= lc->learned_cap)
			sl_lctr(SL_L_CAP_TOTAL);        /* the LRU evicted an entry for this one */
		else
			__sync_fetch_and_add(live, 1);
	} else if (*live > 0) {
		__sync_fetch_and_add(live, -1);
	}
}

/* Forget (addr, ncls) if it is still the pair with @stamp (per-name cap). */
static __always_inline void sl_forget(const struct sl_addr_key *a, __u32 ncls, __u32 stamp,
				      struct sl_learn_cfg *lc)
{
	struct sl_learned_val *v = bpf_map_lookup_elem(&learned, a);
	int i, live = 0;

	if (!v)
		return;
#pragma unroll
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		if (v->s[i].expires_ns && v->s[i].ncls == ncls && v->s[i].stamp == stamp)
			v->s[i].expires_ns = 0;
		if (v->s[i].expires_ns)
			live = 1;
	}
	if (!live && !bpf_map_delete_elem(&learned, a))
		sl_live_add(-1, lc);
}

/* A stamp for a new (addr, ncls) pair; evicts the class's oldest pair at the cap. */
static __always_inline __u32 sl_ring_push(const struct sl_addr_key *a, __u32 ncls,
					  struct sl_learn_cfg *lc)
{
	struct sl_name_ring *r = bpf_map_lookup_elem(&name_ring, &ncls);
	__u32 cap = lc->name_cap, idx, at;

	if (!r)
		return 0;       /* user space creates a ring per name class */
	if (cap == 0 || cap > SL_NAME_RING)
		cap = SL_NAME_RING;
	/* read, then add: without -mcpu=v3 clang cannot use the fetched value.
	 * Two CPUs may get the same stamp: one pair then escapes the ring (the
	 * cap is exceeded by one until it expires), nothing worse. */
	idx = r->next;
	__sync_fetch_and_add(&r->next, 1);
	at = idx % cap;
	asm volatile("" : "+r"(at));    /* keep the mask: the verifier does not track % */
	at &= SL_NAME_RING - 1;
	if (idx >= cap) {
		struct sl_name_ring_ent old = r->e[at];

		sl_lctr(SL_L_CAP_NAME);
		sl_forget(&old.a, ncls, old.stamp, lc);
	}
	r->e[at].a = *a;
	r->e[at].stamp = idx;
	return idx;
}

/* Set the bloom bit of @a (classify.h reads it before "learned"). */
static __always_inline void sl_bloom_set(const struct sl_addr_key *a)
{
	__u32 w[4], bit;
	__u64 *bw;

	__builtin_memcpy(w, a->addr, 16);
	bit = sl_bloom_bit(w[0], w[1], w[2], w[3]);
	bw = bpf_map_lookup_elem(&learn_bloom, &(__u32){ bit >> 6 });
	if (bw && !(*bw & (1ULL << (bit & 63))))
		__sync_fetch_and_or(bw, 1ULL << (bit & 63));
}

/* Insert or refresh (addr, ncls) with @ttl seconds. */
static __always_inline void sl_learn_addr(const struct sl_addr_key *a, __u32 ncls, __u32 ttl,
					  struct sl_learn_cfg *lc)
{
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	struct sl_learned_val *v, *nv;
	__u64 now = bpf_ktime_get_ns(), exp;
	__u32 t = ttl, i, pick = SL_LEARN_SLOTS;

	if (t < lc->ttl_floor_s)
		t = lc->ttl_floor_s;
	if (lc->ttl_max_s && t > lc->ttl_max_s)
		t = lc->ttl_max_s;
	exp = now + ((__u64)t + lc->grace_s) * 1000000000ULL;
	sl_lctr(SL_L_LEARNED);
	sl_bloom_set(a);        /* before the address becomes visible in "learned" */

	v = bpf_map_lookup_elem(&learned, a);
	if (!v) {
		if (!sc)
			return;
		nv = &sc->nv;
		__builtin_memset(nv, 0, sizeof(*nv));
		nv->s[0].ncls = ncls;
		nv->s[0].stamp = sl_ring_push(a, ncls, lc);
		nv->s[0].expires_ns = exp;
		nv->learned_ns = now;
		nv->ttl = ttl;
		if (!bpf_map_update_elem(&learned, a, nv, BPF_NOEXIST))
			sl_live_add(1, lc);
		return;
	}
	v->learned_ns = now;
	v->ttl = ttl;
#pragma unroll
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		if (v->s[i].expires_ns && v->s[i].ncls == ncls) {
			if (v->s[i].expires_ns > now) {
				if (exp > v->s[i].expires_ns)
					v->s[i].expires_ns = exp;
				return;
			}
			pick = i;       /* expired: a new pair */
			break;
		}
	}
	if (pick == SL_LEARN_SLOTS) {
#pragma unroll
		for (i = 0; i < SL_LEARN_SLOTS; i++) {
			if (v->s[i].expires_ns <= now) {
				pick = i;
				break;
			}
		}
	}
	if (pick == SL_LEARN_SLOTS) {
		sl_lctr(SL_L_SLOTS_FULL);
		pick = 0;
#pragma unroll
		for (i = 1; i < SL_LEARN_SLOTS; i++)
			if (v->s[i].expires_ns < v->s[pick].expires_ns)
				pick = i;
	}
	pick &= SL_LEARN_SLOTS - 1;
	v->s[pick].ncls = ncls;
	v->s[pick].stamp = sl_ring_push(a, ncls, lc);
	v->s[pick].expires_ns = exp;
}

/* State of the answer-record walk (bpf_loop context). */

#endif /* SL_LEARN_INSERT_H */
