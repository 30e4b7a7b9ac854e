/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control.h - link-local control traffic a host cannot live without
 * (DESIGN.md §2, docs/datapath.md §2 step 3), passed unjudged unless
 * `control filter;`.  Recognized on the packet's own headers:
 *   both directions: to loopback, to link-local multicast (224.0.0.0/24,
 *                    ff02::/16), ICMPv6 neighbour and router discovery
 *                    (133-137) where it can be that (sl_is_nd: hop limit
 *                    255, the destination, the length; include/sluice.h
 *                    SL_ND_*), returned as SL_CTL_ND and counted apart;
 *   inbound also:    from an IPv6 link-local source (fe80::/10), DHCPv4
 *                    replies (udp 67 -> 68), DHCPv6 to a client (udp 547 -> 546).
 * An ICMP error is checked before its quote is parsed (the hook wrappers),
 * so one whose quote was parsed (pi->icmp_err) is not control.
 *
 * Evaluated here, in the classifier, on the parsed fields, never by the
 * parser: a flag the parser computed would be a known constant on each of
 * its paths, and the verifier would walk everything after it twice (it
 * costs 2x the instructions verified).
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include "parse.h"

enum { SL_CTL_NO = 0, SL_CTL_YES, SL_CTL_ND };

/*
 * ICMPv6 133-137 that can be neighbour or router discovery (RFC 4861 §6.1.1,
 * §6.1.2, §7.1.1, §7.1.2, §8.1): hop limit 255 (a node discards anything
 * else, so a packet without it is not ND, whatever it claims), no extension
 * header (nd_len 0), a sane length by destination (@a0: its first word,
 * host order): link-local (fe80::/10, ff02::/16) up to the minimum MTU's
 * payload; any other unicast only NS and NA (NUD probes, solicited
 * advertisements), no bigger than a message with its options.  A global
 * function, called only for ICMPv6 (sl_is_control): verified once instead of
 * at each of the classifier's and the ICMP-error parser's call sites.
 */
__noinline int sl_is_nd(const struct sl_pinfo *pi, __u32 a0)
{
	__u32 t, n;

	if (!pi)
		return 0;
	t = pi->icmp_type;
	n = pi->nd_len;
	if (pi->proto != SL_NEXTHDR_ICMP || pi->frag || t < 133 || t > 137 ||
	    pi->hoplimit != 255 || n < SL_ND_MIN)
		return 0;
	if ((a0 >> 16) == 0xff02 || (a0 >> 22) == (0xfe80 >> 6))
		return n <= SL_ND_MAX_LINK;
	return (a0 >> 24) != 0xff && (t == 135 || t == 136) &&
	       n >= SL_ND_MIN_NSNA && n <= SL_ND_MAX_UNICAST;
}

/* SL_CTL_NO, SL_CTL_YES (control), SL_CTL_ND (control: discovery, counted apart). */
static __always_inline int sl_is_control(const struct sl_pinfo *pi)
{
	const __u32 *d = pi->dir == SL_DIR_IN ? pi->laddr : pi->daddr;   /* the destination */
	__u32 a0 = bpf_ntohl(d[0]);

	if (pi->icmp_err)
		return 0;
	if (pi->family == 4) {
		if ((a0 >> 24) == 127 || (a0 >> 8) == 0xe00000)
			return 1;
		return pi->dir == SL_DIR_IN && pi->proto == IPPROTO_UDP && !pi->frag &&
		       pi->port == 67 && pi->lport == 68;
	}
	if ((a0 >> 16) == 0xff02)
		return pi->proto == SL_NEXTHDR_ICMP && sl_is_nd(pi, a0) ? SL_CTL_ND : SL_CTL_YES;
	if (!d[0] && !d[1] && !d[2] && d[3] == bpf_htonl(1))
		return 1;
	if (pi->proto == SL_NEXTHDR_ICMP && sl_is_nd(pi, a0))
		return SL_CTL_ND;
	if (pi->dir != SL_DIR_IN)
		return 0;
	if ((bpf_ntohl(pi->daddr[0]) >> 22) == (0xfe80 >> 6))
		return 1;       /* from fe80::/10 */
	return pi->proto == IPPROTO_UDP && !pi->frag && pi->port == 547 && pi->lport == 546;
}

#endif /* SL_CONTROL_H */
