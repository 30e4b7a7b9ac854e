/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * icmp_err.h - ICMP errors are judged by the packet they quote
 * (docs/datapath.md §1 step 7): ICMPv4 3 (unreachable, incl. "fragmentation
 * needed"), 11 (time exceeded), 12 (parameter problem); ICMPv6 1-4
 * (unreachable, packet too big, time exceeded, parameter problem).
 *
 * The quote is the packet that travelled the other way, so it is parsed in
 * the opposite direction: an inbound error quotes one of our outbound
 * packets and is judged by that packet's destination and destination port,
 * an outbound error by the quote's source and source port.  Whatever router
 * sent the error, it passes exactly when the quoted flow would pass (so
 * Path-MTU discovery works through sluice), and is credited to that flow's
 * rule.
 *
 * The quote must hold its whole IP header (IPv4 options, IPv6 extension
 * headers) and the first 8 bytes of its L4 header (RFC 792); a non-first
 * fragment's quote needs no L4 bytes.  A shorter or malformed quote makes
 * the packet malformed.  An error that is control traffic itself (control.h,
 * e.g. to ff02::/16) passes as such: its quote is not looked at.  A quoted ICMP error is judged as ICMP, not
 * followed again.
 *
 * Verification cost: the hook wrappers parse through a global function
 * (sluice.bpf.c), so that the quote's walk is verified once, not once per
 * path through the outer headers (the IPv6 extension-header walk twice over,
 * inlined, exceeds the verifier's 1M-instruction limit).
 */
#ifndef SL_ICMP_ERR_H
#define SL_ICMP_ERR_H

#include "parse.h"
#include "control.h"
#include "maps.h"          /* cfg */

#define SL_ICMP_HDR_LEN  8      /* type, code, checksum, 4 bytes of rest */
#define SL_QUOTE_L4_LEN  8      /* L4 bytes a quote must hold */

/* Is the parsed (non-fragment) ICMP / ICMPv6 packet an error with a quote? */
static __always_inline int sl_icmp_is_err(const struct sl_pinfo *pi)
{
	__u8 t = pi->icmp_type;

	if (pi->frag)
		return 0;
	if (pi->family == 4)
		return pi->proto == IPPROTO_ICMP && (t == 3 || t == 11 || t == 12);
	return pi->proto == SL_NEXTHDR_ICMP && t >= 1 && t <= 4;
}

/* The tuple of a quote, as it will be judged. */
struct sl_quote {
	__u32 daddr[4];         /* remote address (in the quote's direction) */
	__u16 port;             /* remote port */
	__u8  proto;
	__u8  frag;
	__u8  icmp_type;
	__u8  pad[3];
};

/*
 * The ICMP error's header is at @l4off of a @family packet: parse the
 * quote in direction @qdir into @q.
 */
static __always_inline int sl_parse_quote(void *data, void *data_end, __u32 l4off,
					  __u32 family, int qdir, struct sl_quote *q)
{
	struct sl_cursor c = { .data = data, .data_end = data_end, .off = l4off & SL_OFF_MASK };
	struct sl_pinfo ip;
	__u8 *l4;
	int rc;

	if (!sl_cur_ptr(&c, SL_ICMP_HDR_LEN))
		return SL_PR_SHORT;
	sl_cur_adv(&c, SL_ICMP_HDR_LEN);
	__builtin_memset(&ip, 0, sizeof(ip));
	if (family == 4)
		rc = sl_parse_ip4(&c, qdir, &ip);
	else
		rc = sl_parse_ip6(&c, qdir, &ip);
	if (rc)
		return rc;
	__builtin_memset(q, 0, sizeof(*q));
	if (!ip.frag) {
		l4 = sl_cur_ptr(&c, SL_QUOTE_L4_LEN);
		if (!l4)
			return SL_PR_SHORT;
		if (ip.proto == IPPROTO_TCP || ip.proto == IPPROTO_UDP)
			q->port = qdir == SL_DIR_IN ? ((__u16)l4[0] << 8) | l4[1]
						    : ((__u16)l4[2] << 8) | l4[3];
		else if (ip.proto == IPPROTO_ICMP || ip.proto == SL_NEXTHDR_ICMP)
			q->icmp_type = l4[0];
	}
	__builtin_memcpy(q->daddr, ip.daddr, sizeof(q->daddr));
	q->proto = ip.proto;
	q->frag = ip.frag;
	return SL_PR_OK;
}

/* The judged tuple of @pi becomes the quote's; laddr, lport stay the outer packet's. */
static __always_inline void sl_quote_apply(struct sl_pinfo *pi, const struct sl_quote *q)
{
	__builtin_memcpy(pi->daddr, q->daddr, sizeof(pi->daddr));
	pi->proto = q->proto;
	pi->frag = q->frag;
	pi->port = q->port;
	pi->icmp_type = q->icmp_type;
	pi->icmp_err = 1;
}

#endif /* SL_ICMP_ERR_H */
