/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_query.h - query recording, TC egress (learn.h): a DNS query to a
 * configured resolver is remembered in "pending".
 */
#ifndef SL_LEARN_QUERY_H
#define SL_LEARN_QUERY_H

#include "learn_name.h"

/* ---------------------------------------------------------------- egress */

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
	sl_lctr(SL_L_QUERIES);
}

#endif /* SL_LEARN_QUERY_H */
