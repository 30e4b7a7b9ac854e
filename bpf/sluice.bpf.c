// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice.bpf.c - the sluice data path: egress allowlist filter.
 *
 * Every hook is a thin wrapper around the same core: sl_parse() (parse.h)
 * on (data, data_end, l3?) and sl_classify() (classify.h).  The contract
 * is docs/datapath.md.
 *
 *   sluice_tc      TC (TCX or clsact), egress or ingress; frame from Ethernet.
 *                  pass = TC_ACT_UNSPEC (= TCX_NEXT: later programs still run),
 *                  drop = TC_ACT_SHOT.
 *   sluice_xdp     XDP; frame from Ethernet.  Linear part only.
 *   sluice_cgroup  cgroup_skb/egress; packet from the IP header.
 *   sluice_cgroup_in  cgroup_skb/ingress; the same, inbound.
 *   sluice_learn   TC ingress: learns host-name addresses from DNS answers.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#define SL_LEARN 1              /* host names learned from DNS (learn.h, docs/dns.md) */
#ifndef SL_CAL_WORK             /* bpf/sluice_cal.bpf.c: a known extra work per packet */
#define SL_CAL_WORK() 0
#endif
struct sl_cursor;
struct sl_pinfo;
static __always_inline int sl_ext6_walk(struct sl_cursor *c, __u8 nh, struct sl_pinfo *pi);
#define SL_EXT6_WALK(c, nh, pi) sl_ext6_walk(c, nh, pi)    /* parse.h */
#include "classify.h"
#include "learn.h"
#include "icmp_err.h"

#define SL_PULL_MAX 1024

/* Which attachment record this program instance serves.  The loader loads
 * one instance per hook, direction, flags and network namespace (all
 * sharing the maps): serving one attachment, att_index is its record (a
 * constant: per-attachment counters cost one inlined array lookup); shared
 * by several, att_index is SL_ATT_BY_IFINDEX and the record is in its
 * group's table of att_ifx, at att_ifx_base + (ifindex & att_ifx_mask). */
const volatile __u32 att_index = 0;
const volatile __u32 att_ifx_base = 0;
const volatile __u32 att_ifx_mask = 0;
/* Its direction (enum sl_dir; tc and xdp: ingress attachments may be
 * inbound): a constant, so the verifier sees one direction's code only. */
const volatile __u8 att_dir = SL_DIR_OUT;

/* SL_AF_* of this attachment (include/sluice.h), set by the loader. */
const volatile __u32 att_flags = 0;

/*
 * On an ingress-side hook, traffic to the host itself (its own addresses,
 * limited broadcast: DHCP, its DNS resolver, management) is not egress:
 * passed as control unless the ruleset says "host filter;".
 */
static __always_inline int sl_to_host(int rc, const struct sl_pinfo *pi)
{
	struct sl_addr_key k = { .family = pi->family };

	if (!(att_flags & SL_AF_HOST) || rc != SL_PR_OK)
		return 0;
	if (pi->family == 4 && pi->daddr[0] == 0xffffffff)
		return 1;
	__builtin_memcpy(k.addr, pi->daddr, 16);
	return bpf_map_lookup_elem(&host_addrs, &k) != NULL;
}

static __always_inline void sl_host_count(__u32 packets, __u32 bytes)
{
	struct sl_global_ctr *g = bpf_map_lookup_elem(&globals, &(__u32){ SL_G_CONTROL });

	if (g) {
		g->packets += packets;
		g->bytes += bytes;
	}
}

/*
 * The attachment record of a packet that arrived on (tc egress: leaves by)
 * interface @ifindex, into *att; -1 if this shared program has no record
 * for that interface (an interface moved or renamed under a link): the
 * caller drops the packet and counts it in SL_G_UNKNOWN_IF, fail closed.
 */
static __always_inline int sl_att_of(__u32 ifindex, __u32 *att)
{
	const struct sl_ifx_val *v;
	__u32 slot;

	if (att_index != SL_ATT_BY_IFINDEX) {
		*att = att_index;
		return 0;
	}
	slot = att_ifx_base + (ifindex & att_ifx_mask);
	v = bpf_map_lookup_elem(&att_ifx, &slot);      /* an array: inlined */
	if (!v || !ifindex || v->ifindex != ifindex)
		return -1;
	*att = v->att;
	return 0;
}

static __always_inline void sl_att_count(__u32 att, int verdict, __u32 packets, __u32 bytes)
{
	struct sl_att_ctr *a = bpf_map_lookup_elem(&att_counters, &att);

	if (!a)
		return;
	if (verdict == SL_V_PASS) {
		a->pass_packets += packets;
		a->pass_bytes += bytes;
	} else {
		a->drop_packets += packets;
		a->drop_bytes += bytes;
	}
}

static __always_inline __u32 sl_skb_packets(const struct __sk_buff *skb)
{
	__u32 segs = skb->gso_segs;

	return segs ? segs : 1;
}

/*
 * Pull up to SL_PULL_MAX bytes into the linear area if the skb holds more
 * than its linear part (slow path: GRO'd or paged packets with a short
 * linear head).  1 if it did.
 */
static __always_inline int sl_skb_pull(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	if (len <= (__u32)(skb->data_end - skb->data))
		return 0;
	return !bpf_skb_pull_data(skb, len < SL_PULL_MAX ? len : SL_PULL_MAX);
}

/*
 * The parsers of the hooks: a packet's own headers (parse.h), then, for an
 * ICMP error that is not control traffic itself, its quote in the opposite
 * direction (icmp_err.h).  Global functions (noinline, not static), each
 * verified once with unknown inputs: the classifier is then verified once
 * after the parse instead of once per path through the headers, and the
 * quote's walk once instead of once per such path (inlined, the IPv6
 * extension-header walk twice over exceeds the 1M-instruction limit).
 */
__attribute__((noinline)) int sl_quote_skb(struct __sk_buff *skb, __u32 l4off, __u32 family,
					   int qdir, struct sl_quote *q)
{
	if (!q)
		return SL_PR_BAD;
	return sl_parse_quote((void *)(long)skb->data, (void *)(long)skb->data_end, l4off,
			      family, qdir, q);
}

__attribute__((noinline)) int sl_quote_xdp(struct xdp_md *ctx, __u32 l4off, __u32 family,
					   int qdir, struct sl_quote *q)
{
	if (!q)
		return SL_PR_BAD;
	return sl_parse_quote((void *)(long)ctx->data, (void *)(long)ctx->data_end, l4off,
			      family, qdir, q);
}

/*
 * The IPv6 extension-header walk (parse.h: sl_parse_ext6) from offset
 * @off, for the packets that have extension headers: global, so verified
 * once from an unknown offset (one state per iteration) instead of once
 * per VLAN depth from a known one (where every header length gives the
 * next iteration a state of its own: ~50,000 instructions).  The final
 * offset goes to pi->l4off.  Packets without extension headers never call
 * it (a call and its return cost ~5-10 ns here).
 */
__attribute__((noinline)) int sl_ext6_skb(struct __sk_buff *skb, __u32 off, __u32 nh,
					  struct sl_pinfo *pi)
{
	struct sl_cursor c = { .data = (void *)(long)skb->data,
			       .data_end = (void *)(long)skb->data_end, .off = off & SL_OFF_MASK };
	int rc;

	if (!pi)
		return SL_PR_BAD;
	rc = sl_parse_ext6(&c, (__u8)nh, pi);
	pi->l4off = c.off;
	return rc;
}

__attribute__((noinline)) int sl_ext6_xdp(struct xdp_md *ctx, __u32 off, __u32 nh,
					  struct sl_pinfo *pi)
{
	struct sl_cursor c = { .data = (void *)(long)ctx->data,
			       .data_end = (void *)(long)ctx->data_end, .off = off & SL_OFF_MASK };
	int rc;

	if (!pi)
		return SL_PR_BAD;
	rc = sl_parse_ext6(&c, (__u8)nh, pi);
	pi->l4off = c.off;
	return rc;
}

static __always_inline int sl_ext6_walk(struct sl_cursor *c, __u8 nh, struct sl_pinfo *pi)
{
	int rc;

	if (!c->ctx)            /* the ICMP quote's walk: inline (already in a global function) */
		return sl_parse_ext6(c, nh, pi);
	rc = c->xdp ? sl_ext6_xdp(c->ctx, c->off, nh, pi) : sl_ext6_skb(c->ctx, c->off, nh, pi);
	c->off = pi->l4off & SL_OFF_MASK;
	return rc;
}

/* parse.h's sl_parse_dir (its fast path first), with the context in the cursor (SL_EXT6_WALK). */
static __always_inline int sl_parse_frame(void *ctx, void *data, void *data_end, int l3,
					  int dir, int xdp, struct sl_pinfo *pi)
{
	struct sl_cursor c = { .data = data, .data_end = data_end, .off = 0, .xdp = xdp, .ctx = ctx };
	__be16 proto;
	int rc;

	if (sl_parse_fast(data, data_end, l3, dir, pi))        /* parse.h: the common case */
		return SL_PR_OK;
	__builtin_memset(pi, 0, sizeof(*pi));
	pi->dir = dir;
	rc = sl_parse_l2(&c, l3, &proto);
	if (rc)
		return rc;
	return sl_parse_l34(&c, proto, dir, pi);
}

static __always_inline int sl_parse_skb(struct __sk_buff *skb, int l3, int dir,
					struct sl_pinfo *pi)
{
	struct sl_quote q;
	int rc;

	if (!pi)
		return SL_PR_BAD;
	rc = sl_parse_frame(skb, (void *)(long)skb->data, (void *)(long)skb->data_end, l3, dir, 0, pi);
	if (rc != SL_PR_OK || !sl_icmp_is_err(pi) || (cfg.control_pass && sl_is_control(pi)))
		return rc;
	rc = sl_quote_skb(skb, pi->l4off, pi->family, dir ^ 1, &q);
	if (rc == SL_PR_OK)
		sl_quote_apply(pi, &q);
	return rc;
}

/* One per hook, so that the frame start and the direction are constants. */
__attribute__((noinline)) int sl_parse_tc(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	return sl_parse_skb(skb, 0, att_dir, pi);
}

__attribute__((noinline)) int sl_parse_cgroup_out(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	return sl_parse_skb(skb, 1, SL_DIR_OUT, pi);
}

__attribute__((noinline)) int sl_parse_cgroup_in(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	return sl_parse_skb(skb, 1, SL_DIR_IN, pi);
}

__attribute__((noinline)) int sl_parse_xdp(struct xdp_md *ctx, struct sl_pinfo *pi)
{
	struct sl_quote q;
	int rc;

	if (!pi)
		return SL_PR_BAD;
	rc = sl_parse_frame(ctx, (void *)(long)ctx->data, (void *)(long)ctx->data_end, 0, att_dir, 1, pi);
	if (rc != SL_PR_OK || !sl_icmp_is_err(pi) || (cfg.control_pass && sl_is_control(pi)))
		return rc;
	rc = sl_quote_xdp(ctx, pi->l4off, pi->family, att_dir ^ 1, &q);
	if (rc == SL_PR_OK)
		sl_quote_apply(pi, &q);
	return rc;
}

/*
 * Parse a TC skb; if a header ran past the linear bytes while the skb holds
 * more, pull up to SL_PULL_MAX bytes into the linear area and parse again
 * once (slow path: GRO'd or paged packets with a short linear head).
 * cgroup_skb may not pull (no bpf_skb_pull_data there); the stack hands it
 * a linear L3+L4 header in practice.
 */
static __always_inline int sl_tc_parse(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	int rc = sl_parse_tc(skb, pi);

	if (rc == SL_PR_SHORT && sl_skb_pull(skb))
		rc = sl_parse_tc(skb, pi);
	return rc;
}

/*
 * The event writer (events.h: sl_event_write) as global functions, one per
 * context type: each is verified once with unknown inputs instead of once
 * per verdict path of the classifier into it.  A call costs ~5-10 ns per
 * packet here, paid only by events that got a token (sl_ev_emit): the rate
 * limit's refusal, a flood's common case, stays inline.  (The classifier
 * itself stays inline: as a global function it saved ~1,500 instructions
 * and cost a call on every packet.)
 */
__attribute__((noinline)) int sl_emit_tc(struct __sk_buff *skb, __u32 att,
					 const struct sl_pinfo *pi, const struct sl_result *res)
{
	if (pi && res)
		sl_event_write(skb, SL_EVP_TC, att, skb->ifindex, pi, res, skb->len);
	return 0;
}

__attribute__((noinline)) int sl_emit_cgroup(struct __sk_buff *skb, __u32 att,
					     const struct sl_pinfo *pi, const struct sl_result *res)
{
	if (pi && res)
		sl_event_write(skb, SL_EVP_CGROUP, att, 0, pi, res, skb->len);
	return 0;
}

__attribute__((noinline)) int sl_emit_xdp(struct xdp_md *ctx, __u32 att,
					  const struct sl_pinfo *pi, const struct sl_result *res)
{
	__u32 len = (__u32)(ctx->data_end - ctx->data);

	if (pi && res)
		sl_event_write(ctx, SL_EVP_XDP, att, ctx->ingress_ifindex, pi, res, len);
	return 0;
}

/* events.h's sl_event_emit, the write in the global sl_emit_*(). */
#define sl_ev_emit(call)                                        \
	do {                                                    \
		if (sl_ev_token())                              \
			call;                                   \
		else                                            \
			sl_ev_count(SL_EC_SUPPRESSED);          \
	} while (0)

/* The DNS query recorder (learn.h), verified once rather than once per
 * verdict path of the classifier. */
__attribute__((noinline)) int sl_learn_query_tc(struct __sk_buff *skb)
{
	sl_learn_query(skb);
	return 0;
}

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	struct sl_pinfo pi;
	struct sl_result res;
	__u32 packets = sl_skb_packets(skb), counted = packets, bytes = skb->len, att;
	int rc, v;

	if (SL_CAL_WORK())
		return TC_ACT_SHOT;
	if (sl_att_of(skb->ifindex, &att)) {
		sl_global_add(SL_G_UNKNOWN_IF, packets, skb->len);
		return TC_ACT_SHOT;
	}
	rc = sl_tc_parse(skb, &pi);
	if (sl_to_host(rc, &pi)) {
		sl_host_count(packets, skb->len);
		sl_att_count(att, SL_V_PASS, packets, skb->len);
		return TC_ACT_UNSPEC;
	}
	/* judged like every packet, counted in rule totals once: where it
	 * entered; and one event, where it is counted (docs/operations.md §9) */
	if ((att_flags & SL_AF_COUNT_LOCAL) && !skb->sk)
		counted = bytes = 0;
	v = sl_classify(rc, &pi, counted, bytes, &res);
	sl_att_count(att, v, packets, skb->len);
	if (sl_event_on(&res) && counted)
		sl_ev_emit(sl_emit_tc(skb, att, &pi, &res));
	if (v != SL_V_PASS)
		return TC_ACT_SHOT;
	if (cfg_names && att_dir == SL_DIR_OUT && !(res.flags & SL_RF_ICMP_ERR) && res.port == 53 &&
	    (res.proto == IPPROTO_UDP || res.proto == IPPROTO_TCP))
		sl_learn_query_tc(skb); /* a DNS query to a resolver: remember it */
	return TC_ACT_UNSPEC;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sl_pinfo pi;
	struct sl_result res;
	__u32 len = (__u32)(data_end - data), att;
	int rc, v;

	if (sl_att_of(ctx->ingress_ifindex, &att)) {
		sl_global_add(SL_G_UNKNOWN_IF, 1, len);
		return XDP_DROP;
	}
	rc = sl_parse_xdp(ctx, &pi);
	if (sl_to_host(rc, &pi)) {
		sl_host_count(1, len);
		sl_att_count(att, SL_V_PASS, 1, len);
		return XDP_PASS;
	}

	v = sl_classify(rc, &pi, 1, len, &res);
	sl_att_count(att, v, 1, len);
	if (sl_event_on(&res))
		sl_ev_emit(sl_emit_xdp(ctx, att, &pi, &res));
	return v == SL_V_PASS ? XDP_PASS : XDP_DROP;
}

static __always_inline int sl_cgroup(struct __sk_buff *skb, int dir)
{
	struct sl_pinfo pi;
	struct sl_result res;
	int rc = dir == SL_DIR_IN ? sl_parse_cgroup_in(skb, &pi) : sl_parse_cgroup_out(skb, &pi);
	__u32 packets = sl_skb_packets(skb);
	int v = sl_classify(rc, &pi, packets, skb->len, &res);

	/* one program per cgroup attachment: att_index is its record */
	sl_att_count(att_index, v, packets, skb->len);
	if (sl_event_on(&res))
		sl_ev_emit(sl_emit_cgroup(skb, att_index, &pi, &res));
	return v == SL_V_PASS;
}

SEC("cgroup_skb/egress")
int sluice_cgroup(struct __sk_buff *skb)
{
	return sl_cgroup(skb, SL_DIR_OUT);
}

SEC("?cgroup_skb/ingress")      /* loaded only for an inbound cgroup attachment */
int sluice_cgroup_in(struct __sk_buff *skb)
{
	return sl_cgroup(skb, SL_DIR_IN);
}

/*
 * Whether a packet may be a DNS answer, from the linear bytes and without a
 * helper call: 0 for an unfragmented IPv4 (no options) or IPv6 (no
 * extension header) packet that is not UDP/TCP from port 53; 1 for anything
 * else, which the learner then examines in full (answers, fragments,
 * VLANs, options, short linear parts).
 */
static __always_inline int sl_learn_maybe_dns(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 *l4, proto;

	if (data + sizeof(*eth) + sizeof(struct ipv6hdr) + 2 > data_end)
		return 1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if (*(__u8 *)ip != 0x45 || (ip->frag_off & bpf_htons(0x3fff)))
			return 1;
		proto = ip->protocol;
		l4 = (__u8 *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		proto = ip6->nexthdr;
		if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
			return 1;
		l4 = (__u8 *)(ip6 + 1);
	} else {
		return 1;
	}
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 0;
	if ((void *)(l4 + 2) > data_end)
		return 1;
	return l4[0] == 0 && l4[1] == 53;
}

/*
 * The DNS learner, on TC ingress of the interface the answers arrive on:
 * learns the addresses of answers to queries recorded on egress, before
 * the answer reaches the client (no race).  Never drops.
 */
SEC("tc")
int sluice_learn(struct __sk_buff *skb)
{
	if (sl_learn_maybe_dns(skb))
		sl_learn_answer(skb);
	return TC_ACT_UNSPEC;
}

/*
 * sluice_inject: the learner's answer path on a DNS message user space
 * hands it through BPF_PROG_TEST_RUN (`sluice run`: its own resolutions of
 * exact names, and answers the learner sent to the dns_fallback ring
 * buffer, in chunks).  Never attached; not loaded unless asked for ("?").
 */
SEC("?tc")
int sluice_inject(struct __sk_buff *skb)
{
	return sl_learn_inject(skb);
}

char LICENSE[] SEC("license") = "GPL";
