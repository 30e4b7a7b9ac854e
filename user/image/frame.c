/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * frame.c - the reference frame parser (docs/datapath.md section 1): an
 * Ethernet frame to the struct sl_pkt the reference classifier judges,
 * byte for byte what the data path parses (bpf/parse.h, bpf/icmp_err.h),
 * written plainly and independently of it: both addresses and ports, and
 * for an ICMP error the packet it quotes.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

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

/* One IP header chain at @off: what it says, and where its L4 header is. */
struct ip_hdr {
	uint8_t src[16], dst[16];
	uint8_t proto;
	bool fragment;
	size_t l4;
	uint8_t hop_limit;      /* IPv6 */
	uint16_t nd_len;        /* IPv6: payload length if no extension header */
};

/* 0, or -1 if truncated or malformed. */
static int parse_ip(const uint8_t *b, size_t len, size_t off, uint8_t family, struct ip_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (family == AF_INET) {
		unsigned ihl;

		if (off > len || len - off < 20 || (b[off] >> 4) != 4)
			return -1;
		ihl = b[off] & 0x0f;
		if (ihl < 5 || len - off < ihl * 4u)
			return -1;
		h->proto = b[off + 9];
		memcpy(h->src, b + off + 12, 4);
		memcpy(h->dst, b + off + 16, 4);
		h->fragment = (rd16(b + off + 6) & 0x1fff) != 0;
		h->l4 = off + ihl * 4u;
		return 0;
	}
	if (off > len || len - off < 40 || (b[off] >> 4) != 6)
		return -1;
	{
		uint8_t nh = b[off + 6];
		int n;

		memcpy(h->src, b + off + 8, 16);
		memcpy(h->dst, b + off + 24, 16);
		h->hop_limit = b[off + 7];
		if (!(nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51) &&
		    len - off - 40 == rd16(b + off + 4))
			h->nd_len = rd16(b + off + 4);  /* the whole rest of the frame */
		off += 40;
		for (n = 0; nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51; n++) {
			const uint8_t *x;

			if (n == SL_MAX_EXTHDRS || off > len || len - off < 8)
				return -1;
			x = b + off;
			if (nh == 44) {
				if ((rd16(x + 2) >> 3) != 0) {
					h->fragment = true;
					nh = x[0];
					break;
				}
				off += 8;
			} else if (nh == 51) {
				off += ((size_t)x[1] + 2) * 4;
			} else {
				off += ((size_t)x[1] + 1) * 8;
			}
			nh = x[0];
		}
		h->proto = nh;
		h->l4 = off;
	}
	return 0;
}

static bool is_icmp_error(uint8_t family, uint8_t proto, uint8_t type)
{
	if (family == AF_INET)
		return proto == 1 && (type == 3 || type == 11 || type == 12);
	return proto == 58 && type >= 1 && type <= 4;
}

/*
 * The quote of an ICMP error whose header is at @off: the ICMP header (8
 * bytes), a whole IP header chain of the same family, and 8 bytes of its
 * L4 header unless it is a non-first fragment.  Sets p->quote_bad if not.
 */
static void parse_quote(const uint8_t *b, size_t len, size_t off, struct sl_pkt *p)
{
	struct ip_hdr h;
	struct sl_pkt_quote *q = &p->q;

	p->icmp_err = true;
	if (len - off < 8 || parse_ip(b, len, off + 8, p->family, &h)) {
		p->quote_bad = true;
		return;
	}
	memcpy(q->src, h.src, 16);
	memcpy(q->dst, h.dst, 16);
	q->proto = h.proto;
	q->fragment = h.fragment;
	if (h.fragment)
		return;
	if (h.l4 > len || len - h.l4 < 8) {
		p->quote_bad = true;
		return;
	}
	if (h.proto == 6 || h.proto == 17) {
		q->sport = rd16(b + h.l4);
		q->dport = rd16(b + h.l4 + 2);
	} else if (h.proto == 1 || h.proto == 58) {
		q->icmp_type = b[h.l4];
	}
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
		if (p->proto == 6 || p->proto == 17) {
			p->sport = rd16(b + off);
			p->port = rd16(b + off + 2);
		} else {
			p->icmp_type = b[off];
			if (is_icmp_error(p->family, p->proto, p->icmp_type))
				parse_quote(b, len, off, p);
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Returns 0 whenever @p was filled: p->kind says IP, non-IP or malformed.
 * -EINVAL only for a NULL argument.  p->inbound is left false.
 */
int sl_pkt_parse(const void *frame, size_t len, struct sl_pkt *p)
{
	const uint8_t *b = frame;
	struct ip_hdr h;
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
	if (et != 0x0800 && et != 0x86dd) {
		p->kind = SL_PK_NON_IP;
		return 0;
	}
	p->family = et == 0x0800 ? AF_INET : AF_INET6;
	if (parse_ip(b, len, off, p->family, &h))
		return malformed(p);
	p->kind = SL_PK_IP;
	p->proto = h.proto;
	p->fragment = h.fragment;
	p->hop_limit = h.hop_limit;
	p->nd_len = h.nd_len;
	memcpy(p->dst, h.dst, 16);
	memcpy(p->src, h.src, 16);
	return parse_l4(b, len, h.l4, p);
}
