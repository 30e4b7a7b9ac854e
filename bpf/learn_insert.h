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

/* Drop the oldest pair of ring @r (of class @ncls). */
static __always_inline void sl_ring_drop(struct sl_nring *r, __u32 ncls, struct sl_learn_cfg *lc)
{
	const struct sl_name_ring_ent *old;

	if (!r->count)
		return;
	old = &r->e[r->head & (SL_NAME_RING - 1)];      /* not rewritten before the next push */
	sl_forget(&old->a, ncls, old->stamp, lc);
	r->head++;
	r->count--;
}

/* Remember @qh (its ring holding @count) among the class's largest names. */
static __always_inline void sl_cls_big_note(struct sl_name_ring *cs, __u64 qh, __u32 count)
{
	__u32 i, j = 0;

#pragma unroll
	for (i = 0; i < SL_CLASS_BIG; i++)
		if (cs->big[i].qhash == qh) {
			cs->big[i].count = count;
			return;
		}
#pragma unroll
	for (i = 1; i < SL_CLASS_BIG; i++)
		if (cs->big[i].count < cs->big[j].count)
			j = i;
	j &= SL_CLASS_BIG - 1;
	if (count > cs->big[j].count) {
		cs->big[j].qhash = qh;
		cs->big[j].count = count;
	}
}

/*
 * The class @cs is at its cap and name @qh is under its fair share @fair:
 * drop the oldest pair of the largest remembered name over it.  0 if one
 * was dropped, -1 if no name over its share is known.
 */
static __always_inline int sl_cls_evict(struct sl_name_ring *cs, __u32 ncls, __u64 qh, __u32 fair,
					struct sl_learn_cfg *lc)
{
	struct sl_nring_key vk = { .ncls = ncls };
	struct sl_nring *v, *best = NULL;
	__u32 i, bi = 0, bc = fair;

#pragma unroll
	for (i = 0; i < SL_CLASS_BIG; i++) {
		if (!cs->big[i].qhash || cs->big[i].qhash == qh)
			continue;
		vk.qhash = cs->big[i].qhash;
		v = bpf_map_lookup_elem(&name_rings, &vk);
		if (!v) {
			cs->big[i].qhash = 0;   /* gone */
			cs->big[i].count = 0;
			continue;
		}
		cs->big[i].count = v->count;
		if (v->count > bc) {
			bc = v->count;
			bi = i;
			best = v;
		}
	}
	if (!best)
		return -1;
	sl_ring_drop(best, ncls, lc);
	bi &= SL_CLASS_BIG - 1;
	cs->big[bi].count = best->count;
	if (!best->count) {             /* an empty ring: the name is gone from the class */
		vk.qhash = cs->big[bi].qhash;
		if (!bpf_map_delete_elem(&name_rings, &vk) && cs->names)
			__sync_fetch_and_add(&cs->names, -1);
		cs->big[bi].qhash = 0;
	}
	return 0;
}

/*
 * A stamp for a new (addr, ncls) pair learned from question @qh: the pair
 * goes into the name's ring; at the name's cap its oldest pair is dropped,
 * at the class's cap one of a name over its fair share (include/sluice.h).
 * A global function: verified once, not at each of its call sites inside
 * the answer walk's callback (inlined there, the learner took 425,000
 * instructions to verify instead of about a tenth).
 */
__noinline __u32 sl_ring_push(const struct sl_addr_key *a, __u32 ncls, __u64 qh,
			      struct sl_learn_cfg *lc)
{
	struct sl_name_ring *cs = bpf_map_lookup_elem(&name_ring, &ncls);
	struct sl_nring_key rk = { .ncls = ncls, .qhash = qh };
	__u32 cap, ccap, stamp, fair, at;
	struct sl_nring *r;

	if (!cs || !a || !lc)
		return 0;       /* user space creates one per name class */
	cap = lc->name_cap;
	ccap = lc->class_cap;
	if (cap == 0 || cap > SL_NAME_RING)
		cap = SL_NAME_RING;
	if (ccap == 0)
		ccap = SL_CLASS_CAP;
	/* read, then add: without -mcpu=v3 clang cannot use the fetched value.
	 * Two CPUs may get the same stamp: one pair then escapes the caps
	 * until it expires, nothing worse. */
	stamp = cs->next;
	__sync_fetch_and_add(&cs->next, 1);
	r = bpf_map_lookup_elem(&name_rings, &rk);
	if (!r) {
		const struct sl_nring *z = bpf_map_lookup_elem(&nring_zero, &(__u32){ 0 });

		if (!z || bpf_map_update_elem(&name_rings, &rk, z, BPF_NOEXIST) ||
		    !(r = bpf_map_lookup_elem(&name_rings, &rk))) {
			sl_lctr(SL_L_RINGS_FULL);
			return stamp;   /* learned without a ring: the LRU's cap only */
		}
		__sync_fetch_and_add(&cs->names, 1);
	}
	fair = ccap / (cs->names ? cs->names : 1);
	if (r->count >= cap) {
		sl_lctr(SL_L_CAP_NAME);
		sl_ring_drop(r, ncls, lc);              /* one out, one in: live unchanged */
	} else if (cs->live >= ccap && r->count && r->count >= fair) {
		sl_lctr(SL_L_CAP_CLASS);
		sl_ring_drop(r, ncls, lc);
	} else if (cs->live >= ccap && !sl_cls_evict(cs, ncls, qh, fair, lc)) {
		sl_lctr(SL_L_CAP_CLASS);
	} else {
		__sync_fetch_and_add(&cs->live, 1);
	}
	at = (r->head + r->count) & (SL_NAME_RING - 1);
	r->e[at].a = *a;
	r->e[at].stamp = stamp;
	r->count++;
	sl_cls_big_note(cs, qh, r->count);
	return stamp;
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

/* Insert or refresh (addr, ncls) with @ttl seconds, learned from question @qh. */
static __always_inline void sl_learn_addr(const struct sl_addr_key *a, __u32 ncls, __u64 qh,
					  __u32 ttl, struct sl_learn_cfg *lc)
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
		nv->s[0].stamp = sl_ring_push(a, ncls, qh, lc);
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
	v->s[pick].stamp = sl_ring_push(a, ncls, qh, lc);
	v->s[pick].expires_ns = exp;
}

/* State of the answer-record walk (bpf_loop context). */

#endif /* SL_LEARN_INSERT_H */
