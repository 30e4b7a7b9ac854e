/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.h - header parsing helpers for the sluice data path, in the style of
 * xdp-tools' parsing_helpers.h: a cursor walks the frame, every helper does
 * ONE bounds check for the header it reads and advances the cursor.
 *
 * Offsets are kept as a bounded scalar (masked with SL_OFF_MASK) rather than
 * as a growing packet pointer, so that every iteration of the VLAN and IPv6
 * extension-header loops presents the verifier with the same state (cheap
 * verification, state pruning works) whatever the header lengths were.
 *
 * Helpers return SL_PR_OK, SL_PR_SHORT (a header is cut short: malformed,
 * unless the skb has non-linear bytes left, see sluice.bpf.c) or
 * SL_PR_BAD (malformed whatever the length).  Semantics: docs/datapath.md §1.
 */
#ifndef SL_PARSE_H
#define SL_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice.h"

/*
 * Largest offset the parser can reach: 14 (eth) + 2*4 (vlan) + 40 (ipv6) +
 * 8 * 2048 (ext headers) + 4 (l4) = 16466 < 0x7fff.  Masking with it is a
 * no-op on real values and tells the verifier the offset is bounded.
 */
#define SL_OFF_MASK 0x7fff

enum sl_parse_rc {
	SL_PR_OK = 0,
	SL_PR_NON_IP,
	SL_PR_SHORT,            /* ran out of bytes */
	SL_PR_BAD,              /* malformed whatever the length */
};

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define SL_NEXTHDR_HOP      0
#define SL_NEXTHDR_TCP      6
#define SL_NEXTHDR_UDP      17
#define SL_NEXTHDR_ROUTING  43
#define SL_NEXTHDR_FRAGMENT 44
#define SL_NEXTHDR_AUTH     51
#define SL_NEXTHDR_ICMP     58
#define SL_NEXTHDR_DEST     60

/*
 * What the parser learns about one packet: the tuple the rules judge.  In
 * direction SL_DIR_OUT that is the destination address and port, in
 * SL_DIR_IN the source address and port; for an ICMP error, the quoted
 * packet's (icmp_err.h).
 */
struct sl_pinfo {
	__u32 daddr[4];         /* the remote address judged, network order; IPv4 in [0] */
	__u32 laddr[4];         /* SL_DIR_IN only: the destination (control.h) */
	__u8  family;           /* 4 or 6 */
	__u8  proto;            /* final IP protocol */
	__u8  frag;             /* non-first fragment */
	__u8  icmp_type;        /* ICMP / ICMPv6 type */
	__u16 port;             /* TCP/UDP remote port, host order */
	__u16 lport;            /* SL_DIR_IN only: the destination port */
	__u8  dir;              /* enum sl_dir parsed for */
	__u8  icmp_err;         /* an ICMP error: the tuple above is its quote's */
	__u16 l4off;            /* offset of the L4 header from the start of the frame */
	__u8  hoplimit;         /* IPv6 hop limit (general parser only: control.h) */
	__u8  pad;
	__u16 nd_len;           /* IPv6 payload length if no extension header and it is the
				 * whole (linear) rest of the frame, else 0 (control.h) */
};

struct sl_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct sl_cursor {
	void *data;
	void *data_end;
	__u32 off;              /* from data, always <= SL_OFF_MASK */
	__u32 xdp;              /* ctx is an xdp_md (else an __sk_buff) */
	void *ctx;              /* the program's context, for SL_EXT6_WALK; NULL: none */
};

/* Pointer to @len bytes at the cursor, or NULL if they are not all present. */
static __always_inline void *sl_cur_ptr(struct sl_cursor *c, __u32 len)
{
	void *p = c->data + (c->off & SL_OFF_MASK);

	if (p + len > c->data_end)
		return NULL;
	return p;
}

static __always_inline void sl_cur_adv(struct sl_cursor *c, __u32 len)
{
	c->off = (c->off + len) & SL_OFF_MASK;
}

static __always_inline int sl_proto_is_vlan(__be16 p)
{
	return p == bpf_htons(ETH_P_8021Q) || p == bpf_htons(ETH_P_8021AD);
}

/* Ethernet + up to SL_MAX_VLANS tags; *proto = the inner EtherType. */
static __always_inline int sl_parse_eth(struct sl_cursor *c, __be16 *proto)
{
	struct ethhdr *eth = sl_cur_ptr(c, sizeof(*eth));
	__be16 p;
	int i;

	if (!eth)
		return SL_PR_SHORT;
	p = eth->h_proto;
	sl_cur_adv(c, sizeof(*eth));

#pragma unroll
	for (i = 0; i < SL_MAX_VLANS; i++) {
		struct sl_vlan_hdr *vh;

		if (!sl_proto_is_vlan(p))
			break;
		vh = sl_cur_ptr(c, sizeof(*vh));
		if (!vh)
			return SL_PR_SHORT;
		p = vh->encap_proto;
		sl_cur_adv(c, sizeof(*vh));
	}
	if (sl_proto_is_vlan(p))
		return SL_PR_BAD;       /* a third tag */
	*proto = p;
	return SL_PR_OK;
}

/* The remote end judged (and, inbound, the local one): shared by the
 * general parser and sl_parse_fast(). */
static __always_inline void sl_pi_addr4(struct sl_pinfo *pi, const struct iphdr *iph, int dir)
{
	pi->family = 4;
	if (dir == SL_DIR_IN) {
		pi->daddr[0] = iph->saddr;
		pi->laddr[0] = iph->daddr;
	} else {
		pi->daddr[0] = iph->daddr;
	}
}

static __always_inline void sl_pi_addr6(struct sl_pinfo *pi, const struct ipv6hdr *ip6, int dir)
{
	pi->family = 6;
	if (dir == SL_DIR_IN) {
		__builtin_memcpy(pi->daddr, &ip6->saddr, 16);
		__builtin_memcpy(pi->laddr, &ip6->daddr, 16);
	} else {
		__builtin_memcpy(pi->daddr, &ip6->daddr, 16);
	}
}

/* TCP/UDP ports from the 4 bytes at @l4 (host order). */
static __always_inline void sl_pi_ports(struct sl_pinfo *pi, const __u8 *l4, int dir)
{
	__u16 sport = (__u16)l4[0] << 8 | l4[1], dport = (__u16)l4[2] << 8 | l4[3];

	if (dir == SL_DIR_IN) {
		pi->port = sport;
		pi->lport = dport;
	} else {
		pi->port = dport;
	}
}

static __always_inline int sl_parse_ip4(struct sl_cursor *c, int dir, struct sl_pinfo *pi)
{
	struct iphdr *iph = sl_cur_ptr(c, sizeof(*iph));
	__u8 vihl;
	__u32 hlen;

	if (!iph)
		return SL_PR_SHORT;
	vihl = *(__u8 *)iph;
	if ((vihl >> 4) != 4 || (vihl & 0xf) < 5)
		return SL_PR_BAD;
	hlen = (vihl & 0xf) * 4;
	if (!sl_cur_ptr(c, hlen))
		return SL_PR_SHORT;
	sl_cur_adv(c, hlen);

	sl_pi_addr4(pi, iph, dir);
	pi->proto = iph->protocol;
	pi->frag = (iph->frag_off & bpf_htons(0x1fff)) != 0;
	return SL_PR_OK;
}

static __always_inline int sl_is_exthdr(__u8 nh)
{
	return nh == SL_NEXTHDR_HOP || nh == SL_NEXTHDR_ROUTING ||
	       nh == SL_NEXTHDR_DEST || nh == SL_NEXTHDR_FRAGMENT ||
	       nh == SL_NEXTHDR_AUTH;
}

/* The 8 bytes every extension header starts with. */
struct sl_ext_hdr {
	__u8   nexthdr;
	__u8   hdrlen;
	__be16 frag_off;        /* fragment header only */
	__be32 rest;
};

/*
 * The IPv6 extension headers from @nh on (at most SL_MAX_EXTHDRS), up to
 * the L4 header or a non-first fragment.
 */
static __always_inline int sl_parse_ext6(struct sl_cursor *c, __u8 nh, struct sl_pinfo *pi)
{
	int i;

	for (i = 0; i < SL_MAX_EXTHDRS; i++) {
		struct sl_ext_hdr *eh;
		__u32 len;

		if (!sl_is_exthdr(nh))
			break;
		eh = sl_cur_ptr(c, sizeof(*eh));
		if (!eh)
			return SL_PR_SHORT;
		if (nh == SL_NEXTHDR_FRAGMENT) {
			len = 8;
			if (bpf_ntohs(eh->frag_off) >> 3) {
				pi->frag = 1;
				pi->proto = eh->nexthdr;
				return SL_PR_OK;        /* the walk stops */
			}
		} else if (nh == SL_NEXTHDR_AUTH) {
			len = ((__u32)eh->hdrlen + 2) * 4;
		} else {
			len = ((__u32)eh->hdrlen + 1) * 8;
		}
		nh = eh->nexthdr;
		sl_cur_adv(c, len);
	}
	if (sl_is_exthdr(nh))
		return SL_PR_BAD;       /* a ninth extension header */
	pi->proto = nh;
	return SL_PR_OK;
}

/*
 * How the walk above is run: inline here; sluice.bpf.c defines it as a
 * global function call for cursors that carry the program's context (its
 * loop, verified from a known offset, splits the verifier's states at every
 * header length; from an unknown one, once per iteration).
 */
#ifndef SL_EXT6_WALK
#define SL_EXT6_WALK(c, nh, pi) sl_parse_ext6(c, nh, pi)
#endif

static __always_inline int sl_parse_ip6(struct sl_cursor *c, int dir, struct sl_pinfo *pi)
{
	struct ipv6hdr *ip6 = sl_cur_ptr(c, sizeof(*ip6));
	__u8 nh;

	if (!ip6)
		return SL_PR_SHORT;
	if ((*(__u8 *)ip6 >> 4) != 6)
		return SL_PR_BAD;
	sl_pi_addr6(pi, ip6, dir);
	nh = ip6->nexthdr;
	pi->hoplimit = ip6->hop_limit;
	sl_cur_adv(c, sizeof(*ip6));
	if (!sl_is_exthdr(nh)) {        /* the common case: no extension header */
		__u16 plen = bpf_ntohs(ip6->payload_len);

		pi->proto = nh;
		if ((__u8 *)(ip6 + 1) + plen == c->data_end)
			pi->nd_len = plen;      /* what it says is all it carries */
		return SL_PR_OK;
	}
	return SL_EXT6_WALK(c, nh, pi);
}

/* L4 (not for non-first fragments): remote port or ICMP type. */
static __always_inline int sl_parse_l4(struct sl_cursor *c, int dir, struct sl_pinfo *pi)
{
	__u8 *l4;

	pi->l4off = c->off;
	if (pi->frag)
		return SL_PR_OK;
	switch (pi->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		l4 = sl_cur_ptr(c, 4);
		if (!l4)
			return SL_PR_SHORT;
		sl_pi_ports(pi, l4, dir);
		break;
	case IPPROTO_ICMP:
	case SL_NEXTHDR_ICMP:
		l4 = sl_cur_ptr(c, 4);
		if (!l4)
			return SL_PR_SHORT;
		pi->icmp_type = l4[0];
		break;
	default:
		break;
	}
	return SL_PR_OK;
}

/*
 * The common case with few branches and one bounds check per family:
 * untagged Ethernet (or, @l3, the bare IP header) carrying IPv4 without
 * options or IPv6 without extension headers, TCP or UDP, not a non-first
 * fragment.  Fills @pi exactly as the general parser below would (the
 * differential tests compare both with the reference classifier) and
 * returns 1; 0: not such a packet (nothing written), the general parser
 * decides.  In the path every branch of a cold parser costs: the general
 * one takes twice as many for these packets.
 */
static __always_inline int sl_parse_fast(void *data, void *data_end, int l3, int dir,
					 struct sl_pinfo *pi)
{
	const __u32 eh = l3 ? 0 : sizeof(struct ethhdr);
	__u8 *ip = data + eh, *l4;
	__be16 proto;

	if (data + eh + sizeof(struct iphdr) + 4 > data_end)
		return 0;
	if (l3)
		proto = (*ip >> 4) == 6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	else
		proto = ((struct ethhdr *)data)->h_proto;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)ip;

		if (*ip != 0x45 || (iph->frag_off & bpf_htons(0x1fff)) ||
		    (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP))
			return 0;
		l4 = ip + sizeof(*iph);
		__builtin_memset(pi, 0, sizeof(*pi));
		sl_pi_addr4(pi, iph, dir);
		pi->proto = iph->protocol;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)ip;

		if ((void *)(ip6 + 1) + 4 > data_end || (*ip >> 4) != 6 ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return 0;
		l4 = (__u8 *)(ip6 + 1);
		__builtin_memset(pi, 0, sizeof(*pi));
		sl_pi_addr6(pi, ip6, dir);
		pi->proto = ip6->nexthdr;
	} else {
		return 0;
	}
	pi->dir = dir;
	pi->l4off = l4 - (__u8 *)data;
	sl_pi_ports(pi, l4, dir);
	return 1;
}

/*
 * The link layer: Ethernet and its VLAN tags (@l3 = 0: TC, XDP), or only
 * the IP version nibble (@l3 = 1: cgroup_skb, which starts at the IP
 * header).  *proto = the EtherType; @c is left at the IP header.
 */
static __always_inline int sl_parse_l2(struct sl_cursor *c, int l3, __be16 *proto)
{
	__u8 *v;

	if (!l3)
		return sl_parse_eth(c, proto);
	v = sl_cur_ptr(c, 1);
	if (!v)
		return SL_PR_SHORT;
	*proto = (*v >> 4) == 6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	return SL_PR_OK;
}

/* IP and L4 from the cursor @c (at the IP header, EtherType @proto). */
static __always_inline int sl_parse_l34(struct sl_cursor *c, __be16 proto, int dir,
					struct sl_pinfo *pi)
{
	int rc;

	if (proto == bpf_htons(ETH_P_IP))
		rc = sl_parse_ip4(c, dir, pi);
	else if (proto == bpf_htons(ETH_P_IPV6))
		rc = sl_parse_ip6(c, dir, pi);
	else
		return SL_PR_NON_IP;
	if (rc)
		return rc;
	return sl_parse_l4(c, dir, pi);
}

/*
 * Parse a frame from @data to @data_end for direction @dir (SL_DIR_OUT or
 * SL_DIR_IN, a constant of the hook wrapper).  An ICMP error's quote is
 * parsed afterwards by the wrapper (icmp_err.h).  @l3 = 0: it starts with an
 * Ethernet header (TC, XDP).  @l3 = 1: it starts with the IP header
 * (cgroup_skb); the family is the version nibble.  (sluice.bpf.c runs the
 * two halves itself, its context in the cursor for SL_EXT6_WALK.)
 */
static __always_inline int sl_parse_dir(void *data, void *data_end, int l3, int dir,
					struct sl_pinfo *pi)
{
	struct sl_cursor c = { .data = data, .data_end = data_end, .off = 0 };
	__be16 proto;
	int rc;

	if (sl_parse_fast(data, data_end, l3, dir, pi))
		return SL_PR_OK;
	__builtin_memset(pi, 0, sizeof(*pi));
	pi->dir = dir;
	rc = sl_parse_l2(&c, l3, &proto);
	if (rc)
		return rc;
	return sl_parse_l34(&c, proto, dir, pi);
}

/* Outbound (the destination is judged). */
static __always_inline int sl_parse(void *data, void *data_end, int l3, struct sl_pinfo *pi)
{
	return sl_parse_dir(data, data_end, l3, SL_DIR_OUT, pi);
}

#endif /* SL_PARSE_H */
