/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * event.c - events as the reference classifier sees them (docs/events.md):
 * the config fields of `log ...;`, which results are events and with what
 * verdict and reason, and the header fields user space reads from an
 * event's bytes (source address and port, ICMP code).  Pure.
 */
#include <string.h>
#include <sys/socket.h>

#include "sl.h"
#include "image/event.h"

void sl_event_cfg(const struct sl_ruleset *rs, struct sl_config *cfg)
{
	cfg->log_drops = rs->log_drops;
	cfg->log_pass = rs->log_pass;
	cfg->log_snap = rs->log_snap;
	cfg->log_rate = rs->log_rate;
}

/* Whether the result was a drop before audit mode turned it into a pass. */
static bool would_drop(const struct sl_image *img, const struct sl_result *res)
{
	int ri;

	if (res->verdict == SL_V_DROP)
		return true;
	if (img->cfg.mode != SL_MODE_AUDIT)
		return false;
	switch (res->reason) {
	case SL_R_MALFORMED:
		return true;
	case SL_R_POLICY:
	case SL_R_NEAR_MISS:
		return img->cfg.policy != SL_POLICY_ALLOW;
	case SL_R_RULE:
		ri = sl_image_rule_of_slot(img, res->rule);
		return ri >= 0 && img->rs && img->rs->rules[ri].action == SL_ACT_DENY;
	default:
		return false;
	}
}

bool sl_event_expect(const struct sl_image *img, const struct sl_result *res, uint8_t *verdict)
{
	int ri;

	if (would_drop(img, res)) {
		*verdict = res->verdict == SL_V_DROP ? SL_EV_DROP : SL_EV_AUDIT_DROP;
		return img->cfg.log_drops;
	}
	*verdict = SL_EV_PASS;
	if (img->cfg.log_pass == SL_LOGP_ALL)
		return res->reason <= SL_R_NEAR_MISS;
	if (img->cfg.log_pass == SL_LOGP_RULES && res->reason == SL_R_RULE) {
		ri = sl_image_rule_of_slot(img, res->rule);
		return ri >= 0 && img->rs && img->rs->rules[ri].log;
	}
	return false;
}

const char *sl_event_verdict(uint8_t verdict)
{
	switch (verdict) {
	case SL_EV_DROP:       return "drop";
	case SL_EV_AUDIT_DROP: return "audit-drop";
	case SL_EV_PASS:       return "pass";
	}
	return "?";
}

const char *sl_event_reason(uint8_t verdict, uint8_t reason, uint8_t flags)
{
	if (reason == SL_R_MALFORMED)
		return "malformed";
	if ((flags & SL_RF_FRAGMENT) && verdict != SL_EV_PASS)
		return "fragment";
	switch (reason) {
	case SL_R_RULE:      return verdict == SL_EV_PASS ? "allow" : "deny";
	case SL_R_POLICY:    return "policy";
	case SL_R_NEAR_MISS: return "near-miss";
	case SL_R_NON_IP:    return "non-ip";
	case SL_R_CONTROL:   return "control";
	}
	return "?";
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

int sl_event_hdr(const uint8_t *b, size_t n, bool l3, struct sl_ev_hdr *h)
{
	size_t off = 0, l4 = 0;
	uint16_t et;
	uint8_t proto, v;
	bool frag = false;

	memset(h, 0, sizeof(*h));
	h->sport = h->dport = -1;
	h->icmp_code = -1;
	if (!l3) {
		if (n < 14)
			return -1;
		et = rd16(b + 12);
		off = 14;
		for (int i = 0; i < SL_MAX_VLANS && (et == 0x8100 || et == 0x88a8); i++) {
			if (n < off + 4)
				return -1;
			et = rd16(b + off + 2);
			off += 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return -1;
	}
	if (n < off + 1)
		return -1;
	v = b[off] >> 4;
	if (v == 4) {
		if (n < off + 20)
			return -1;
		h->family = 4;
		memcpy(h->saddr, b + off + 12, 4);
		memcpy(h->daddr, b + off + 16, 4);
		proto = b[off + 9];
		frag = (rd16(b + off + 6) & 0x1fff) != 0;
		l4 = off + (size_t)(b[off] & 15) * 4;
	} else if (v == 6) {
		if (n < off + 40)
			return -1;
		h->family = 6;
		memcpy(h->saddr, b + off + 8, 16);
		memcpy(h->daddr, b + off + 24, 16);
		proto = b[off + 6];
		l4 = off + 40;
		for (int i = 0; i < SL_MAX_EXTHDRS; i++) {
			if (proto != 0 && proto != 43 && proto != 44 && proto != 51 && proto != 60)
				break;
			if (n < l4 + 8)
				return 0;       /* the source address is known, the port is not */
			if (proto == 44) {
				frag = (rd16(b + l4 + 2) & 0xfff8) != 0;
				proto = b[l4];
				l4 += 8;
			} else {
				uint8_t nh = b[l4];

				l4 += proto == 51 ? ((size_t)b[l4 + 1] + 2) * 4 : ((size_t)b[l4 + 1] + 1) * 8;
				proto = nh;
			}
		}
	} else {
		return -1;
	}
	if (frag || n < l4 + 4)
		return 0;
	if (proto == 6 || proto == 17) {
		h->sport = rd16(b + l4);
		h->dport = rd16(b + l4 + 2);
	} else if (proto == 1 || proto == 58) {
		h->icmp_code = b[l4 + 1];
	}
	return 0;
}
