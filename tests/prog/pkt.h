/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pkt.h - craft Ethernet frames for BPF_PROG_TEST_RUN: VLAN tags, IPv4
 * (options, fragments), IPv6 (extension header chains, fragment headers),
 * TCP/UDP/ICMP/ICMPv6/other L4, and truncation at any byte.  Checksums are
 * left zero: nothing on the data path looks at them.
 */
#ifndef SL_TEST_PKT_H
#define SL_TEST_PKT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#define PK_MAX_EXT 12
#define PK_MAX_VLAN 4

enum { PK_FRAG_NONE = 0, PK_FRAG_FIRST, PK_FRAG_LATER, PK_FRAG_LAST };

struct pk_spec {
	uint16_t ethertype;     /* 0: from family; else ARP 0x0806, LLDP 0x88cc ... */
	int nvlan;              /* VLAN tags */
	uint16_t vlan_tpid[PK_MAX_VLAN];        /* 0: 0x8100 */
	int family;             /* 4 or 6 */
	uint8_t dst[16];
	uint8_t proto;          /* final L4 protocol */
	uint16_t dport;
	uint8_t icmp_type;
	int ip4_optlen;         /* option bytes, multiple of 4, <= 40 */
	int frag;               /* PK_FRAG_*: IPv4 frag_off, or IPv6 fragment header */
	uint16_t frag_offset;   /* IPv4 LATER/LAST: offset in 8-byte units (0: 185/370) */
	int df;                 /* IPv4: set the DF bit */
	int nexts;              /* IPv6 extension headers before L4 */
	uint8_t ext_type[PK_MAX_EXT];   /* 0, 43, 60, 51, 44 */
	uint8_t ext_len[PK_MAX_EXT];    /* hdrlen field (ignored for 44) */
	uint16_t ext_fragoff[PK_MAX_EXT];  /* for 44: offset in 8-byte units */
	int payload;            /* bytes after the L4 header */
	int bad_version;        /* write this IP version instead */
	int bad_ihl;            /* write this ihl instead (IPv4) */
	int cut;                /* > 0: frame truncated to this many bytes */
	uint8_t src[16];        /* all zero: 192.0.2.1 / 2001:db8::1 */
	uint16_t sport;         /* TCP/UDP source port; 0: 40000 */
	int inbound;            /* run through the inbound programs (SL_DIR_IN) */
	int hop_limit;          /* IPv4 TTL / IPv6 hop limit; 0: 64 */
	/* ICMP / ICMPv6: the packet an error quotes, from its IP header on,
	 * after the 8-byte ICMP header (types: icmp_type); quote_cut > 0 keeps
	 * that many of its bytes.  The quote's own quote is not built. */
	const struct pk_spec *quote;
	int quote_cut;
};

/* Where each header starts, to cut frames inside a given header. */
struct pk_offs {
	int l3;                 /* IP header */
	int l3_end;             /* after IPv4 options / IPv6 fixed header */
	int ext[PK_MAX_EXT];    /* IPv6 extension headers */
	int l4;
	int l4_len;             /* bytes of L4 header written */
	int len;                /* full (uncut) length */
};

static inline void pk_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static inline int pk_l4_len(uint8_t proto)
{
	switch (proto) {
	case 6: return 20;
	case 17: return 8;
	case 1: case 58: return 8;
	default: return 0;
	}
}

static inline int pk_ext_size(uint8_t type, uint8_t hdrlen)
{
	if (type == 44)
		return 8;
	if (type == 51)
		return (hdrlen + 2) * 4;
	return (hdrlen + 1) * 8;
}

/*
 * Longest frame handed to test_run (an skb's data must fit in one page
 * with its headroom and shared info).  Longer frames are cut to this.
 */
#define PK_MAX_FRAME 3000
#define PK_SCRATCH 32768        /* 12 ext headers of 2048 bytes + the rest */

static inline size_t pk_build_full(const struct pk_spec *s, uint8_t *buf, struct pk_offs *o);

/* Build the frame into @buf (PK_MAX_FRAME bytes at least).  Returns its length. */
static inline size_t pk_build(const struct pk_spec *s, uint8_t *buf, struct pk_offs *o)
{
	static uint8_t scratch[PK_SCRATCH];
	size_t n = pk_build_full(s, scratch, o);

	if (n > PK_MAX_FRAME)
		n = PK_MAX_FRAME;
	memcpy(buf, scratch, n);
	return n;
}

static inline int pk_zero16(const uint8_t *a)
{
	for (int i = 0; i < 16; i++)
		if (a[i])
			return 0;
	return 1;
}

/* The quote of @s (an ICMP error's payload) into @q; its length. */
static inline int pk_build_quote(const struct pk_spec *s, uint8_t *q, int cap)
{
	static uint8_t scratch[PK_SCRATCH];
	struct pk_spec in = *s->quote;
	struct pk_offs o;
	int n;

	in.quote = NULL;
	in.cut = 0;
	in.nvlan = 0;
	n = (int)pk_build_full(&in, scratch, &o) - o.l3;
	if (s->quote_cut > 0 && s->quote_cut < n)
		n = s->quote_cut;
	if (n > cap)
		n = cap;
	memcpy(q, scratch + o.l3, n);
	return n;
}

static inline size_t pk_build_full(const struct pk_spec *s, uint8_t *buf, struct pk_offs *o)
{
	static uint8_t quote[PK_MAX_FRAME];
	struct pk_offs dummy;
	size_t n = 0;
	int i, l4len = pk_l4_len(s->proto), qlen = 0;
	uint16_t et;

	if (s->quote && (s->proto == 1 || s->proto == 58))
		qlen = pk_build_quote(s, quote, sizeof(quote));

	if (!o)
		o = &dummy;
	memset(o, 0, sizeof(*o));
	memset(buf, 0, PK_SCRATCH);
	/* dst 02:00:00:00:00:02, src 02:00:00:00:00:01 (locally administered) */
	buf[0] = 0x02; buf[5] = 0x02; buf[6] = 0x02; buf[11] = 0x01;
	n = 12;
	et = s->ethertype ? s->ethertype : (s->family == 6 ? 0x86dd : 0x0800);
	for (i = 0; i < s->nvlan && i < PK_MAX_VLAN; i++) {
		pk_put16(buf + n, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		pk_put16(buf + n + 2, 100 + i);         /* TCI */
		n += 4;
	}
	pk_put16(buf + n, et);
	n += 2;
	o->l3 = n;

	if (s->ethertype && s->ethertype != 0x0800 && s->ethertype != 0x86dd) {
		/* non-IP: 28 bytes of something ARP-shaped */
		memset(buf + n, 0x11, 28);
		n += 28 + s->payload;
		o->l3_end = o->l4 = o->len = n;
		return s->cut > 0 && (size_t)s->cut < n ? (size_t)s->cut : n;
	}

	if (s->family == 4) {
		uint8_t *ip = buf + n;
		int ihl = 5 + s->ip4_optlen / 4;
		uint16_t fo = 0;

		ip[0] = ((s->bad_version ? s->bad_version : 4) << 4) |
			((s->bad_ihl ? s->bad_ihl : ihl) & 0xf);
		ip[8] = s->hop_limit ? s->hop_limit : 64;
		ip[9] = s->proto;
		ip[12] = 192; ip[13] = 0; ip[14] = 2; ip[15] = 1;
		if (!pk_zero16(s->src))
			memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		memset(ip + 20, 0x01, s->ip4_optlen);     /* NOPs */
		if (s->frag == PK_FRAG_FIRST)
			fo = 0x2000;                        /* MF, offset 0 */
		else if (s->frag == PK_FRAG_LATER)
			fo = 0x2000 | (s->frag_offset ? s->frag_offset & 0x1fff : 185);
		else if (s->frag == PK_FRAG_LAST)
			fo = s->frag_offset ? s->frag_offset & 0x1fff : 370;
		if (s->df)
			fo |= 0x4000;
		pk_put16(ip + 6, fo);
		pk_put16(ip + 4, ihl * 4 + l4len + qlen + s->payload);
		n += ihl * 4;
		o->l3_end = n;
	} else {
		uint8_t *ip6 = buf + n;
		uint8_t *nhp = ip6 + 6;
		int plen0;

		ip6[0] = (s->bad_version ? s->bad_version : 6) << 4;
		ip6[7] = s->hop_limit ? s->hop_limit : 64;
		ip6[8] = 0x20; ip6[9] = 0x01; ip6[10] = 0x0d; ip6[11] = 0xb8; ip6[23] = 1;
		if (!pk_zero16(s->src))
			memcpy(ip6 + 8, s->src, 16);
		memcpy(ip6 + 24, s->dst, 16);
		n += 40;
		o->l3_end = n;
		plen0 = n;
		for (i = 0; i < s->nexts && i < PK_MAX_EXT; i++) {
			uint8_t *e = buf + n;
			int sz = pk_ext_size(s->ext_type[i], s->ext_len[i]);

			*nhp = s->ext_type[i];
			o->ext[i] = n;
			nhp = e;
			if (s->ext_type[i] == 44) {
				uint16_t v = s->ext_fragoff[i] << 3;

				if (s->frag == PK_FRAG_FIRST || s->frag == PK_FRAG_LATER)
					v |= 1;                 /* M */
				pk_put16(e + 2, v);
				e[4] = 0xab;                    /* identification */
			} else {
				e[1] = s->ext_len[i];
				if (sz > 2)
					memset(e + 2, 0x01, sz - 2 > 6 ? 6 : sz - 2);
			}
			n += sz;
		}
		*nhp = s->proto;
		pk_put16(ip6 + 4, n - plen0 + l4len + qlen + s->payload);
	}

	o->l4 = n;
	o->l4_len = l4len;
	if (s->proto == 6 || s->proto == 17) {
		pk_put16(buf + n, s->sport ? s->sport : 40000);
		pk_put16(buf + n + 2, s->dport);
		if (s->proto == 6)
			buf[n + 12] = 5 << 4;
		else
			pk_put16(buf + n + 4, l4len + s->payload);
	} else if (s->proto == 1 || s->proto == 58) {
		buf[n] = s->icmp_type;
	}
	n += l4len;
	memcpy(buf + n, quote, qlen);
	n += qlen;
	memset(buf + n, 0x5a, s->payload);
	n += s->payload;
	o->len = n;
	return s->cut > 0 && (size_t)s->cut < n ? (size_t)s->cut : n;
}

/* Fill an IPv4 address. */
static inline void pk_ip4(uint8_t *dst, const char *a)
{
	memset(dst, 0, 16);
	inet_pton(AF_INET, a, dst);
}

static inline void pk_ip6(uint8_t *dst, const char *a)
{
	inet_pton(AF_INET6, a, dst);
}

/* One-line description, for failure messages. */
static inline void pk_describe(const struct pk_spec *s, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "";
	int k = 0, i;

	if (s->ethertype && s->ethertype != 0x0800 && s->ethertype != 0x86dd) {
		snprintf(out, cap, "ethertype 0x%04x vlans %d cut %d", s->ethertype, s->nvlan, s->cut);
		return;
	}
	inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, s->dst, a, sizeof(a));
	k += snprintf(out + k, cap - k, "%sv%d dst %s proto %u dport %u type %u vlans %d",
		      s->inbound ? "inbound " : "", s->family, a, s->proto, s->dport, s->icmp_type,
		      s->nvlan);
	if ((!pk_zero16(s->src) || s->sport) && (size_t)k < cap) {
		inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, s->src, a, sizeof(a));
		k += snprintf(out + k, cap - k, " src %s sport %u", pk_zero16(s->src) ? "-" : a,
			      s->sport);
	}
	if (s->quote && (size_t)k < cap) {
		char qd[400];
		struct pk_spec q = *s->quote;

		q.quote = NULL;
		pk_describe(&q, qd, sizeof(qd));
		k += snprintf(out + k, cap - k, " quote [%s] cut %d", qd, s->quote_cut);
	}
	if (s->ip4_optlen && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " opts %d", s->ip4_optlen);
	if (s->frag && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " frag %d/%u", s->frag, s->frag_offset);
	if (s->df && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " df");
	for (i = 0; i < s->nexts && (size_t)k < cap; i++)
		k += snprintf(out + k, cap - k, "%s%u/%u/%u", i ? "," : " ext ",
			      s->ext_type[i], s->ext_len[i], s->ext_fragoff[i]);
	if (s->bad_version && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " version %d", s->bad_version);
	if (s->bad_ihl && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " ihl %d", s->bad_ihl);
	if (s->cut && (size_t)k < cap)
		k += snprintf(out + k, cap - k, " cut %d", s->cut);
}

static inline void pk_hex(const uint8_t *b, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x%s", b[i], (i % 32 == 31 || i + 1 == n) ? "\n" : " ");
}

#endif
