/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_query.h - query recording, TC egress (learn.h): a DNS query to a
 * configured resolver is remembered in "pending".
 */
#ifndef SL_LEARN_QUERY_H
#define SL_LEARN_QUERY_H

#include "learn_name.h"

/* ---------------------------------------------------------------- egress */

static __always_inline int sl_addr16_ne(const __u8 *a, const __u8 *b)
{
	__u32 x[4], y[4];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) != 0;
}

/*
 * The per-client bound of "pending" (include/sluice.h, struct sl_pcl): the
 * query @pk just recorded takes the next slot of its client's ring; the
 * query that slot held, if still unanswered, is deleted from "pending".
 * One client's flood thus displaces its own queries, never another's.
 */
static __always_inline void sl_pending_own(struct __sk_buff *skb, const struct sl_pending_key *pk)
{
	struct sl_pcl_key ck = { .family = pk->family, .uid = SL_PCL_NO_UID };
	struct sl_pending_key old = {};
	struct sl_pcl_ent *e;
	struct sl_pcl *r;
	__u32 idx;

	if (skb->sk)
		ck.uid = bpf_get_socket_uid(skb);
	__builtin_memcpy(ck.addr, pk->client, 16);
	r = bpf_map_lookup_elem(&pending_cl, &ck);
	if (!r) {
		const struct sl_pcl *z = bpf_map_lookup_elem(&pcl_zero, &(__u32){ 0 });

		if (!z)
			return;
		bpf_map_update_elem(&pending_cl, &ck, z, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&pending_cl, &ck);
		if (!r)
			return;
	}
	idx = r->next;
	r->next = idx + 1;
	e = &r->e[idx & (SL_PENDING_PER_CLIENT - 1)];
	if (idx >= SL_PENDING_PER_CLIENT) {
		old.family = pk->family;
		old.proto = e->proto;
		old.cport = e->cport;
		old.txid = e->txid;
		__builtin_memcpy(old.resolver, e->resolver, 16);
		__builtin_memcpy(old.client, pk->client, 16);
		/* (unless it is this very query again: a retransmission) */
		if ((old.cport != pk->cport || old.txid != pk->txid || old.proto != pk->proto ||
		     sl_addr16_ne(old.resolver, pk->resolver)) &&
		    !bpf_map_delete_elem(&pending, &old))
			sl_lctr(SL_L_PENDING_CLIENT);
	}
	__builtin_memcpy(e->resolver, pk->resolver, 16);
	e->cport = pk->cport;
	e->txid = pk->txid;
	e->proto = pk->proto;
}

/*
 * A DNS query leaving for a configured resolver: remember (resolver,
 * client, client port, txid) -> hash of the question name.  Called for
 * packets the classifier let pass.
 */
static __always_inline void sl_learn_query(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc;
	struct sl_dns_loc l;
	struct sl_addr_key rk = {};
	struct sl_pending_key pk = {};
	struct sl_pending_val pv;
	__u32 nlab, end;
	__u8 flags;

	if (!lc || !lc->enabled)
		return;
	if (sl_dns_locate(skb, 0, &l) != SL_DL_OK)
		return;
	rk.family = l.family;
	__builtin_memcpy(rk.addr, l.daddr, 16);
	if (!bpf_map_lookup_elem(&resolvers, &rk))
		return;
	sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	if (!sc || sl_dns_copy(skb, &l, sc))
		return;
	flags = sl_b(sc, 2);
	if ((flags & 0x80) || sl_b(sc, 4) != 0 || sl_b(sc, 5) != 1)
		return;         /* not a query, or not exactly one question */
	if (sl_dns_walk(sc, l.len, 12, &nlab, &end))
		return;
	pk.family = l.family;
	pk.proto = l.proto;
	pk.cport = l.sport;
	pk.txid = (__u16)sl_b(sc, 0) | (__u16)sl_b(sc, 1) << 8;    /* network order */
	__builtin_memcpy(pk.resolver, l.daddr, 16);
	__builtin_memcpy(pk.client, l.saddr, 16);
	pv.qhash = sl_dns_hash(sc, nlab, lc->hash_seed);
	pv.sent_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&pending, &pk, &pv, BPF_ANY);
	sl_pending_own(skb, &pk);
	sl_lctr(SL_L_QUERIES);
}

#endif /* SL_LEARN_QUERY_H */
