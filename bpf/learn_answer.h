/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_answer.h - the answer walk, TC ingress (learn.h): the question
 * and CNAME chain, the A/AAAA records under bpf_loop, the name class of
 * each owner name (exact and wildcard), the fallback for answers the
 * program cannot parse whole, and sluice run's injected answers.
 */
#ifndef SL_LEARN_ANSWER_H
#define SL_LEARN_ANSWER_H

#include "learn_insert.h"
#include "learn_name.h"

static __always_inline int sl_in_chain(const struct sl_dns_scratch *sc, __u32 n, __u64 h)
{
	int i;

#pragma unroll
	for (i = 0; i < SL_DNS_CHAIN; i++)
		if ((__u32)i < n && sc->chain[i] == h)
			return 1;
	return 0;
}

static long sl_rr_one(__u32 idx, void *arg)
{
	struct sl_cb *cb = arg;
	struct sl_dns_scratch *sc = cb->sc;
	struct sl_rr_ctx *x = &sc->rr;
	__u32 nlab, end, type, cls, ttl, rdlen, rd;
	__u64 h;

	(void)idx;
	if (!x->left)
		return 1;
	x->left--;
	if (sl_dns_walk(sc, x->len, x->off, &nlab, &end) || end + 10 > x->len) {
		x->err = 1;
		return 1;
	}
	type = (__u32)sl_b(sc, end) << 8 | sl_b(sc, end + 1);
	cls = (__u32)sl_b(sc, end + 2) << 8 | sl_b(sc, end + 3);
	ttl = (__u32)sl_b(sc, end + 4) << 24 | (__u32)sl_b(sc, end + 5) << 16 |
	      (__u32)sl_b(sc, end + 6) << 8 | sl_b(sc, end + 7);
	rdlen = (__u32)sl_b(sc, end + 8) << 8 | sl_b(sc, end + 9);
	rd = end + 10;
	if (rd + rdlen > x->len) {
		x->err = 1;
		return 1;
	}
	x->off = rd + rdlen;
	if (cls != 1 || (type != 1 && type != 28 && type != 5))
		return 0;
	h = sl_dns_hash(sc, nlab, cb->lc->hash_seed);
	if (!sl_in_chain(sc, x->nchain, h))
		return 0;               /* not about the question or its aliases */
	if (type == 5) {                /* CNAME: its target joins the chain */
		__u32 tn, te;

		if (sl_dns_walk(sc, x->len, rd, &tn, &te) || te != rd + rdlen) {
			x->err = 1;
			return 1;
		}
		h = sl_dns_hash(sc, tn, cb->lc->hash_seed);
		if (x->nchain >= SL_DNS_CHAIN) {
			sl_lctr(SL_L_CHAIN_LONG);
			return 0;
		}
		sc->chain[x->nchain & (SL_DNS_CHAIN - 1)] = h;
		x->nchain++;
		return 0;
	}
	{
		struct sl_addr_key a = {};
		int i;

		if (type == 1 && rdlen == 4) {
			a.family = 4;
#pragma unroll
			for (i = 0; i < 4; i++)
				a.addr[i] = sl_b(sc, rd + i);
		} else if (type == 28 && rdlen == 16) {
			a.family = 6;
#pragma unroll
			for (i = 0; i < 16; i++)
				a.addr[i] = sl_b(sc, rd + i);
		} else {
			x->err = 1;
			return 1;
		}
		sl_learn_addr(&a, x->ncls, sc->chain[0], ttl > 0x7fffffff ? 0 : ttl, cb->lc);
		x->learned++;
	}
	return 0;
}

/* The rule pattern the question name @nlab labels belongs to: ncls, or -1. */

static long sl_wild_step(__u32 idx, void *arg)
{
	struct sl_dns_scratch *sc = ((struct sl_cb *)arg)->sc;
	struct sl_wild_ctx *x = &sc->wild;
	struct sl_name_val *nv;
	__u64 h;

	(void)idx;
	if (x->k >= x->nlab)
		return 1;
	h = sc->sufh[x->k & 0xff];
	nv = bpf_map_lookup_elem(&wilds, &h);
	if (nv && sl_dns_same(sc, x->nlab, x->k, nv)) {
		x->ncls = nv->ncls;
		return 1;
	}
	x->k++;
	return 0;
}

static __always_inline long sl_name_class(struct sl_dns_scratch *sc, __u32 nlab,
					  struct sl_learn_cfg *lc)
{
	struct sl_wild_ctx *x = &sc->wild;
	struct sl_cb cb = { .sc = sc };
	struct sl_name_val *nv;
	__u64 h = sc->sufh[0];

	nv = bpf_map_lookup_elem(&names, &h);
	if (nv && sl_dns_same(sc, nlab, 0, nv))
		return nv->ncls;
	/* "*.S" matches names strictly below S; S has 1..max_wild_labels labels:
	 * strip leading labels, longest suffix (most specific wildcard) first */
	x->nlab = nlab;
	x->ncls = -1;
	x->k = nlab > lc->max_wild_labels ? nlab - lc->max_wild_labels : 1;
	if (x->k == 0)
		x->k = 1;
	bpf_loop(SL_DNS_LABELS, sl_wild_step, &cb, 0);
	return x->ncls;
}

static __always_inline void sl_fallback(struct __sk_buff *skb, const struct sl_dns_loc *l,
					__u32 caplen, __u32 walked)
{
	struct sl_dns_event *ev;
	__u32 n = caplen;

	sl_lctr(SL_L_FALLBACK);
	ev = bpf_ringbuf_reserve(&dns_fallback, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ifindex = skb->ifindex;
	ev->len = (__u16)l->len;
	ev->family = l->family;
	ev->proto = l->proto;
	__builtin_memcpy(ev->saddr, l->saddr, 16);
	__builtin_memcpy(ev->daddr, l->daddr, 16);
	ev->walked = (__u16)walked;
	ev->pad = 0;
	if (n > SL_DNS_BUF)
		n = SL_DNS_BUF;
	if (n < 1 || bpf_skb_load_bytes(skb, l->off, ev->msg, ((n - 1) & SL_DNS_MASK) + 1))
		n = 0;
	ev->caplen = (__u16)n;
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Header and question of the message in the scratch buffer (@len bytes):
 * a standard-query response, no TC bit, one well-formed question.
 * Returns -1 if so (*nlab, *end: the question name's labels and end), else
 * the counter that says why not.
 */
static __always_inline int sl_dns_head(struct sl_dns_scratch *sc, __u32 len, __u32 *nlab,
				       __u32 *end)
{
	__u8 flags = sl_b(sc, 2);

	if (!(flags & 0x80) || (flags & 0x78))
		return SL_L_MALFORMED;  /* not a response, or not a standard query */
	if (flags & 0x02)
		return SL_L_TRUNCATED;
	if (sl_b(sc, 4) != 0 || sl_b(sc, 5) != 1)
		return SL_L_MALFORMED;
	if (sl_dns_walk(sc, len, 12, nlab, end) || *end + 4 > len)
		return SL_L_MALFORMED;
	return -1;
}

/*
 * A trusted answer (header and question checked, question hashed into
 * sc->sufh): rcode, the question's name class, then the walk over at most
 * SL_DNS_MAX_RR answer records (@walk = 0: checks only, sc->rr.left = all
 * records).  Returns the number of addresses learned, or -1 - the counter
 * that says why nothing was (already counted).
 */
static __always_inline int sl_dns_learn(struct sl_dns_scratch *sc, __u32 len, __u32 nlab,
					__u32 end, __u64 qh, struct sl_learn_cfg *lc, int walk)
{
	struct sl_rr_ctx *x = &sc->rr;
	struct sl_cb cb = {};
	long ncls;

	if (sl_b(sc, 3) & 0x0f) {
		sl_lctr(SL_L_RCODE);
		return -1 - SL_L_RCODE;
	}
	ncls = sl_name_class(sc, nlab, lc);
	if (ncls < 0) {
		sl_lctr(SL_L_NO_RULE);
		return -1 - SL_L_NO_RULE;
	}
	sc->chain[0] = qh;
	x->len = len;
	x->off = end + 4;
	x->left = (__u32)sl_b(sc, 6) << 8 | sl_b(sc, 7);
	x->ncls = (__u32)ncls;
	x->nchain = 1;
	x->learned = 0;
	x->err = 0;
	if (!walk)
		return 0;
	cb.sc = sc;
	cb.lc = lc;
	bpf_loop(SL_DNS_MAX_RR, sl_rr_one, &cb, 0);
	if (x->err) {
		sl_lctr(SL_L_MALFORMED);
		x->left = 0;            /* nothing more to hand user space */
	}
	return (int)x->learned;
}

/*
 * A DNS response entering the interface.  Never drops: the learner only
 * learns (the packet's verdict, if any, is the classifier's business).
 * Answers it cannot finish (more than SL_DNS_MAX_RR records; a message over
 * SL_DNS_BUF bytes or one spanning TCP segments: SL_DL_BIG) go to user
 * space (dns_fallback) only after the same trust checks as any other:
 * resolver, pending query (txid, ports, question name), rcode, a rule for
 * the name.  Returns the number of addresses learned (tests), or -1 if ignored.
 */
static __always_inline int sl_learn_answer(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	struct sl_dns_loc *lp;
	struct sl_addr_key rk = {};
	struct sl_pending_key *pk;
	struct sl_pending_val *pv;
	__u32 nlab, end, caplen;
	__u64 qh;
	int rc, c, big;

	if (!lc || !lc->enabled || !sc)
		return -1;
	lp = &sc->loc;
	pk = &sc->pk;
	rc = sl_dns_locate(skb, 1, lp);
	if (rc == SL_DL_NONE)
		return -1;
	rk.family = lp->family;
	__builtin_memcpy(rk.addr, lp->saddr, 16);
	if (rc == SL_DL_FRAG) {
		/* a fragmented answer (no ports in later fragments): not learned */
		if (bpf_map_lookup_elem(&resolvers, &rk))
			sl_lctr(SL_L_FALLBACK);
		return -1;
	}
	if (!bpf_map_lookup_elem(&resolvers, &rk)) {
		sl_lctr(SL_L_SPOOFED);
		return -1;
	}
	sl_lctr(SL_L_ANSWERS);
	big = rc == SL_DL_BIG;
	caplen = big ? sl_dns_caplen(skb, lp) : lp->len;
	if (caplen < 12 && big) {
		sl_lctr(SL_L_FALLBACK);         /* not even a header in this segment */
		return -1;
	}
	if (sl_dns_copy_n(skb, lp->off, caplen, sc)) {
		sl_lctr(SL_L_MALFORMED);
		return -1;
	}
	c = sl_dns_head(sc, caplen, &nlab, &end);
	if (c >= 0) {
		sl_lctr((__u32)c);
		return -1;
	}
	qh = sl_dns_hash(sc, nlab, lc->hash_seed);

	__builtin_memset(pk, 0, sizeof(*pk));
	pk->family = lp->family;
	pk->proto = lp->proto;
	pk->cport = lp->dport;
	pk->txid = (__u16)sl_b(sc, 0) | (__u16)sl_b(sc, 1) << 8;
	__builtin_memcpy(pk->resolver, lp->saddr, 16);
	__builtin_memcpy(pk->client, lp->daddr, 16);
	pv = bpf_map_lookup_elem(&pending, pk);
	if (!pv || pv->qhash != qh ||
	    bpf_ktime_get_ns() - pv->sent_ns > (__u64)lc->pending_ms * 1000000ULL) {
		sl_lctr(SL_L_UNSOLICITED);
		return -1;
	}
	bpf_map_delete_elem(&pending, pk);

	rc = sl_dns_learn(sc, caplen, nlab, end, qh, lc, !big);
	if (rc < 0)
		return -1;
	if (sc->rr.left) {
		/* more answers than the BPF walk takes, or a message too big: user space */
		__u32 an = (__u32)sl_b(sc, 6) << 8 | sl_b(sc, 7);

		sl_fallback(skb, lp, caplen, an - sc->rr.left);
	}
	return rc;
}

/*
 * sluice_inject: a DNS response handed over by user space (`sluice run`)
 * through BPF_PROG_TEST_RUN, after a 14-byte dummy Ethernet header.  User
 * space established trust (its own query to a configured resolver, or a
 * fallback event that passed the checks above), so the resolver and
 * pending checks are skipped; everything else - rcode, name class, record
 * walk, caps, LRU, slots, counters - is the learner's own.  Returns the
 * number of addresses learned, or -1 - the counter that says why not
 * (SL_L_FALLBACK: more than SL_DNS_MAX_RR records; user space sends at
 * most that many).
 */
static __always_inline int sl_learn_inject(struct __sk_buff *skb)
{
	struct sl_learn_cfg *lc = sl_lcfg();
	struct sl_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &(__u32){ 0 });
	__u32 len = skb->len, nlab, end;
	__u64 qh;
	int c, rc;

	if (!lc || !lc->enabled || !sc)
		return -1 - SL_L_MAX;
	sl_lctr(SL_L_INJECTED);
	if (len < 14 + 12 || len > 14 + SL_DNS_BUF || sl_dns_copy_n(skb, 14, len - 14, sc)) {
		sl_lctr(SL_L_MALFORMED);
		return -1 - SL_L_MALFORMED;
	}
	len -= 14;
	c = sl_dns_head(sc, len, &nlab, &end);
	if (c >= 0) {
		sl_lctr((__u32)c);
		return -1 - c;
	}
	qh = sl_dns_hash(sc, nlab, lc->hash_seed);
	rc = sl_dns_learn(sc, len, nlab, end, qh, lc, 1);
	if (rc >= 0 && sc->rr.left)
		return -1 - SL_L_FALLBACK;
	return rc;
}

#endif /* SL_LEARN_ANSWER_H */
