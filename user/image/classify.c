/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * classify.c - the frame parser and the reference classifier (the oracle).
 *
 * The classifier decides a packet by the *semantics* of DESIGN.md section 2
 * and docs/datapath.md section 2: first match over img->rs->rules in file
 * order, checking each rule's CIDRs, protocol lines and ports directly.  It
 * never looks at the compiled tables (img->dst4/dst6/ports): tests compare
 * it with those tables and with the BPF program, so it must stay
 * independent of them.  It uses img->slot for counter slots and img->cfg
 * for policy, mode and control_pass.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

/* ------------------------------------------------------------ parser */

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

static int malformed(struct sl_pkt *p)
{
	uint8_t family = p->family;

	memset(p, 0, sizeof(*p));
	p->kind = SL_PK_MALFORMED;
	p->family = family;
	return 0;
}

/* L4 header (datapath.md section 1 step 6), at offset @off. */
static int parse_l4(const uint8_t *b, size_t len, size_t off, struct sl_pkt *p)
{
	if (p->fragment)
		return 0;
	switch (p->proto) {
	case 6: case 17: case 1: case 58:
		if (off > len || len - off < 4)
			return malformed(p);
		if (p->proto == 6 || p->proto == 17)
			p->port = rd16(b + off + 2);
		else
			p->icmp_type = b[off];
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Returns 0 whenever @p was filled: p->kind says IP, non-IP or malformed.
 * -EINVAL only for a NULL argument.
 */
int sl_pkt_parse(const void *frame, size_t len, struct sl_pkt *p)
{
	const uint8_t *b = frame;
	size_t off;
	uint16_t et;
	int nvlan = 0;

	if (!p)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	if (!frame && len)
		return -EINVAL;
	if (len < 14)
		return malformed(p);
	et = rd16(b + 12);
	off = 14;
	while (et == 0x8100 || et == 0x88a8) {
		if (nvlan == SL_MAX_VLANS)
			return malformed(p);
		if (len - off < 4)
			return malformed(p);
		et = rd16(b + off + 2);
		off += 4;
		nvlan++;
	}

	if (et == 0x0800) {
		unsigned ihl;

		p->family = AF_INET;
		if (len - off < 20)
			return malformed(p);
		if ((b[off] >> 4) != 4)
			return malformed(p);
		ihl = b[off] & 0x0f;
		if (ihl < 5 || len - off < ihl * 4u)
			return malformed(p);
		p->kind = SL_PK_IP;
		p->proto = b[off + 9];
		memcpy(p->dst, b + off + 16, 4);
		p->fragment = (rd16(b + off + 6) & 0x1fff) != 0;
		return parse_l4(b, len, off + ihl * 4u, p);
	}
	if (et == 0x86dd) {
		uint8_t nh;
		int n;

		p->family = AF_INET6;
		if (len - off < 40)
			return malformed(p);
		if ((b[off] >> 4) != 6)
			return malformed(p);
		nh = b[off + 6];
		memcpy(p->dst, b + off + 24, 16);
		off += 40;
		for (n = 0; nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51; n++) {
			const uint8_t *h;

			if (n == SL_MAX_EXTHDRS)
				return malformed(p);
			if (off > len || len - off < 8)
				return malformed(p);
			h = b + off;
			if (nh == 44) {
				if ((rd16(h + 2) >> 3) != 0) {
					p->fragment = true;
					nh = h[0];
					break;
				}
				off += 8;
			} else if (nh == 51) {
				off += ((size_t)h[1] + 2) * 4;
			} else {
				off += ((size_t)h[1] + 1) * 8;
			}
			nh = h[0];
		}
		p->kind = SL_PK_IP;
		p->proto = nh;
		return parse_l4(b, len, off, p);
	}
	p->kind = SL_PK_NON_IP;
	return 0;
}

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

static bool is_control(const struct sl_pkt *p)
{
	const uint8_t *d = p->dst;

	if (p->family == AF_INET) {
		if (d[0] == 127)
			return true;
		if (d[0] == 224 && d[1] == 0 && d[2] == 0)
			return true;
	} else if (p->family == AF_INET6) {
		static const uint8_t lo6[16] = { [15] = 1 };

		if (!memcmp(d, lo6, 16))
			return true;
		if (d[0] == 0xff && d[1] == 0x02)
			return true;
	}
	/* Neighbour and router discovery: ICMPv6 in IPv6 only. */
	if (p->family == AF_INET6 && p->proto == 58 && !p->fragment &&
	    p->icmp_type >= 133 && p->icmp_type <= 137)
		return true;
	return false;
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

static void classify_core(const struct sl_image *img, const struct sl_pkt *p, uint32_t gso_segs,
			  const struct sl_learned_addr *L, size_t nL, uint64_t now,
			  struct sl_result *res)
{
	const struct sl_ruleset *rs = img->rs;
	int slot, first_cover = -1, match = -1;
	bool drop;

	memset(res, 0, sizeof(*res));
	res->rule = SL_NO_RULE;
	res->packets = gso_segs ? gso_segs : 1;

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

	if (img->cfg.control_pass && is_control(p)) {
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

void sl_classify_frame(const struct sl_image *img, const void *frame, size_t len,
		       uint32_t gso_segs, struct sl_result *res)
{
	struct sl_pkt p;

	if (sl_pkt_parse(frame, len, &p) < 0) {
		memset(&p, 0, sizeof(p));
		p.kind = SL_PK_MALFORMED;
	}
	sl_classify_pkt(img, &p, gso_segs, res);
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
