/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learn_msg.h - the DNS message of a packet (learn.h, docs/dns.md):
 * constants, the per-CPU scratch buffer and the bpf_loop states kept in it,
 * byte access (buf[off & SL_DNS_MASK]), finding the message in a UDP or TCP
 * packet and copying it into the scratch buffer.
 */
#ifndef SL_LEARN_MSG_H
#define SL_LEARN_MSG_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "classify.h"

#ifndef SL_LEARN
#error "define SL_LEARN before including classify.h and learn.h"
#endif

#define SL_DNS_MASK   (SL_DNS_BUF - 1)
#define SL_NAME_STEPS (SL_DNS_LABELS + 16)
#define SL_FNV_OFF    0xcbf29ce484222325ULL
#define SL_FNV_PRIME  0x100000001b3ULL

_Static_assert((SL_DNS_BUF & SL_DNS_MASK) == 0, "SL_DNS_BUF is a power of two");

/*
 * Loop state lives in the per-CPU scratch map, not on the stack: the
 * verifier does not track map-value contents, so a bpf_loop callback's
 * states converge after one pass instead of being explored once per
 * iteration (stack scalars used in indexes become "precise" and never
 * converge).  The callbacks get {sc, nv, lc} pointers only.
 */
struct sl_walk_ctx {
	__u32 len, off, n, wire, e;
	int rc;                 /* 1 done, -1 malformed, 0 running */
};
struct sl_hash_ctx {
	__u64 h;
	__u32 nlab, k, pos, j, L;
	__u32 pad;
};
struct sl_same_ctx {
	__u32 nlab, k, w, pos, j, L;
	int rc;                 /* 1 equal, -1 different */
	__u32 pad;
};
struct sl_wild_ctx {
	__u32 nlab, k;
	long ncls;
};
struct sl_rr_ctx {
	__u32 len;
	__u32 off;
	__u32 left;             /* answer records still to read */
	__u32 ncls;
	__u32 nchain;
	__u32 learned;
	int err;
	__u32 pad;
};

struct sl_cb {
	struct sl_dns_scratch *sc;
	const struct sl_name_val *nv;
	struct sl_learn_cfg *lc;
};

/* Where a DNS message is in an skb. */
struct sl_dns_loc {
	__u32 off;              /* of the DNS header */
	__u32 len;              /* message length */
	__u8  family, proto;
	__u16 sport, dport;     /* network order */
	__u8  saddr[16], daddr[16];
};

struct sl_dns_scratch {
	__u8  msg[SL_DNS_BUF];
	__u16 lab[SL_DNS_LABELS];       /* offset of each label's length byte */
	__u64 sufh[256];                /* sufh[k]: hash of the name from label k (k <= 127; 256 for the mask) */
	__u64 chain[SL_DNS_CHAIN];      /* owner names accepted: question + CNAME targets */
	struct sl_walk_ctx walk;
	struct sl_hash_ctx hash;
	struct sl_same_ctx same;
	struct sl_wild_ctx wild;
	struct sl_rr_ctx rr;
	struct sl_dns_loc loc;          /* the answer being learned from */
	struct sl_pending_key pk;
	struct sl_learned_val nv;       /* a new "learned" value */
};

/* scratch: per-CPU working memory of the DNS parser (BPF side only). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_dns_scratch);
} dns_scratch SEC(".maps");

static __always_inline void sl_lctr(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&learn_ctr, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u8 sl_b(const struct sl_dns_scratch *sc, __u32 off)
{
	return sc->msg[off & SL_DNS_MASK];
}

static __always_inline __u8 sl_lower(__u8 b)
{
	return (b >= 'A' && b <= 'Z') ? b + 32 : b;
}


enum { SL_DL_NONE = 0, SL_DL_OK, SL_DL_BIG, SL_DL_FRAG };

/*
 * Find the DNS message of a UDP or TCP packet with @port (network order) as
 * source (@src = 1, answers) or destination port (queries).  Returns
 * SL_DL_OK, SL_DL_NONE (not DNS, or no payload), SL_DL_BIG (a TCP message
 * longer than this segment) or SL_DL_FRAG (an IP fragment).
 */
static __always_inline int sl_dns_locate(struct __sk_buff *skb, int src, struct sl_dns_loc *l)
{
	__u32 off = 14, plen;
	__be16 proto;
	__u8 l4;
	int i;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return SL_DL_NONE;
#pragma unroll
	for (i = 0; i < SL_MAX_VLANS; i++) {
		if (!sl_proto_is_vlan(proto))
			break;
		if (bpf_skb_load_bytes(skb, off + 2, &proto, 2))
			return SL_DL_NONE;
		off += 4;
	}
	__builtin_memset(l->saddr, 0, 16);
	__builtin_memset(l->daddr, 0, 16);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return SL_DL_NONE;
		l4 = ip.protocol;
		if (ip.frag_off & bpf_htons(0x3fff))
			return (l4 == IPPROTO_UDP || l4 == IPPROTO_TCP) ? SL_DL_FRAG : SL_DL_NONE;
		l->family = 4;
		__builtin_memcpy(l->saddr, &ip.saddr, 4);
		__builtin_memcpy(l->daddr, &ip.daddr, 4);
		off += ip.ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) || ip6.version != 6)
			return SL_DL_NONE;
		l4 = ip6.nexthdr;       /* DNS with extension headers is not learned */
		if (l4 == SL_NEXTHDR_FRAGMENT)
			return SL_DL_FRAG;
		l->family = 6;
		__builtin_memcpy(l->saddr, &ip6.saddr, 16);
		__builtin_memcpy(l->daddr, &ip6.daddr, 16);
		off += sizeof(ip6);
	} else {
		return SL_DL_NONE;
	}
	l->proto = l4;
	if (l4 == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
			return SL_DL_NONE;
		if ((src ? uh.source : uh.dest) != bpf_htons(53))
			return SL_DL_NONE;
		l->sport = uh.source;
		l->dport = uh.dest;
		off += sizeof(uh);
		plen = bpf_ntohs(uh.len);
		if (plen < sizeof(uh) || off + (plen - sizeof(uh)) > skb->len)
			plen = skb->len > off ? skb->len - off : 0;     /* malformed later */
		else
			plen -= sizeof(uh);
	} else if (l4 == IPPROTO_TCP) {
		struct tcphdr th;
		__be16 mlen;

		if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
			return SL_DL_NONE;
		if ((src ? th.source : th.dest) != bpf_htons(53))
			return SL_DL_NONE;
		l->sport = th.source;
		l->dport = th.dest;
		off += th.doff * 4;
		if (skb->len <= off + 2)
			return SL_DL_NONE;      /* handshake, ACK: no message */
		if (bpf_skb_load_bytes(skb, off, &mlen, 2))
			return SL_DL_NONE;
		off += 2;
		plen = bpf_ntohs(mlen);
		if (plen > skb->len - off) {
			l->off = off;
			l->len = plen;
			return SL_DL_BIG;       /* continues in later segments */
		}
	} else {
		return SL_DL_NONE;
	}
	l->off = off;
	l->len = plen;
	return plen > SL_DNS_BUF ? SL_DL_BIG : SL_DL_OK;
}

/* Copy @n bytes of the message at @off into the scratch buffer. */
static __always_inline int sl_dns_copy_n(struct __sk_buff *skb, __u32 off, __u32 n,
					 struct sl_dns_scratch *sc)
{
	if (n < 12 || n > SL_DNS_BUF)
		return -1;
	/* ((n - 1) & mask) + 1 == n here; it shows the verifier 1 <= n <= BUF */
	return bpf_skb_load_bytes(skb, off, sc->msg, ((n - 1) & SL_DNS_MASK) + 1) ? -1 : 0;
}

/* Copy the message into the scratch buffer. */
static __always_inline int sl_dns_copy(struct __sk_buff *skb, const struct sl_dns_loc *l,
				       struct sl_dns_scratch *sc)
{
	return sl_dns_copy_n(skb, l->off, l->len, sc);
}

/* Of a message too big for BPF (SL_DL_BIG), the bytes this skb holds, at
 * most SL_DNS_BUF: enough for the header and question (trust) and, for
 * user space, every record that fits. */
static __always_inline __u32 sl_dns_caplen(const struct __sk_buff *skb, const struct sl_dns_loc *l)
{
	__u32 n = l->len;

	if (l->off >= skb->len)
		return 0;
	if (n > skb->len - l->off)
		n = skb->len - l->off;
	return n > SL_DNS_BUF ? SL_DNS_BUF : n;
}

/*
 * Walk the name at @off: sc->lab[0..*nlab) get the offsets of its labels
 * (root excluded), *end the offset after the name where it was written.
 * Returns 0, or -1 if malformed (label type 01/10, label past the end,
 * forward or self pointer, more than 255 bytes or too many steps).
 * One bpf_loop step per label or pointer (the verifier sees one step).
 */

#endif /* SL_LEARN_MSG_H */
