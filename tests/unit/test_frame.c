/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_frame.c - the reference frame parser (user/image/frame.c:
 * sl_pkt_parse) and the reference classifier on whole frames
 * (user/image/classify.c: sl_classify_frame), on crafted frames:
 *   - VLAN tags, IPv4 options, fragments, IPv6 extension header chains,
 *     short and non-IP Ethernet; most also cut at every length (shorter
 *     than what the parser must see: malformed; longer: the same result);
 *   - ICMPv6 neighbour discovery and control traffic, malformed and non-IP
 *     frames, audit mode, gso_segs;
 *   - 20000 mutated frames, each in a buffer of its exact size (ASan
 *     catches an over-read).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sl.h"
#include "test.h"
#include "compile_util.h"

/* ------------------------------------------------------ frame parser */

struct frame {
	uint8_t b[2048];
	size_t len;
	size_t need;            /* bytes the parser must see to judge it */
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Ethernet + @nvlan tags; returns the L3 offset. */
static size_t eth(struct frame *f, unsigned nvlan, uint16_t et)
{
	size_t off = 12;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 6; i++) {
		f->b[i] = 0x02;
		f->b[6 + i] = 0x04;
	}
	for (unsigned i = 0; i < nvlan; i++) {
		put16(f->b + off, i == 0 && nvlan > 1 ? 0x88a8 : 0x8100);
		put16(f->b + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(f->b + off, et);
	return off + 2;
}

/* IPv4 header with @ihl, then 4+ L4 bytes. */
static void ipv4(struct frame *f, unsigned nvlan, unsigned ihl, uint8_t proto,
		 const char *dst, uint16_t frag_off, uint16_t port_or_type)
{
	size_t off = eth(f, nvlan, 0x0800), l4;

	f->b[off] = (uint8_t)(0x40 | ihl);
	put16(f->b + off + 2, 1500);
	put16(f->b + off + 6, frag_off);
	f->b[off + 8] = 64;
	f->b[off + 9] = proto;
	inet_pton(AF_INET, "192.0.2.1", f->b + off + 12);
	inet_pton(AF_INET, dst, f->b + off + 16);
	for (unsigned i = 20; i < ihl * 4; i++)
		f->b[off + i] = 1;      /* NOP options */
	l4 = off + ihl * 4;
	if (proto == 6 || proto == 17) {
		put16(f->b + l4, 40000);
		put16(f->b + l4 + 2, port_or_type);
	} else {
		f->b[l4] = (uint8_t)port_or_type;
	}
	f->len = l4 + 20;
	if (frag_off & 0x1fff)
		f->need = l4;
	else if (proto == 6 || proto == 17 || proto == 1 || proto == 58)
		f->need = l4 + 4;
	else
		f->need = l4;
}

/*
 * IPv6 with the extension headers @ext (0, 43, 60, 51, 44 = first fragment,
 * 144 = non-first fragment header), then @proto.
 */
static void ipv6(struct frame *f, unsigned nvlan, const int *ext, size_t next,
		 uint8_t proto, const char *dst, uint16_t port_or_type)
{
	size_t off = eth(f, nvlan, 0x86dd), nhoff;
	bool nonfirst = false;

	f->b[off] = 0x60;
	f->b[off + 7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", f->b + off + 8);
	inet_pton(AF_INET6, dst, f->b + off + 24);
	nhoff = off + 6;
	off += 40;
	for (size_t i = 0; i < next; i++) {
		int e = ext[i];
		uint8_t type = (uint8_t)(e == 144 ? 44 : e);

		f->b[nhoff] = type;
		nhoff = off;
		if (type == 44) {
			put16(f->b + off + 2, e == 144 ? (uint16_t)(185 << 3) : 1 /* M */);
			off += 8;
			if (e == 144) {
				nonfirst = true;
				f->need = off;
			}
		} else if (type == 51) {
			f->b[off + 1] = 2;      /* (2+2)*4 = 16 bytes */
			off += 16;
		} else {
			f->b[off + 1] = (uint8_t)(i % 3);   /* (n+1)*8 */
			off += ((size_t)(i % 3) + 1) * 8;
		}
		if (nonfirst)
			break;
	}
	f->b[nhoff] = proto;
	if (!nonfirst) {
		if (proto == 6 || proto == 17) {
			put16(f->b + off, 40000);
			put16(f->b + off + 2, port_or_type);
		} else {
			f->b[off] = (uint8_t)port_or_type;
		}
		f->need = (proto == 6 || proto == 17 || proto == 1 || proto == 58) ? off + 4 : off;
	}
	f->len = off + 20;
}

/*
 * Parse @f at full length and at every shorter length: shorter than
 * f->need must be malformed, longer must give the same result.
 */
static bool check_truncation(const char *name, const struct frame *f)
{
	struct sl_pkt full, p;

	sl_pkt_parse(f->b, f->len, &full);
	for (size_t len = 0; len < f->len; len++) {
		int err = sl_pkt_parse(f->b, len, &p);
		bool want_bad = len < f->need;

		if (err || (want_bad ? p.kind != SL_PK_MALFORMED :
			    memcmp(&p, &full, sizeof(p)) != 0)) {
			T_FAIL(name, "length %zu of %zu (need %zu): kind %d err %d", len,
			       f->len, f->need, p.kind, err);
			return false;
		}
	}
	T_PASS(name);
	return true;
}

static void test_parse(void)
{
	struct frame f;
	struct sl_pkt p;
	uint8_t d4[4], d6[16];
	char name[128];
	int err;

	inet_pton(AF_INET, "198.51.100.7", d4);
	inet_pton(AF_INET6, "2001:db8:5::9", d6);

	/* VLAN tags: 0, 1, 2 parse; 3 is malformed. */
	for (unsigned v = 0; v <= 3; v++) {
		ipv4(&f, v, 5, 6, "198.51.100.7", 0, 443);
		err = sl_pkt_parse(f.b, f.len, &p);
		snprintf(name, sizeof(name), "parse: %u vlan tags", v);
		if (v < 3)
			T_CHECK(name, !err && p.kind == SL_PK_IP && p.family == AF_INET &&
				p.proto == 6 && p.port == 443 && !p.fragment &&
				!memcmp(p.dst, d4, 4), "kind %d port %u", p.kind, p.port);
		else
			T_CHECK(name, !err && p.kind == SL_PK_MALFORMED, "kind %d", p.kind);
		snprintf(name, sizeof(name), "parse: %u vlan tags, truncated at every length", v);
		if (v < 3)
			check_truncation(name, &f);
	}
	/* IPv4 options: ihl 5..15. */
	for (unsigned ihl = 5; ihl <= 15; ihl++) {
		ipv4(&f, 1, ihl, 17, "198.51.100.7", 0, 53);
		err = sl_pkt_parse(f.b, f.len, &p);
		snprintf(name, sizeof(name), "parse: ipv4 ihl %u", ihl);
		T_CHECK(name, !err && p.kind == SL_PK_IP && p.proto == 17 && p.port == 53,
			"kind %d port %u", p.kind, p.port);
		if (ihl == 15) {
			snprintf(name, sizeof(name), "parse: ipv4 ihl %u truncated", ihl);
			check_truncation(name, &f);
		}
	}
	for (unsigned ihl = 0; ihl < 5; ihl++) {
		ipv4(&f, 0, 5, 6, "198.51.100.7", 0, 443);
		f.b[14] = (uint8_t)(0x40 | ihl);
		err = sl_pkt_parse(f.b, f.len, &p);
		snprintf(name, sizeof(name), "parse: ipv4 ihl %u malformed", ihl);
		T_CHECK(name, !err && p.kind == SL_PK_MALFORMED, "kind %d", p.kind);
	}
	ipv4(&f, 0, 5, 6, "198.51.100.7", 0, 443);
	f.b[14] = 0x65;
	sl_pkt_parse(f.b, f.len, &p);
	T_CHECK("parse: ipv4 version 6 in 0x0800 malformed", p.kind == SL_PK_MALFORMED,
		"kind %d", p.kind);

	/* IPv4 fragments. */
	ipv4(&f, 0, 5, 6, "198.51.100.7", 0x2000, 443);     /* MF, offset 0 */
	sl_pkt_parse(f.b, f.len, &p);
	T_CHECK("parse: ipv4 first fragment judged with port", p.kind == SL_PK_IP &&
		!p.fragment && p.port == 443, "frag %d port %u", p.fragment, p.port);
	ipv4(&f, 0, 5, 6, "198.51.100.7", 0x4000, 443);     /* DF */
	sl_pkt_parse(f.b, f.len, &p);
	T_CHECK("parse: ipv4 DF not a fragment", p.kind == SL_PK_IP && !p.fragment &&
		p.port == 443, "frag %d", p.fragment);
	ipv4(&f, 2, 7, 6, "198.51.100.7", 0x0001, 443);
	sl_pkt_parse(f.b, f.len, &p);
	T_CHECK("parse: ipv4 non-first fragment", p.kind == SL_PK_IP && p.fragment &&
		p.port == 0 && p.proto == 6, "frag %d port %u", p.fragment, p.port);
	check_truncation("parse: ipv4 non-first fragment truncated (no L4 needed)", &f);
	ipv4(&f, 0, 5, 47, "198.51.100.7", 0, 0);
	check_truncation("parse: ipv4 GRE truncated (no L4 needed)", &f);
	ipv4(&f, 0, 5, 1, "198.51.100.7", 0, 8);
	sl_pkt_parse(f.b, f.len, &p);
	T_CHECK("parse: ipv4 icmp type", p.kind == SL_PK_IP && p.proto == 1 &&
		p.icmp_type == 8 && p.port == 0, "type %u", p.icmp_type);
	check_truncation("parse: ipv4 icmp truncated", &f);

	/* Short Ethernet, non-IP. */
	for (size_t len = 0; len < 14; len++) {
		uint8_t b[14] = { [12] = 0x08, [13] = 0x06 };

		sl_pkt_parse(b, len, &p);
		if (p.kind != SL_PK_MALFORMED) {
			T_FAIL("parse: ethernet shorter than 14 malformed", "len %zu", len);
			break;
		}
		if (len == 13)
			T_PASS("parse: ethernet shorter than 14 malformed");
	}
	eth(&f, 0, 0x0806);
	sl_pkt_parse(f.b, 14, &p);
	T_CHECK("parse: ARP non-IP", p.kind == SL_PK_NON_IP, "kind %d", p.kind);
	eth(&f, 2, 0x88cc);
	sl_pkt_parse(f.b, 22, &p);
	T_CHECK("parse: LLDP behind 2 tags non-IP", p.kind == SL_PK_NON_IP, "kind %d", p.kind);
	eth(&f, 1, 0x0806);
	sl_pkt_parse(f.b, 17, &p);
	T_CHECK("parse: vlan tag cut short malformed", p.kind == SL_PK_MALFORMED, "kind %d",
		p.kind);

	/* IPv6 and extension header chains. */
	{
		static const int chain[] = { 0, 43, 60, 51, 44 };
		static const int nine[] = { 0, 60, 43, 60, 43, 60, 43, 60, 60 };

		ipv6(&f, 0, NULL, 0, 6, "2001:db8:5::9", 443);
		err = sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 tcp", !err && p.kind == SL_PK_IP && p.family == AF_INET6 &&
			p.proto == 6 && p.port == 443 && !memcmp(p.dst, d6, 16), "kind %d", p.kind);
		check_truncation("parse: ipv6 tcp truncated", &f);

		ipv6(&f, 2, chain, 5, 17, "2001:db8:5::9", 3478);
		sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 hop,routing,dstopts,AH,frag(first) -> udp",
			p.kind == SL_PK_IP && p.proto == 17 && p.port == 3478 && !p.fragment,
			"kind %d proto %u port %u", p.kind, p.proto, p.port);
		check_truncation("parse: ipv6 ext chain truncated at every length", &f);

		{
			static const int nf[] = { 0, 60, 144 };

			ipv6(&f, 0, nf, 3, 17, "2001:db8:5::9", 3478);
			sl_pkt_parse(f.b, f.len, &p);
			T_CHECK("parse: ipv6 non-first fragment", p.kind == SL_PK_IP &&
				p.fragment && p.proto == 17 && p.port == 0,
				"kind %d frag %d proto %u port %u", p.kind, p.fragment, p.proto, p.port);
			check_truncation("parse: ipv6 non-first fragment truncated", &f);
		}
		ipv6(&f, 0, nine, 8, 6, "2001:db8:5::9", 22);
		sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 8 ext headers ok", p.kind == SL_PK_IP && p.port == 22,
			"kind %d", p.kind);
		ipv6(&f, 0, nine, 9, 6, "2001:db8:5::9", 22);
		sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 9 ext headers malformed", p.kind == SL_PK_MALFORMED,
			"kind %d", p.kind);
		{
			static const int nine_nf[] = { 0, 60, 43, 60, 43, 60, 43, 60, 144 };

			ipv6(&f, 0, nine_nf, 9, 6, "2001:db8:5::9", 22);
			sl_pkt_parse(f.b, f.len, &p);
			T_CHECK("parse: ipv6 ninth header a fragment: malformed",
				p.kind == SL_PK_MALFORMED, "kind %d", p.kind);
		}
		ipv6(&f, 0, NULL, 0, 59, "2001:db8:5::9", 0);
		sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 no-next-header", p.kind == SL_PK_IP && p.proto == 59,
			"kind %d", p.kind);
		check_truncation("parse: ipv6 no-next-header truncated", &f);
		ipv6(&f, 0, NULL, 0, 6, "2001:db8:5::9", 443);
		f.b[14] = 0x40;
		sl_pkt_parse(f.b, f.len, &p);
		T_CHECK("parse: ipv6 version 4 in 0x86dd malformed", p.kind == SL_PK_MALFORMED,
			"kind %d", p.kind);
	}

	/* ICMPv6 neighbour discovery and control traffic. */
	{
		struct sl_ruleset rs;
		struct sl_image img;
		struct sl_rule *r;
		struct sl_result res;

		rs_init(&rs);
		r = add_rule(&rs, "deny-all", SL_ACT_DENY);
		add_line(r, SL_PROTO_ANY, NULL);
		add_dst(r, "::/0");
		add_dst(r, "0.0.0.0/0");
		if (sl_compile(&rs, NULL, 0, &img)) {
			T_FAIL("parse: ND compile", "compile failed");
			rs_free(&rs);
			return;
		}
		for (unsigned t = 128; t <= 138; t++) {
			/* neighbour discovery (RFC 4861): hop limit 255, exact payload
			 * length; to a global address only NS/NA of 24..64 bytes */
			for (int hop = 64; hop <= 255; hop += 191) {
				bool nd = hop == 255 && (t == 135 || t == 136);

				ipv6(&f, 0, NULL, 0, 58, "2001:db8:5::9", (uint16_t)t);
				f.len += 4;     /* a 24-byte message */
				f.b[14 + 7] = (uint8_t)hop;
				put16(f.b + 14 + 4, (uint16_t)(f.len - 54));
				sl_pkt_parse(f.b, f.len, &p);
				sl_classify_frame(&img, f.b, f.len, 0, &res);
				snprintf(name, sizeof(name), "parse: icmpv6 type %u hop %d %s", t, hop,
					 nd ? "neighbour discovery" : "judged");
				T_CHECK(name, p.kind == SL_PK_IP && p.proto == 58 && p.icmp_type == t &&
					p.hop_limit == hop && p.nd_len == f.len - 54 &&
					res.reason == (nd ? SL_R_CONTROL : SL_R_RULE) &&
					res.verdict == (nd ? SL_V_PASS : SL_V_DROP) &&
					res.flags == (nd ? SL_RF_ND : 0) &&
					res.rule == (nd ? SL_NO_RULE : 0), "reason %s verdict %u",
					sl_reason_name(res.reason), res.verdict);
			}
		}
		ipv6(&f, 0, NULL, 0, 58, "2001:db8:5::9", 135);
		f.b[14 + 7] = 255;
		put16(f.b + 14 + 4, (uint16_t)(f.len - 54 - 1));       /* a byte more than it says */
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("parse: icmpv6 135 hop 255 with bytes past its payload length: judged",
			res.reason == SL_R_RULE && res.verdict == SL_V_DROP, "reason %s",
			sl_reason_name(res.reason));
		{
			static const int nf[] = { 144 };

			ipv6(&f, 0, nf, 1, 58, "2001:db8:5::9", 135);
			sl_classify_frame(&img, f.b, f.len, 3, &res);
			T_CHECK("parse: icmpv6 non-first fragment not control",
				res.reason == SL_R_RULE && res.verdict == SL_V_DROP &&
				res.flags == SL_RF_FRAGMENT && res.packets == 3, "reason %s",
				sl_reason_name(res.reason));
		}
		ipv6(&f, 0, NULL, 0, 17, "ff02::fb", 5353);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: ff02::/16 control", res.reason == SL_R_CONTROL &&
			res.verdict == SL_V_PASS && res.port == 5353 && res.proto == 17, "reason %s",
			sl_reason_name(res.reason));
		ipv6(&f, 0, NULL, 0, 6, "::1", 80);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: ::1 control", res.reason == SL_R_CONTROL, "reason %s",
			sl_reason_name(res.reason));
		ipv4(&f, 0, 5, 17, "224.0.0.251", 0, 5353);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: 224.0.0.0/24 control", res.reason == SL_R_CONTROL, "reason %s",
			sl_reason_name(res.reason));
		ipv4(&f, 0, 5, 17, "224.0.1.1", 0, 123);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: 224.0.1.1 judged", res.reason == SL_R_RULE, "reason %s",
			sl_reason_name(res.reason));
		ipv4(&f, 0, 5, 6, "127.1.2.3", 0, 80);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: 127/8 control", res.reason == SL_R_CONTROL, "reason %s",
			sl_reason_name(res.reason));
		{
			struct frame g;

			ipv4(&g, 0, 5, 58, "198.51.100.7", 0, 135);
			sl_classify_frame(&img, g.b, g.len, 0, &res);
			T_CHECK("classify: proto 58 type 135 over IPv4 is not control",
				res.reason == SL_R_RULE, "reason %s", sl_reason_name(res.reason));
		}
		img.cfg.control_pass = 0;
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: control off -> judged", res.reason == SL_R_RULE &&
			res.verdict == SL_V_DROP, "reason %s", sl_reason_name(res.reason));
		ipv6(&f, 0, NULL, 0, 58, "fe80::1", 135);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: ND with control off -> judged", res.reason == SL_R_RULE,
			"reason %s", sl_reason_name(res.reason));

		/* Malformed: drop, audit passes; non-IP passes; gso_segs counted. */
		img.cfg.control_pass = 1;
		ipv4(&f, 3, 5, 6, "198.51.100.7", 0, 443);
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: malformed drop", res.reason == SL_R_MALFORMED &&
			res.verdict == SL_V_DROP && res.rule == SL_NO_RULE && res.packets == 1,
			"reason %s", sl_reason_name(res.reason));
		img.cfg.mode = SL_MODE_AUDIT;
		sl_classify_frame(&img, f.b, f.len, 0, &res);
		T_CHECK("classify: malformed in audit passes", res.reason == SL_R_MALFORMED &&
			res.verdict == SL_V_PASS, "verdict %u", res.verdict);
		ipv4(&f, 0, 5, 6, "198.51.100.7", 0, 443);
		sl_classify_frame(&img, f.b, f.len, 44, &res);
		T_CHECK("classify: audit deny passes, gso 44", res.reason == SL_R_RULE &&
			res.verdict == SL_V_PASS && res.rule == 0 && res.packets == 44 &&
			res.port == 443 && res.proto == 6, "verdict %u", res.verdict);
		img.cfg.mode = SL_MODE_ENFORCE;
		eth(&f, 0, 0x0806);
		sl_classify_frame(&img, f.b, 42, 0, &res);
		T_CHECK("classify: ARP non_ip pass", res.reason == SL_R_NON_IP &&
			res.verdict == SL_V_PASS && res.proto == 0, "reason %s",
			sl_reason_name(res.reason));
		T_CHECK("reason names", !strcmp(sl_reason_name(SL_R_RULE), "rule") &&
			!strcmp(sl_reason_name(SL_R_POLICY), "policy") &&
			!strcmp(sl_reason_name(SL_R_NEAR_MISS), "near_miss") &&
			!strcmp(sl_reason_name(SL_R_MALFORMED), "malformed") &&
			!strcmp(sl_reason_name(SL_R_NON_IP), "non_ip") &&
			!strcmp(sl_reason_name(SL_R_CONTROL), "control"), "names");
		sl_image_free(&img);
		rs_free(&rs);
	}
}

/* Random bytes: the parser never reads out of bounds (ASan) and agrees with itself. */
static void test_parse_fuzz(void)
{
	uint8_t *b;
	struct frame f;
	size_t bad = 0;

	rng_state = 77;
	for (int i = 0; i < 20000; i++) {
		struct sl_pkt p;
		size_t len;

		if (i & 1) {
			static const int chain[] = { 0, 43, 60, 51, 44, 60, 60, 43 };

			ipv6(&f, rn(3), chain, rn(9), (uint8_t)(rn(2) ? 6 : 58), "2001:db8::5", 1);
		} else {
			ipv4(&f, rn(3), 5 + rn(11), (uint8_t)rn(20), "192.0.2.9", 0, 80);
		}
		for (int k = rn(4); k-- > 0;)
			f.b[rn((uint32_t)f.len)] = (uint8_t)rnd();
		len = rn((uint32_t)f.len + 1);
		b = malloc(len ? len : 1);    /* exact size: ASan catches over-reads */
		memcpy(b, f.b, len);
		if (sl_pkt_parse(b, len, &p) != 0 || p.kind < SL_PK_IP || p.kind > SL_PK_MALFORMED)
			bad++;
		free(b);
	}
	T_CHECK("parse: 20000 mutated frames, in bounds", bad == 0, "%zu bad", bad);
}

int main(void)
{
	(void)t_skipped;
	test_parse();
	test_parse_fuzz();
	return T_DONE();
}
