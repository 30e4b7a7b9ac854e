/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * classify.c - the reference classifier (the oracle); its frame parser is
 * frame.c.
 *
 * The classifier decides a packet by the *semantics* of DESIGN.md section 2
 * and docs/datapath.md section 2: first match over img->rs->rules in file
 * order, checking each rule's CIDRs, protocol lines and ports directly.  It
 * never looks at the compiled tables (img->dst4/dst6/ports): tests compare
 * it with those tables and with the BPF program, so it must stay
 * independent of them.  It uses img->slot for counter slots and img->cfg
 * for policy, mode and control_pass.
 */
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

/* -------------------------------------------------------- classifier */

static int pslot_of(uint8_t proto)
{
	switch (proto) {
	case 6:  return SL_P_TCP;
	case 17: return SL_P_UDP;
	case 1:  return SL_P_ICMP;
	case 58: return SL_P_ICMP6;
	default: return SL_P_OTHER;
	}
}

static bool cidr_contains(const struct sl_cidr *c, uint8_t family, const uint8_t *a)
{
	unsigned full, rem;

	if (c->family != family)
		return false;
	full = c->plen / 8;
	rem = c->plen % 8;
	if (memcmp(c->addr, a, full))
		return false;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		if ((c->addr[full] & m) != (a[full] & m))
			return false;
	}
	return true;
}

static bool rule_covers(const struct sl_rule *r, uint8_t family, const uint8_t *a)
{
	for (size_t i = 0; i < r->ndsts; i++)
		if (cidr_contains(&r->dsts[i], family, a))
			return true;
	return false;
}

static bool proto_matches(enum sl_proto lp, int slot)
{
	switch (lp) {
	case SL_PROTO_ANY:   return true;
	case SL_PROTO_TCP:   return slot == SL_P_TCP;
	case SL_PROTO_UDP:   return slot == SL_P_UDP;
	case SL_PROTO_ICMP:  return slot == SL_P_ICMP;
	case SL_PROTO_ICMP6: return slot == SL_P_ICMP6;
	}
	return false;
}

static bool line_matches(const struct sl_proto_line *l, int slot, uint16_t port,
			 bool fragment)
{
	if (!proto_matches(l->proto, slot))
		return false;
	if (fragment || l->nports == 0)
		return true;
	for (size_t i = 0; i < l->nports; i++)
		if (port >= l->ports[i].lo && port <= l->ports[i].hi)
			return true;
	return false;
}

static bool rule_matches(const struct sl_rule *r, int slot, uint16_t port, bool fragment)
{
	for (size_t i = 0; i < r->nlines; i++)
		if (line_matches(&r->lines[i], slot, port, fragment))
			return true;
	return false;
}

/*
 * Neighbour or router discovery (RFC 4861 §6.1, §7.1, §8.1; docs/datapath.md
 * §2 step 3): ICMPv6 133-137, hop limit 255, no extension header, and by
 * destination @d: link-local (fe80::/10, ff02::/16) any of the five up to
 * SL_ND_MAX_LINK bytes; other unicast NS/NA only, SL_ND_MIN_NSNA to
 * SL_ND_MAX_UNICAST bytes.
 */
static bool pkt_is_nd(const struct sl_pkt *p, const uint8_t *d)
{
	unsigned t = p->icmp_type, n = p->nd_len;
	bool link = (d[0] == 0xff && d[1] == 0x02) || (d[0] == 0xfe && (d[1] & 0xc0) == 0x80);

	if (p->proto != 58 || p->fragment || t < 133 || t > 137 || p->hop_limit != 255 ||
	    n < SL_ND_MIN)
		return false;
	if (link)
		return n <= SL_ND_MAX_LINK;
	return d[0] != 0xff && (t == 135 || t == 136) && n >= SL_ND_MIN_NSNA &&
	       n <= SL_ND_MAX_UNICAST;
}

int sl_pkt_is_control(const struct sl_pkt *p)
{
	const uint8_t *d = p->dst, *s = p->src;

	if (p->kind != SL_PK_IP)
		return false;
	if (p->family == AF_INET) {
		if (d[0] == 127)
			return true;
		if (d[0] == 224 && d[1] == 0 && d[2] == 0)
			return true;
		/* inbound DHCPv4 reply: udp 67 -> 68 */
		return p->inbound && p->proto == 17 && !p->fragment && p->sport == 67 &&
		       p->port == 68;
	}
	if (p->family == AF_INET6) {
		static const uint8_t lo6[16] = { [15] = 1 };

		/* link-local multicast, loopback, then neighbour and router
		 * discovery (ICMPv6 in IPv6 only), counted apart wherever it goes */
		if (d[0] == 0xff && d[1] == 0x02)
			return pkt_is_nd(p, d) ? SL_PKT_CTL_ND : SL_PKT_CTL_YES;
		if (!memcmp(d, lo6, 16))
			return true;
		if (pkt_is_nd(p, d))
			return SL_PKT_CTL_ND;
		if (!p->inbound)
			return false;
		/* inbound: from fe80::/10, DHCPv6 to a client (udp 547 -> 546) */
		if (s[0] == 0xfe && (s[1] & 0xc0) == 0x80)
			return true;
		return p->proto == 17 && !p->fragment && p->sport == 547 && p->port == 546;
	}
	return false;
}

void sl_pkt_judged(const struct sl_pkt *p, bool quote, struct sl_pkt *j)
{
	bool in = p->inbound;

	memset(j, 0, sizeof(*j));
	j->kind = p->kind;
	j->family = p->family;
	if (p->kind != SL_PK_IP)
		return;
	if (quote && p->icmp_err && p->quote_bad) {
		j->kind = SL_PK_MALFORMED;
		return;
	}
	if (quote && p->icmp_err) {
		/* the quote travelled the other way */
		in = !in;
		j->icmp_err = true;
		j->proto = p->q.proto;
		j->fragment = p->q.fragment;
		j->icmp_type = p->q.icmp_type;
		memcpy(j->dst, in ? p->q.src : p->q.dst, 16);
		if (!j->fragment && (j->proto == 6 || j->proto == 17))
			j->port = in ? p->q.sport : p->q.dport;
		return;
	}
	j->proto = p->proto;
	j->fragment = p->fragment;
	j->icmp_type = p->icmp_type;
	memcpy(j->dst, in ? p->src : p->dst, 16);
	j->port = in ? p->sport : p->port;
}

/*
 * Learned addresses (docs/dns.md): a rule also covers A if A is learned,
 * unexpired at @now, for a question name that the rule lists (exactly, or
 * strictly below one of its "*.S").  Decided here by that definition alone,
 * independently of the name classes the compiler builds.
 */
static bool rule_learned(const struct sl_rule *r, const struct sl_pkt *p,
			 const struct sl_learned_addr *L, size_t nL, uint64_t now)
{
	for (size_t i = 0; i < nL; i++) {
		if (L[i].family != p->family || L[i].expires <= now)
			continue;
		if (memcmp(L[i].addr, p->dst, p->family == AF_INET ? 4 : 16))
			continue;
		for (size_t h = 0; h < r->nhosts; h++)
			if (sl_host_matches(&r->hosts[h], L[i].qname))
				return true;
	}
	return false;
}

static void classify_core(const struct sl_image *img, const struct sl_pkt *pkt, uint32_t gso_segs,
			  const struct sl_learned_addr *L, size_t nL, uint64_t now,
			  struct sl_result *res)
{
	const struct sl_ruleset *rs = img->rs;
	int slot, first_cover = -1, match = -1;
	struct sl_pkt jp;
	const struct sl_pkt *p = &jp;   /* the judged tuple */
	bool drop;
	int ctl;

	memset(res, 0, sizeof(*res));
	res->rule = SL_NO_RULE;
	res->packets = gso_segs ? gso_segs : 1;

	/* Control traffic is recognized on the packet's own headers, before an
	 * ICMP error's quote is looked at (docs/datapath.md §1 step 7). */
	ctl = pkt->kind == SL_PK_IP && img->cfg.control_pass ? sl_pkt_is_control(pkt) : 0;
	sl_pkt_judged(pkt, !ctl, &jp);
	if (p->kind == SL_PK_MALFORMED) {
		res->reason = SL_R_MALFORMED;
		drop = true;
		goto out;
	}
	if (p->kind != SL_PK_IP) {
		res->reason = SL_R_NON_IP;
		res->verdict = SL_V_PASS;
		return;
	}

	slot = pslot_of(p->proto);
	res->proto = p->proto;
	res->port = (!p->fragment && (slot == SL_P_TCP || slot == SL_P_UDP)) ? p->port : 0;
	if (p->fragment)
		res->flags |= SL_RF_FRAGMENT;
	if (p->icmp_err)
		res->flags |= SL_RF_ICMP_ERR;
	if (ctl) {
		if (ctl == SL_PKT_CTL_ND)
			res->flags |= SL_RF_ND;
		res->reason = SL_R_CONTROL;
		res->verdict = SL_V_PASS;
		return;
	}

	for (size_t i = 0; rs && i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];

		if (!rule_covers(r, p->family, p->dst) && !(nL && rule_learned(r, p, L, nL, now)))
			continue;
		if (first_cover < 0)
			first_cover = (int)i;
		if (rule_matches(r, slot, res->port, p->fragment)) {
			match = (int)i;
			break;
		}
	}
	if (match >= 0) {
		res->reason = SL_R_RULE;
		res->rule = img->slot[match];
		drop = rs->rules[match].action != SL_ACT_ALLOW;
	} else {
		res->reason = first_cover >= 0 ? SL_R_NEAR_MISS : SL_R_POLICY;
		if (first_cover >= 0)
			res->rule = img->slot[first_cover];
		drop = img->cfg.policy != SL_POLICY_ALLOW;
	}
out:
	res->verdict = (drop && img->cfg.mode != SL_MODE_AUDIT) ? SL_V_DROP : SL_V_PASS;
}

void sl_classify_pkt(const struct sl_image *img, const struct sl_pkt *p,
		     uint32_t gso_segs, struct sl_result *res)
{
	classify_core(img, p, gso_segs, NULL, 0, 0, res);
}

void sl_classify_pkt_learned(const struct sl_image *img, const struct sl_pkt *p,
			     uint32_t gso_segs, const struct sl_learned_addr *learned,
			     size_t nlearned, uint64_t now, struct sl_result *res)
{
	classify_core(img, p, gso_segs, learned, nlearned, now, res);
}

void sl_classify_frame_dir(const struct sl_image *img, const void *frame, size_t len,
			   int dir, uint32_t gso_segs, struct sl_result *res)
{
	struct sl_pkt p;

	if (sl_pkt_parse(frame, len, &p) < 0) {
		memset(&p, 0, sizeof(p));
		p.kind = SL_PK_MALFORMED;
	}
	p.inbound = dir == SL_DIR_IN;
	sl_classify_pkt(img, &p, gso_segs, res);
}

void sl_classify_frame(const struct sl_image *img, const void *frame, size_t len,
		       uint32_t gso_segs, struct sl_result *res)
{
	sl_classify_frame_dir(img, frame, len, SL_DIR_OUT, gso_segs, res);
}

const char *sl_reason_name(enum sl_reason r)
{
	switch (r) {
	case SL_R_RULE:      return "rule";
	case SL_R_POLICY:    return "policy";
	case SL_R_NEAR_MISS: return "near_miss";
	case SL_R_MALFORMED: return "malformed";
	case SL_R_NON_IP:    return "non_ip";
	case SL_R_CONTROL:   return "control";
	}
	return "?";
}
