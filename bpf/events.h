/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * events.h - drop events (docs/events.md).  Two halves:
 *
 *   sl_event_mark()   the classifier core's last step (classify.h): is this
 *                     result an event?  cfg is .rodata, so when logging is
 *                     off for a verdict the verifier drops the branch and
 *                     the path costs what it cost without events.
 *   sl_event_emit()   the hook's (sluice.bpf.c), only for marked results:
 *                     rate limit (one token bucket per instance, shared by
 *                     every CPU under a spin lock), ring buffer record with
 *                     the first bytes of the packet, counters.
 *
 * The slow work (the learned name class, the copy of the bytes) is done
 * only for an event; the source address and port and the ICMP code are not
 * parsed here at all: user space reads them from the copied bytes.
 */
#ifndef SL_EVENTS_H
#define SL_EVENTS_H

#include "maps.h"

static __always_inline void sl_event_mark(struct sl_result *res, int drop)
{
#ifdef SL_NO_EVENTS             /* sluice_noev.bpf.c: make bench's baseline without event code */
	(void)res;
	(void)drop;
	return;
#endif
	if (drop) {
		if (cfg.log_drops)
			res->flags |= SL_RF_LOG | SL_RF_WDROP;
		return;
	}
	if (cfg.log_pass == SL_LOGP_ALL) {
		if (res->reason <= SL_R_NEAR_MISS)      /* rule, policy allow, near miss under policy allow */
			res->flags |= SL_RF_LOG;
	} else if (cfg.log_pass == SL_LOGP_RULES && res->reason == SL_R_RULE) {
		const struct sl_rule_meta *m = bpf_map_lookup_elem(&rules, &(__u32){ res->rule });

		if (m && (m->flags & SL_RMF_LOG))
			res->flags |= SL_RF_LOG;
	}
}

/* Whether any result can be an event (a .rodata constant: false folds the call away). */
#ifdef SL_NO_EVENTS
#define sl_event_on(res) ((void)(res), 0)
#else
#define sl_event_on(res) ((cfg.log_drops || cfg.log_pass) && ((res)->flags & SL_RF_LOG))
#endif

static __always_inline void sl_ev_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ev_ctr, &idx);

	if (v)
		*v += 1;
}

/* Take a token from the instance's bucket (burst: one second's worth). */
static __always_inline int sl_ev_token(void)
{
	struct sl_ev_bucket *b;
	__u64 now, el, cap;
	__u32 t;
	int ok = 0;

	if (!cfg.log_rate)
		return 1;
	b = bpf_map_lookup_elem(&ev_bucket, &(__u32){ 0 });
	if (!b)
		return 0;
	/* lock-free pre-check (a flood's common case): no token now and the tick
	 * unmoved since the last refill (so the coarse clock too: none due) ->
	 * suppressed without the lock or a clock read (maps.h: sl_tick).
	 * Unlocked reads can, at a refill's edge, suppress an event the lock
	 * would have let through: it is counted as suppressed, and the limit is
	 * never exceeded. */
	t = sl_tick();
	if (b->last_ns && b->last_tick == t && b->tokens < 1000000000ULL)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	cap = (__u64)cfg.log_rate * 1000000000ULL;
	el = now > b->last_ns ? now - b->last_ns : 0;
	if (b->last_ns && el < 1000000000ULL && b->tokens + el * cfg.log_rate < 1000000000ULL) {
		b->last_tick = t;       /* none due at this tick: later packets of it stop above */
		return 0;
	}
	bpf_spin_lock(&b->lock);
	el = now > b->last_ns ? now - b->last_ns : 0;   /* another CPU may have refilled after our read */
	if (el > 10000000000ULL || !b->last_ns)
		el = 10000000000ULL;            /* first use or a long pause: a full bucket */
	if (now >= b->last_ns)
		b->last_ns = now;
	b->last_tick = t;
	b->tokens += el * cfg.log_rate;
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens >= 1000000000ULL) {
		b->tokens -= 1000000000ULL;
		ok = 1;
	}
	bpf_spin_unlock(&b->lock);
	return ok;
}

#ifdef SL_LEARN
/* The name class the destination was learned for: the live one whose rule
 * is the event's, else the first live one; 0 if the address is not learned. */
static __always_inline __u32 sl_ev_ncls(const struct sl_pinfo *pi, __u16 rule)
{
	const struct sl_learned_val *e;
	struct sl_addr_key ak = { .family = pi->family };
	__u64 now = bpf_ktime_get_ns();
	__u32 first = 0;
	int i;

	if (pi->family == 4)
		__builtin_memcpy(ak.addr, pi->daddr, 4);
	else
		__builtin_memcpy(ak.addr, pi->daddr, 16);
	e = bpf_map_lookup_elem(&learned, &ak);
	if (!e)
		return 0;
#pragma unroll
	for (i = 0; i < SL_LEARN_SLOTS; i++) {
		__u32 ncl = e->s[i].ncls;
		const struct sl_dst_val *nv;

		if (e->s[i].expires_ns <= now)
			continue;
		nv = bpf_map_lookup_elem(&nclass, &ncl);
		if (!nv)
			continue;
		if (nv->near_rule == rule)
			return ncl;
		if (!first)
			first = ncl;
	}
	return first;
}
#endif

/*
 * Write the event of a marked result, its token taken: @ctx is the skb
 * (@prog SL_EVP_TC or SL_EVP_CGROUP) or the xdp_md (SL_EVP_XDP); @att the
 * attachment record.  (sluice.bpf.c: the token inline, this part in a
 * global function.)
 */
static __always_inline void sl_event_write(void *ctx, __u8 prog, __u32 att, __u32 ifindex,
					   const struct sl_pinfo *pi, const struct sl_result *res,
					   __u32 len)
{
	struct sl_event *ev;
	__u32 n;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		sl_ev_count(SL_EC_LOST);
		return;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->att = att;
	ev->ifindex = ifindex;
	ev->len = len;
	ev->ncls = 0;
	ev->verdict = !(res->flags & SL_RF_WDROP) ? SL_EV_PASS :
		      res->verdict == SL_V_DROP ? SL_EV_DROP : SL_EV_AUDIT_DROP;
	ev->reason = res->reason;
	ev->flags = res->flags & SL_RF_FRAGMENT;
	ev->proto = res->proto;
	ev->prog = prog;
	ev->rule = res->rule;
	ev->dport = res->port;
	ev->pad = 0;
	ev->dir = pi->dir;
	if (res->reason == SL_R_MALFORMED || res->reason == SL_R_NON_IP) {
		ev->family = 0;
		__builtin_memset(ev->daddr, 0, sizeof(ev->daddr));
	} else {
		ev->family = pi->family;
		__builtin_memcpy(ev->daddr, pi->daddr, 16);
		if (res->proto == IPPROTO_ICMP || res->proto == SL_NEXTHDR_ICMP)
			ev->dport = pi->icmp_type;
#ifdef SL_LEARN
		ev->ncls = sl_ev_ncls(pi, res->rule);
#endif
	}
	n = cfg.log_snap > SL_SNAP_HDR ? cfg.log_snap : SL_SNAP_HDR;
	if (n > len)
		n = len;
	if (n > SL_SNAP_MAX)
		n = SL_SNAP_MAX;
	ev->caplen = 0;
	if (n > 0) {
		__u32 m = (n - 1) & (SL_SNAP_MAX - 1);  /* 1 .. SL_SNAP_MAX bytes, as the verifier sees it */
		long e;

		asm volatile("" : "+r"(m));
		m += 1;
		e = prog == SL_EVP_XDP ? bpf_xdp_load_bytes(ctx, 0, ev->data, m) :
					 bpf_skb_load_bytes(ctx, 0, ev->data, m);
		if (!e)
			ev->caplen = m;
	}
	ev->snap = len < cfg.log_snap ? len : cfg.log_snap;
	bpf_ringbuf_submit(ev, 0);
	sl_ev_count(SL_EC_EMITTED);
}

/* A marked result: a token from the rate limit, then the event. */
static __always_inline void sl_event_emit(void *ctx, __u8 prog, __u32 att, __u32 ifindex,
					  const struct sl_pinfo *pi, const struct sl_result *res,
					  __u32 len)
{
	if (!sl_ev_token()) {
		sl_ev_count(SL_EC_SUPPRESSED);
		return;
	}
	sl_event_write(ctx, prog, att, ifindex, pi, res, len);
}

#endif /* SL_EVENTS_H */
