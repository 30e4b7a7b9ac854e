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
 *   sluice_learn   TC ingress: learns host-name addresses from DNS answers.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#define SL_LEARN 1              /* host names learned from DNS (learn.h, docs/dns.md) */
#include "classify.h"
#include "learn.h"

#define SL_PULL_MAX 1024

/* Which attachment record this program instance serves: the loader loads one
 * instance per attachment (all sharing the maps), so per-attachment counters
 * cost one inlined array lookup. */
const volatile __u32 att_index = 0;

static __always_inline void sl_att_count(int verdict, __u32 packets, __u32 bytes)
{
	struct sl_att_ctr *a = bpf_map_lookup_elem(&att_counters, &(__u32){ att_index });

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
 * Parse an skb; if a header ran past the linear bytes while the skb holds
 * more, pull up to SL_PULL_MAX bytes into the linear area and parse again
 * once (slow path: GRO'd or paged packets with a short linear head).
 * cgroup_skb may not pull (no bpf_skb_pull_data there): @can_pull = 0; the
 * stack hands it a linear L3+L4 header in practice.
 */
/* A frame from Ethernet in the linear bytes of @skb: a global function, so
 * that the verifier checks the parser once for both calls of sluice_tc. */
__noinline int sl_parse_skb_eth(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	if (!skb || !pi)
		return SL_PR_BAD;
	return sl_parse((void *)(long)skb->data, (void *)(long)skb->data_end, 0, pi);
}

/* A packet from the IP header (cgroup_skb). */
__noinline int sl_parse_skb_l3(struct __sk_buff *skb, struct sl_pinfo *pi)
{
	if (!skb || !pi)
		return SL_PR_BAD;
	return sl_parse((void *)(long)skb->data, (void *)(long)skb->data_end, 1, pi);
}

static __always_inline int sl_skb_parse(struct __sk_buff *skb, int l3,
					int can_pull, struct sl_pinfo *pi)
{
	__u32 len, lin;
	int rc;

	if (l3)
		return sl_parse_skb_l3(skb, pi);
	rc = sl_parse_skb_eth(skb, pi);
	if (rc != SL_PR_SHORT || !can_pull)
		return rc;
	len = skb->len;
	lin = skb->data_end - skb->data;
	if (len <= lin)
		return rc;
	if (bpf_skb_pull_data(skb, len < SL_PULL_MAX ? len : SL_PULL_MAX))
		return rc;
	return sl_parse_skb_eth(skb, pi);
}

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	struct sl_pinfo pi;
	struct sl_result res;
	int rc = sl_skb_parse(skb, 0, 1, &pi);
	__u32 packets = sl_skb_packets(skb);
	int v = sl_classify(rc, &pi, packets, skb->len, &res);

	sl_att_count(v, packets, skb->len);
	if (v != SL_V_PASS)
		return TC_ACT_SHOT;
	if (res.port == 53 && (res.proto == IPPROTO_UDP || res.proto == IPPROTO_TCP))
		sl_learn_query(skb);    /* a DNS query to a resolver: remember it */
	return TC_ACT_UNSPEC;
}

/* The same for XDP (verified apart from the classifier call). */
__noinline int sl_parse_xdp_eth(struct xdp_md *ctx, struct sl_pinfo *pi)
{
	if (!ctx || !pi)
		return SL_PR_BAD;
	return sl_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, 0, pi);
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	struct sl_pinfo pi;
	struct sl_result res;
	int rc = sl_parse_xdp_eth(ctx, &pi);
	__u32 len = (__u32)(ctx->data_end - ctx->data);
	int v = sl_classify(rc, &pi, 1, len, &res);

	sl_att_count(v, 1, len);
	return v == SL_V_PASS ? XDP_PASS : XDP_DROP;
}

SEC("cgroup_skb/egress")
int sluice_cgroup(struct __sk_buff *skb)
{
	struct sl_pinfo pi;
	struct sl_result res;
	int rc = sl_skb_parse(skb, 1, 0, &pi);
	__u32 packets = sl_skb_packets(skb);
	int v = sl_classify(rc, &pi, packets, skb->len, &res);

	sl_att_count(v, packets, skb->len);
	return v == SL_V_PASS;
}

/*
 * The DNS learner, on TC ingress of the interface the answers arrive on:
 * learns the addresses of answers to queries recorded on egress, before
 * the answer reaches the client (no race).  Never drops.
 */
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
