/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * classify.h - the one classifier core shared by every hook (TC egress and
 * ingress, XDP, cgroup_skb): decide a parsed packet (docs/datapath.md §2),
 * count it (§3) and record the result for tests.  Only map lookups on the
 * fast path: IPv4 dir16/dir8 (array reads, inlined by the verifier) or the
 * dst6 trie, the class (array), its inline port intervals, and the per-CPU
 * counters (inlined).
 */
#ifndef SL_CLASSIFY_H
#define SL_CLASSIFY_H

#include "parse.h"
#include "control.h"
#include "maps.h"
#include "fast4.h"
#include "fast6.h"
#include "events.h"

static __always_inline __u8 sl_pslot(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:       return SL_P_TCP;
	case IPPROTO_UDP:       return SL_P_UDP;
	case IPPROTO_ICMP:      return SL_P_ICMP;
	case SL_NEXTHDR_ICMP:   return SL_P_ICMP6;
	default:                return SL_P_OTHER;
	}
}

static __always_inline void sl_global_add(__u32 idx, __u32 packets, __u32 bytes)
{
	struct sl_global_ctr *g = bpf_map_lookup_elem(&globals, &idx);

	if (g) {
		g->packets += packets;
		g->bytes += bytes;
	}
}

/*
 * The TCP/UDP port decision of class @c, packed as rule | action << 16:
 * from the class's inline intervals (a branch-light binary search over 16
 * sorted upper bounds), or from the "ports" trie when the class has more
 * intervals than fit.  Inline on the main path; the learned path (five
 * call sites) calls the global sl_port_search(), which the verifier checks
 * once per program instead of at every call site.
 */
static __always_inline __u32 sl_port_search_in(const struct sl_class *c, __u32 slot, __u32 port)
{
	const struct sl_decision *d;

	if (!c)
		return SL_NO_RULE;
#ifndef SL_PORTS_TRIE_ONLY
	if (!(c->flags & SL_CF_TRIE(slot))) {
		const struct sl_ivals *iv = &c->iv[slot == SL_P_UDP];

		d = &iv->d[sl_ival_index(iv, port)];
		return d->rule | (__u32)d->action << 16;
	}
#endif
	{
		struct sl_port_key pk = {
			.prefixlen = SL_PORT_KEY_FIXED_BITS + 16,
			.pslot = slot,
		};
		__u32 cls = bpf_htonl(c->class_id);
		__u16 pbe = bpf_htons(port);

		__builtin_memcpy(pk.class_be, &cls, 4);
		__builtin_memcpy(pk.port_be, &pbe, 2);
		d = bpf_map_lookup_elem(&ports, &pk);
		return d ? d->rule | (__u32)d->action << 16 : SL_NO_RULE;
	}
}

/* The same as a global function (the learned path: five call sites). */
__noinline __u32 sl_port_search(const struct sl_class *c, __u32 slot, __u32 port)
{
	return sl_port_search_in(c, slot, port);
}

/*
 * The port decision of class @c for a packet that is not a non-first
 * fragment: TCP/UDP from sl_port_search() (written to @buf), other slots
 * from p0[].  The result may be a decision with action SL_ACT_NONE (no
 * rule).
 */
static __always_inline const struct sl_decision *
sl_port_decision(const struct sl_class *c, __u8 slot, __u16 port, struct sl_decision *buf,
		 int inl)
{
	__u32 x;

	if (slot != SL_P_TCP && slot != SL_P_UDP)
		return &c->p0[slot < SL_PSLOTS ? slot : 0];
	x = inl ? sl_port_search_in(c, slot, port) : sl_port_search(c, slot, port);
	buf->rule = x & 0xffff;
	buf->action = x >> 16;
	return buf;
}

/* First matching rule of class @c for this packet (fragment: frag[], else ports). */
static __always_inline const struct sl_decision *
sl_class_decision(const struct sl_class *c, const struct sl_pinfo *pi, __u8 slot, __u16 port,
		  struct sl_decision *buf, int inl)
{
	if (pi->frag)
		return &c->frag[slot < SL_PSLOTS ? slot : 0];
	return sl_port_decision(c, slot, port, buf, inl);
}

static __always_inline const struct sl_class *sl_class_of(__u32 class_id)
{
	return bpf_map_lookup_elem(&classes, &class_id);
}

/*
 * The static policy class of the destination, or NULL.  IPv4: the walk of
 * fast4.h over dir16/dir8 (built from dst4); IPv6: the walk of
 * fast6.h over dir6/node6 (built from dst6); or the dst4 and dst6 tries
 * themselves when built with SL_LPM_ONLY (the "before" of `make bench`).
 */
static __always_inline const struct sl_class *sl_dst_class(const struct sl_pinfo *pi)
{
	const struct sl_dst_val *v;

	if (pi->family == 4) {
#ifndef SL_LPM_ONLY
		__u32 x = sl_fast4_leaf(pi->daddr[0]);

		return x ? sl_class_of(x - 1) : NULL;
#else
		struct sl_lpm4_key k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, &pi->daddr[0], 4);
		v = bpf_map_lookup_elem(&dst4, &k4);
#endif
	} else {
#ifndef SL_LPM_ONLY
		__u32 x = sl_fast6_leaf(pi->daddr);

		return x ? sl_class_of(x - 1) : NULL;
#else
		struct sl_lpm6_key k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.addr, pi->daddr, 16);
		v = bpf_map_lookup_elem(&dst6, &k6);
#endif
	}
	return v ? sl_class_of(v->cidx) : NULL;
}

#ifdef SL_LEARN
/*
 * Learned addresses (docs/datapath.md §5, docs/dns.md).  First match over
 * the union of the static class and the live name classes of the address is
 * the earliest, in rule order, of each list's first match; the near-miss
 * rule likewise the earliest of the near rules.  Rule order comes from the
 * "rules" map (index of each slot).  The "learned" hash is consulted only
 * if the address's bit is set in "learn_bloom".
 */
enum { SL_LD_NONE = 0, SL_LD_RULE, SL_LD_NEAR };

static __always_inline __u32 sl_rule_order(__u16 slot)
{
	__u32 k = slot;
	const struct sl_rule_meta *m = bpf_map_lookup_elem(&rules, &k);

	return m ? m->index : 0xffffffff;
}

/*
 * The learned classes of an address whose bloom bit is set: a global
 * function (verified once, not inside every path of sl_classify), @port
 * the port judged.
 */
__noinline int sl_learned_slow(const struct sl_pinfo *pi, const struct sl_class *c, __u32 port,
			       struct sl_decision *ld, __u16 *near)
{
	const struct sl_learned_val *e;
	const struct sl_decision *d;
	struct sl_addr_key ak = {};
	struct sl_decision buf;
	__u32 best = 0xffffffff, nbest = 0xffffffff, o;
	__u64 now;
	int i, live = 0;
	__u8 slot;

	if (!pi || !ld || !near)
		return SL_LD_NONE;
	slot = sl_pslot(pi->proto);
	ak.family = pi->family;
	if (pi->family == 4)
		__builtin_memcpy(ak.addr, pi->daddr, 4);
	else
		__builtin_memcpy(ak.addr, pi->daddr, 16);
	e = bpf_map_lookup_elem(&learned, &ak);
	if (!e)
		return SL_LD_NONE;
	now = bpf_ktime_get_ns();
	if (c) {
		*near = c->near_rule;
		nbest = sl_rule_order(c->near_rule);
		d = sl_class_decision(c, pi, slot, port, &buf, 0);
		if (d && d->action != SL_ACT_NONE) {
			*ld = *d;
			best = sl_rule_order(d->rule);
		}
	}
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		const struct sl_dst_val *nv;
		const struct sl_class *nc;
		__u32 ncl = e->s[i].ncls;

		if (e->s[i].expires_ns <= now)
			continue;
		nv = bpf_map_lookup_elem(&nclass, &ncl);
		if (!nv)
			continue;       /* a pattern the running ruleset no longer has */
		nc = sl_class_of(nv->cidx);
		if (!nc)
			continue;
		live = 1;
		o = sl_rule_order(nc->near_rule);
		if (o < nbest) {
			nbest = o;
			*near = nc->near_rule;
		}
		d = sl_class_decision(nc, pi, slot, port, &buf, 0);
		if (d && d->action != SL_ACT_NONE) {
			o = sl_rule_order(d->rule);
			if (o < best) {
				best = o;
				*ld = *d;
			}
		}
	}
	if (!live)
		return SL_LD_NONE;
	return best != 0xffffffff ? SL_LD_RULE : SL_LD_NEAR;
}

/* SL_LD_NONE: no live learned name class (decide as without learning).
 * Inline: the learning switch and the bloom filter; the rest only for
 * addresses whose bit is set. */
static __always_inline int sl_learned_decide(const struct sl_pinfo *pi, __u8 slot, __u16 port,
					     const struct sl_class *c,
					     struct sl_decision *ld, __u16 *near)
{
	const struct sl_learn_cfg *lc;
	const __u64 *bw;
	__u32 bit;

	if (!cfg_names)         /* no names: nothing can be learned (maps.h) */
		return SL_LD_NONE;
	lc = bpf_map_lookup_elem(&learn_cfg, &(__u32){ 0 });
	if (!lc || !lc->enabled)
		return SL_LD_NONE;
	bit = sl_bloom_bit(pi->daddr[0], pi->daddr[1], pi->daddr[2], pi->daddr[3]);
	bw = bpf_map_lookup_elem(&learn_bloom, &(__u32){ bit >> 6 });
	if (!bw || !(*bw & (1ULL << (bit & 63))))
		return SL_LD_NONE;
	(void)slot;
	return sl_learned_slow(pi, c, port, ld, near);
}
#endif /* SL_LEARN */

/*
 * Decide and count one parsed packet.  @prc is sl_parse()'s result (SHORT
 * already retried by the caller if possible), @packets/@bytes what to count.
 * Fills @res and returns the verdict (SL_V_PASS / SL_V_DROP) after audit mode.
 */
static __always_inline int sl_classify(int prc, const struct sl_pinfo *pi,
				       __u32 packets, __u32 bytes,
				       struct sl_result *res)
{
	const struct sl_class *c;
	const struct sl_decision *d = NULL;
	struct sl_decision buf;
	struct sl_rule_ctr *rc;
	__u16 near = SL_NO_RULE;
	__u8 slot, drop;
	int ctl;
#ifdef SL_LEARN
	struct sl_decision ld = { .rule = SL_NO_RULE };
	int lr;
#endif

	res->flags = 0;
	res->proto = 0;
	res->rule = SL_NO_RULE;
	res->port = 0;
	res->packets = packets;

	if (prc == SL_PR_SHORT || prc == SL_PR_BAD) {
		res->reason = SL_R_MALFORMED;
		sl_global_add(SL_G_MALFORMED, packets, bytes);
		drop = 1;
		goto verdict;
	}
	if (prc == SL_PR_NON_IP) {
		res->reason = SL_R_NON_IP;
		sl_global_add(SL_G_NON_IP, packets, bytes);
		drop = 0;
		goto verdict;
	}

	res->proto = pi->proto;
	slot = sl_pslot(pi->proto);
	if (pi->frag) {
		res->flags = SL_RF_FRAGMENT;
		sl_global_add(SL_G_FRAGMENTS, packets, bytes);
	} else if (slot == SL_P_TCP || slot == SL_P_UDP) {
		res->port = pi->port;
	}
	if (pi->icmp_err)
		res->flags |= SL_RF_ICMP_ERR;

	if (cfg.control_pass && (ctl = sl_is_control(pi))) {
		res->reason = SL_R_CONTROL;
		if (ctl == SL_CTL_ND)
			res->flags |= SL_RF_ND;
		sl_global_add(ctl == SL_CTL_ND ? SL_G_ND : SL_G_CONTROL, packets, bytes);
		drop = 0;
		goto verdict;
	}

	c = sl_dst_class(pi);

#ifdef SL_LEARN
	lr = sl_learned_decide(pi, slot, res->port, c, &ld, &near);
	if (lr == SL_LD_RULE) {
		d = &ld;
		goto rule;
	}
	if (lr == SL_LD_NEAR)
		goto near_miss;
#endif
	if (!c) {
		res->reason = SL_R_POLICY;
		goto policy;
	}
	near = c->near_rule;
	d = sl_class_decision(c, pi, slot, res->port, &buf, 1);

	if (d && d->action != SL_ACT_NONE) {
#ifdef SL_LEARN
rule:
#endif
		res->reason = SL_R_RULE;
		res->rule = d->rule;
		drop = d->action != SL_ACT_ALLOW;
		rc = bpf_map_lookup_elem(&counters, &(__u32){ d->rule });
		if (rc) {
			if (drop) {
				rc->drop_packets += packets;
				rc->drop_bytes += bytes;
			} else {
				rc->pass_packets += packets;
				rc->pass_bytes += bytes;
			}
		}
		goto verdict;
	}

#ifdef SL_LEARN
near_miss:
#endif
	res->reason = SL_R_NEAR_MISS;
	res->rule = near;
	if (cfg.policy != SL_POLICY_ALLOW) {
		rc = bpf_map_lookup_elem(&counters, &(__u32){ near });
		if (rc) {
			rc->drop_packets += packets;
			rc->drop_bytes += bytes;
			rc->near_miss_packets += packets;
			rc->near_miss_bytes += bytes;
			/* coarse clock: a tick's precision; read once per tick (maps.h) */
			__u32 t = sl_tick();

			if (rc->last_miss_tick != t) {
				rc->last_miss_tick = t;
				rc->last_miss_ns = bpf_ktime_get_coarse_ns();
			}
			rc->last_miss_port = res->port;
			rc->last_miss_proto = pi->proto;
		}
	}
policy:
	if (cfg.policy == SL_POLICY_ALLOW) {
		sl_global_add(SL_G_POLICY_PASS, packets, bytes);
		drop = 0;
	} else {
		sl_global_add(SL_G_POLICY_DROP, packets, bytes);
		drop = 1;
	}

verdict:
	res->verdict = drop ? SL_V_DROP : SL_V_PASS;
	if (drop && cfg.mode == SL_MODE_AUDIT) {
		sl_global_add(SL_G_AUDIT_PASS, packets, bytes);
		res->verdict = SL_V_PASS;
	}
	if (cfg.record) {
		struct sl_result *r = bpf_map_lookup_elem(&last, &(__u32){ 0 });

		if (r)
			*r = *res;
	}
	sl_event_mark(res, drop);       /* events.h: after "last", before the hook emits */
	return res->verdict;
}

#endif /* SL_CLASSIFY_H */
