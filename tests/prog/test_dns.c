// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_dns.c - host-name learning under BPF_PROG_TEST_RUN (docs/dns.md):
 * crafted DNS queries (TC egress, sluice_tc) and answers (TC ingress,
 * sluice_learn) of bpf/learn_test.bpf.c; what lands in "learned", the
 * learner's counters, and the classification of learned addresses against
 * the reference classifier (sl_classify_pkt_learned) and the compiled tables
 * (sl_image_lookup_learned).  Malicious answers: pointer loops, forward
 * pointers, lengths past the end, 255-label names, spoofed sources,
 * unsolicited answers, truncation.  -b: cost per answer.
 *
 * Needs root; otherwise SKIP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "sl.h"
#include "learn_test.skel.h"
#include "kernel/kernel.h"
#include "test.h"

static const char *RULES =
	"policy drop;\n"
	"rule dns { allow udp 53; allow tcp 53; to 192.0.2.53, 2001:db8::53; }\n"
	"rule block { deny any; to 198.51.100.66; }\n"
	"rule zoom { allow tcp 443; allow udp 8801-8810; to zoom.us, *.zoom.us; }\n"
	"rule vsee { allow tcp 443, 8443; to *.vsee.com; }\n"
	"rule late { allow tcp 80; to *.y.vsee.com, 203.0.113.200; }\n";

#include "dns.h"

static int setup(char *why, size_t cap)
{
	return dns_setup(RULES, 8, why, cap);
}

/* ------------------------------------------------------------ cases */

#define C(id) "test_dns/" id

static void cases_names(void)
{
	T_CHECK(C("names: zoom.us, *.zoom.us, *.vsee.com, *.y.vsee.com = 4 name classes"), img.nnames == 4,
		"%zu", img.nnames);
	T_CHECK(C("names: a.zoom.us -> class of *.zoom.us"), sl_names_find(&img, "a.zoom.us") &&
		sl_names_find(&img, "a.zoom.us")->wild, "miss");
	T_CHECK(C("names: zoom.us -> exact class"), sl_names_find(&img, "zoom.us") &&
		!sl_names_find(&img, "zoom.us")->wild, "miss");
	T_CHECK(C("names: x.y.vsee.com -> *.y.vsee.com class (rules vsee, late)"),
		sl_names_find(&img, "x.y.vsee.com") && sl_names_find(&img, "x.y.vsee.com")->nrules == 2, "miss");
	T_CHECK(C("names: y.vsee.com -> *.vsee.com class (vsee only)"),
		sl_names_find(&img, "y.vsee.com") && sl_names_find(&img, "y.vsee.com")->nrules == 1, "miss");
	T_CHECK(C("names: vsee.com matches nothing"), !sl_names_find(&img, "vsee.com"), "hit");
	T_CHECK(C("names: hash is per label from the root"),
		sl_name_hash("A.Zoom.US", 0) == sl_name_hash("a.zoom.us.", 0) &&
		sl_name_hash("a.zoom.us", 0) != sl_name_hash("zoom.us.a", 0), "hash");
}

static void cases_learn(void)
{
	struct msg m;
	uint64_t c0, c1;
	int rc;

	/* before: nothing learned, the address is not covered */
	expect_pkt(C("before learning: tcp 203.0.113.10:443 policy drop"), "203.0.113.10", 6, 443, SL_V_DROP, NULL);

	m_hdr(&m, 0x1234, 0x8180, "a.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.10", 300);
	c0 = ctr(SL_L_LEARNED);
	rc = exchange("192.0.2.1", "192.0.2.53", 40001, 0, "a.zoom.us", &m);
	T_CHECK(C("udp answer for a.zoom.us learned 203.0.113.10 (*.zoom.us)"),
		rc == TC_ACT_UNSPEC && learned_has("203.0.113.10", ncls_of("a.zoom.us")) &&
		ctr(SL_L_LEARNED) == c0 + 1, "rc %d learned %d", rc, learned_has("203.0.113.10", 0));
	oracle_add("203.0.113.10", "a.zoom.us");
	if (getenv("DNS_DEBUG"))
		for (uint32_t i = 0; i < SL_L_MAX; i++)
			printf("# %s %llu\n", sl_learn_ctr_name(i), (unsigned long long)ctr(i));
	T_CHECK(C("query recorded on egress, answer consumed the pending entry"), ctr(SL_L_QUERIES) >= 1, "queries 0");
	expect_pkt(C("learned: tcp 203.0.113.10:443 allow zoom"), "203.0.113.10", 6, 443, SL_V_PASS, "zoom");
	expect_pkt(C("learned: udp 203.0.113.10:8805 allow zoom"), "203.0.113.10", 17, 8805, SL_V_PASS, "zoom");
	expect_pkt(C("learned: tcp 203.0.113.10:80 near miss zoom"), "203.0.113.10", 6, 80, SL_V_DROP, "zoom");

	/* the same answer again: no pending query any more */
	c0 = ctr(SL_L_UNSOLICITED);
	{
		struct fr f;

		m_hdr(&m, 0x1235, 0x8180, "b.zoom.us", 1);
		m_a(&m, NULL, "203.0.113.11", 300);
		frame(&f, "192.0.2.53", "192.0.2.1", 53, 40001, 0, m.b, m.n);
		run(fd_learn, &f, NULL);
		T_CHECK(C("unsolicited answer (no query) not learned, counted"),
			!learned_has("203.0.113.11", 0) && ctr(SL_L_UNSOLICITED) == c0 + 1, "learned");
		/* spoofed: from a non-resolver */
		c0 = ctr(SL_L_SPOOFED);
		frame(&f, "192.0.2.99", "192.0.2.1", 53, 40001, 0, m.b, m.n);
		run(fd_learn, &f, NULL);
		T_CHECK(C("spoofed answer from 192.0.2.99 not learned, counted"),
			!learned_has("203.0.113.11", 0) && ctr(SL_L_SPOOFED) == c0 + 1, "learned");
	}
	/* wrong txid */
	{
		struct msg q;
		struct fr f;

		c0 = ctr(SL_L_UNSOLICITED);
		m_hdr(&q, 0x2000, 0x0100, "c.zoom.us", 1);
		frame(&f, "192.0.2.1", "192.0.2.53", 40002, 53, 0, q.b, q.n);
		run(fd_tc, &f, NULL);
		m_hdr(&m, 0x2001, 0x8180, "c.zoom.us", 1);
		m_a(&m, NULL, "203.0.113.12", 300);
		frame(&f, "192.0.2.53", "192.0.2.1", 53, 40002, 0, m.b, m.n);
		run(fd_learn, &f, NULL);
		T_CHECK(C("answer with another txid not learned"), !learned_has("203.0.113.12", 0) &&
			ctr(SL_L_UNSOLICITED) == c0 + 1, "learned");
		/* other question name, right txid */
		m_hdr(&m, 0x2000, 0x8180, "d.zoom.us", 1);
		m_a(&m, NULL, "203.0.113.12", 300);
		frame(&f, "192.0.2.53", "192.0.2.1", 53, 40002, 0, m.b, m.n);
		run(fd_learn, &f, NULL);
		T_CHECK(C("answer to another question name not learned"), !learned_has("203.0.113.12", 0), "learned");
		/* other client port */
		m_hdr(&m, 0x2000, 0x8180, "c.zoom.us", 1);
		m_a(&m, NULL, "203.0.113.12", 300);
		frame(&f, "192.0.2.53", "192.0.2.1", 53, 40003, 0, m.b, m.n);
		run(fd_learn, &f, NULL);
		T_CHECK(C("answer to another client port not learned"), !learned_has("203.0.113.12", 0), "learned");
	}

	/* truncated */
	c0 = ctr(SL_L_TRUNCATED);
	m_hdr(&m, 0x3000, 0x8380, "e.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.13", 300);
	exchange("192.0.2.1", "192.0.2.53", 40004, 0, "e.zoom.us", &m);
	T_CHECK(C("truncated (TC) answer not learned, counted"), !learned_has("203.0.113.13", 0) &&
		ctr(SL_L_TRUNCATED) == c0 + 1, "learned");

	/* unlisted name */
	c0 = ctr(SL_L_NO_RULE);
	m_hdr(&m, 0x3001, 0x8180, "zoom.us.evil.example", 1);
	m_a(&m, NULL, "203.0.113.14", 300);
	exchange("192.0.2.1", "192.0.2.53", 40005, 0, "zoom.us.evil.example", &m);
	T_CHECK(C("unlisted name zoom.us.evil.example not learned (no_rule)"),
		!learned_has("203.0.113.14", 0) && ctr(SL_L_NO_RULE) == c0 + 1, "learned");
	m_hdr(&m, 0x3002, 0x8180, "xzoom.us", 1);
	m_a(&m, NULL, "203.0.113.14", 300);
	exchange("192.0.2.1", "192.0.2.53", 40005, 0, "xzoom.us", &m);
	T_CHECK(C("xzoom.us does not match *.zoom.us"), !learned_has("203.0.113.14", 0), "learned");
	m_hdr(&m, 0x3003, 0x8180, "vsee.com", 1);
	m_a(&m, NULL, "203.0.113.14", 300);
	exchange("192.0.2.1", "192.0.2.53", 40005, 0, "vsee.com", &m);
	T_CHECK(C("vsee.com does not match *.vsee.com"), !learned_has("203.0.113.14", 0), "learned");

	/* exact name, upper case in the answer */
	m_hdr(&m, 0x3004, 0x8180, "ZOOM.us", 1);
	m_a(&m, NULL, "203.0.113.15", 60);
	exchange("192.0.2.1", "192.0.2.53", 40006, 0, "ZOOM.us", &m);
	T_CHECK(C("exact zoom.us (any case) learned"), learned_has("203.0.113.15", ncls_of("zoom.us")), "miss");
	oracle_add("203.0.113.15", "zoom.us");

	/* CNAME chain: x.y.vsee.com -> c1.cdn.example -> c2.cdn.example -> A; a stray A not learned */
	m_hdr(&m, 0x3005, 0x8180, "x.y.vsee.com", 1);
	m_cname(&m, NULL, "c1.cdn.example", 300);
	m_cname(&m, "c1.cdn.example", "c2.cdn.example", 300);
	m_a(&m, "c2.cdn.example", "203.0.113.20", 300);
	m_a(&m, "stray.example", "203.0.113.21", 300);
	exchange("192.0.2.1", "192.0.2.53", 40007, 0, "x.y.vsee.com", &m);
	T_CHECK(C("CNAME chain: end of chain learned for *.y.vsee.com"),
		learned_has("203.0.113.20", ncls_of("x.y.vsee.com")), "miss");
	T_CHECK(C("CNAME chain: A record of an unrelated owner not learned"), !learned_has("203.0.113.21", 0), "learned");
	oracle_add("203.0.113.20", "x.y.vsee.com");
	expect_pkt(C("x.y.vsee.com address: tcp 8443 allow vsee"), "203.0.113.20", 6, 8443, SL_V_PASS, "vsee");
	expect_pkt(C("x.y.vsee.com address: tcp 80 allow late (2nd rule of the class)"), "203.0.113.20", 6, 80, SL_V_PASS, "late");
	expect_pkt(C("x.y.vsee.com address: udp 9 near miss vsee"), "203.0.113.20", 17, 9, SL_V_DROP, "vsee");

	/* a long CNAME chain (20 > SL_DNS_CHAIN): counted, rest ignored */
	{
		char a[64], b[64];

		c0 = ctr(SL_L_CHAIN_LONG);
		m_hdr(&m, 0x3006, 0x8180, "long.zoom.us", 1);
		m_cname(&m, NULL, "c0.chain.example", 60);
		for (int i = 0; i < 20; i++) {
			snprintf(a, sizeof(a), "c%d.chain.example", i);
			snprintf(b, sizeof(b), "c%d.chain.example", i + 1);
			m_cname(&m, a, b, 60);
		}
		m_a(&m, "c3.chain.example", "203.0.113.22", 60);
		exchange("192.0.2.1", "192.0.2.53", 40008, 0, "long.zoom.us", &m);
		T_CHECK(C("long CNAME chain: early link learned, overflow counted"),
			learned_has("203.0.113.22", 0) && ctr(SL_L_CHAIN_LONG) > c0, "learned %d",
			learned_has("203.0.113.22", 0));
		oracle_add("203.0.113.22", "long.zoom.us");
	}

	/* IPv6 resolver, AAAA answer */
	m_hdr(&m, 0x3007, 0x8180, "v6.zoom.us", 28);
	m_a(&m, NULL, "2001:db8:5::10", 300);
	exchange("2001:db8::1", "2001:db8::53", 40009, 0, "v6.zoom.us", &m);
	T_CHECK(C("AAAA over IPv6 learned 2001:db8:5::10"), learned_has("2001:db8:5::10", ncls_of("v6.zoom.us")), "miss");
	oracle_add("2001:db8:5::10", "v6.zoom.us");
	expect_pkt(C("learned v6: tcp [2001:db8:5::10]:443 allow zoom"), "2001:db8:5::10", 6, 443, SL_V_PASS, "zoom");

	/* DNS over TCP */
	m_hdr(&m, 0x3008, 0x8180, "tcp.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.23", 300);
	rc = exchange("192.0.2.1", "192.0.2.53", 40010, 1, "tcp.zoom.us", &m);
	T_CHECK(C("DNS over TCP learned 203.0.113.23"), learned_has("203.0.113.23", 0), "rc %d", rc);
	oracle_add("203.0.113.23", "tcp.zoom.us");

	/* a name rule after a deny rule stays denied */
	m_hdr(&m, 0x3009, 0x8180, "deny.zoom.us", 1);
	m_a(&m, NULL, "198.51.100.66", 300);
	exchange("192.0.2.1", "192.0.2.53", 40011, 0, "deny.zoom.us", &m);
	oracle_add("198.51.100.66", "deny.zoom.us");
	expect_pkt(C("learned 198.51.100.66 still denied by the earlier deny rule"), "198.51.100.66", 6, 443, SL_V_DROP, "block");

	/* one address, two rules: the combined policy */
	m_hdr(&m, 0x300a, 0x8180, "both.vsee.com", 1);
	m_a(&m, NULL, "203.0.113.10", 300);
	exchange("192.0.2.1", "192.0.2.53", 40012, 0, "both.vsee.com", &m);
	oracle_add("203.0.113.10", "both.vsee.com");
	expect_pkt(C("address of a.zoom.us and both.vsee.com: tcp 443 -> zoom (first)"), "203.0.113.10", 6, 443, SL_V_PASS, "zoom");
	expect_pkt(C("address of a.zoom.us and both.vsee.com: tcp 8443 -> vsee"), "203.0.113.10", 6, 8443, SL_V_PASS, "vsee");
	/* static + learned: 203.0.113.200 is static in 'late' (tcp 80); learned for zoom adds 443 */
	m_hdr(&m, 0x300b, 0x8180, "static.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.200", 300);
	exchange("192.0.2.1", "192.0.2.53", 40013, 0, "static.zoom.us", &m);
	oracle_add("203.0.113.200", "static.zoom.us");
	expect_pkt(C("static late + learned zoom: tcp 443 allow zoom"), "203.0.113.200", 6, 443, SL_V_PASS, "zoom");
	expect_pkt(C("static late + learned zoom: tcp 80 allow late"), "203.0.113.200", 6, 80, SL_V_PASS, "late");
	expect_pkt(C("static late + learned zoom: tcp 22 near miss zoom (earlier rule)"), "203.0.113.200", 6, 22, SL_V_DROP, "zoom");

	/* per-name cap (8 in this test): 12 addresses for one name keep the last 8 */
	{
		char a[32];

		c0 = ctr(SL_L_CAP_NAME);
		m_hdr(&m, 0x300c, 0x8180, "many.vsee.com", 1);
		for (int i = 0; i < 12; i++) {
			snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
			m_a(&m, NULL, a, 300);
		}
		exchange("192.0.2.1", "192.0.2.53", 40014, 0, "many.vsee.com", &m);
		c1 = ctr(SL_L_CAP_NAME);
		/* the cap is per name: both.vsee.com's address (same class) stays */
		T_CHECK(C("per-name cap 8: 12 addresses -> oldest 4 evicted, last 8 kept, cap counted 4, "
			  "another name of the class untouched"),
			!learned_has("203.0.113.100", 0) && !learned_has("203.0.113.103", 0) &&
			learned_has("203.0.113.104", 0) && learned_has("203.0.113.111", 0) && c1 - c0 == 4 &&
			learned_has("203.0.113.10", 0),
			"cap %llu, .100 %d .104 %d", (unsigned long long)(c1 - c0),
			learned_has("203.0.113.100", 0), learned_has("203.0.113.104", 0));
	}
	/* more answers than the BPF walk takes: fallback counted */
	{
		char a[32];

		c0 = ctr(SL_L_FALLBACK);
		m_hdr(&m, 0x300d, 0x8180, "huge.zoom.us", 1);
		for (int i = 0; i < SL_DNS_MAX_RR + 6; i++) {
			snprintf(a, sizeof(a), "198.51.100.%d", 100 + i);
			m_a(&m, NULL, a, 300);
		}
		exchange("192.0.2.1", "192.0.2.53", 40015, 0, "huge.zoom.us", &m);
		T_CHECK(C("70 A records: BPF walks 64, the message goes to user space (fallback)"),
			ctr(SL_L_FALLBACK) == c0 + 1, "fallback %llu", (unsigned long long)(ctr(SL_L_FALLBACK) - c0));
	}
}

static void malicious(const char *name, const uint8_t *msg, size_t n, int expect_ctr)
{
	struct msg q;
	struct fr f;
	uint64_t c0 = ctr((uint32_t)expect_ctr), l0 = ctr(SL_L_LEARNED);
	int rc;

	/* a real query with the same txid so only the answer's content is at fault */
	m_hdr(&q, (uint16_t)(msg[0] << 8 | msg[1]), 0x0100, "m.zoom.us", 1);
	frame(&f, "192.0.2.1", "192.0.2.53", 40100, 53, 0, q.b, q.n);
	run(fd_tc, &f, NULL);
	frame(&f, "192.0.2.53", "192.0.2.1", 53, 40100, 0, msg, n);
	rc = run(fd_learn, &f, NULL);
	T_CHECK(name, rc == TC_ACT_UNSPEC && ctr((uint32_t)expect_ctr) == c0 + 1 && ctr(SL_L_LEARNED) == l0,
		"rc %d, %s +%llu, learned +%llu", rc, sl_learn_ctr_name((uint32_t)expect_ctr),
		(unsigned long long)(ctr((uint32_t)expect_ctr) - c0),
		(unsigned long long)(ctr(SL_L_LEARNED) - l0));
}

static void cases_malicious(void)
{
	struct msg m;
	uint8_t b[2048];
	size_t n;

	/* answer owner is a pointer to itself */
	m_hdr(&m, 0x4000, 0x8180, "m.zoom.us", 1);
	n = m.n;
	memcpy(b, m.b, n);
	b[7] = 1;
	b[n] = 0xc0; b[n + 1] = (uint8_t)n; n += 2;
	memcpy(b + n, "\0\1\0\1\0\0\1\0\0\4\xcb\0\x71\x1e", 14); n += 14;
	malicious(C("malicious: pointer loop (owner points to itself) -> malformed"), b, n, SL_L_MALFORMED);
	/* forward pointer */
	b[n - 16 + 1] = (uint8_t)(n + 4);
	malicious(C("malicious: forward pointer -> malformed"), b, n, SL_L_MALFORMED);
	/* two pointers pointing at each other */
	m_hdr(&m, 0x4001, 0x8180, "m.zoom.us", 1);
	n = m.n;
	memcpy(b, m.b, n);
	b[7] = 1;
	b[n] = 0xc0; b[n + 1] = (uint8_t)(n + 2);
	b[n + 2] = 0xc0; b[n + 3] = (uint8_t)n;
	n += 4;
	malicious(C("malicious: pointer cycle of two -> malformed"), b, n, SL_L_MALFORMED);
	/* label length past the end */
	m_hdr(&m, 0x4002, 0x8180, "m.zoom.us", 1);
	n = m.n;
	memcpy(b, m.b, n);
	b[7] = 1;
	b[n++] = 60; memcpy(b + n, "abc", 3); n += 3;
	malicious(C("malicious: label length past the end -> malformed"), b, n, SL_L_MALFORMED);
	/* rdlength past the end */
	m_hdr(&m, 0x4003, 0x8180, "m.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.40", 60);
	m.b[m.n - 6] = 0x10;       /* rdlength 0x1004 */
	malicious(C("malicious: rdlength past the end -> malformed"), m.b, m.n, SL_L_MALFORMED);
	/* A record with rdlength 5 */
	m_hdr(&m, 0x4004, 0x8180, "m.zoom.us", 1);
	m_rr(&m, NULL, 1, 60, "\xcb\0\x71\x29\0", 5);
	malicious(C("malicious: A record of 5 bytes -> malformed"), m.b, m.n, SL_L_MALFORMED);
	/* 255 one-byte labels in the question */
	memset(b, 0, sizeof(b));
	b[0] = 0x40; b[1] = 0x05; b[2] = 0x81; b[3] = 0x80; b[5] = 1; b[7] = 0;
	n = 12;
	for (int i = 0; i < 255; i++) {
		b[n++] = 1;
		b[n++] = 'a';
	}
	b[n++] = 0;
	memcpy(b + n, "\0\1\0\1", 4); n += 4;
	malicious(C("malicious: 255-label question name -> malformed"), b, n, SL_L_MALFORMED);
	/* label type 01 */
	m_hdr(&m, 0x4006, 0x8180, "m.zoom.us", 1);
	m.b[12] = 0x41;
	malicious(C("malicious: label type 01 in the question -> malformed"), m.b, m.n, SL_L_MALFORMED);
	/* a header and nothing else */
	memset(b, 0, 12);
	b[0] = 0x40; b[1] = 0x07; b[2] = 0x81; b[3] = 0x80; b[5] = 1; b[7] = 1;
	malicious(C("malicious: header only, qdcount 1 -> malformed"), b, 12, SL_L_MALFORMED);
	/* qdcount 2 */
	m_hdr(&m, 0x4008, 0x8180, "m.zoom.us", 1);
	m.b[5] = 2;
	malicious(C("malicious: qdcount 2 -> malformed"), m.b, m.n, SL_L_MALFORMED);
}

static void cases_expiry(void)
{
	struct sl_addr_key k = { .family = 4 };
	struct sl_learned_val v;
	int fd = bpf_map__fd(sk->maps.learned);

	inet_pton(AF_INET, "203.0.113.15", k.addr);
	expect_pkt(C("expiry: before, tcp 203.0.113.15:443 allow zoom"), "203.0.113.15", 6, 443, SL_V_PASS, "zoom");
	if (bpf_map_lookup_elem(fd, &k, &v)) {
		T_FAIL(C("expiry"), "203.0.113.15 not in learned");
		return;
	}
	for (int i = 0; i < SL_LEARN_SLOTS; i++)
		if (v.s[i].expires_ns)
			v.s[i].expires_ns = 1000;       /* long past */
	bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
	/* the oracle: the entry expired */
	for (size_t i = 0; i < on; i++)
		if (otab[i].family == AF_INET && !memcmp(otab[i].addr, k.addr, 4))
			otab[i].expires = 0;
	expect_pkt(C("expiry: after TTL + grace, tcp 203.0.113.15:443 policy drop"), "203.0.113.15", 6, 443, SL_V_DROP, NULL);
}

/* ------------------------------------------------------------ sluice run: inject, fallback reader */

struct rb_ctx {
	int events;
	int learn;                      /* 1: hand each event to sl_fallback_learn */
	struct sl_dns_event last;
	struct sl_inject_res res;       /* summed */
	int err;
};

static int on_fallback(void *ctx, void *data, size_t size)
{
	struct rb_ctx *x = ctx;
	struct sl_inject_res r;

	if (size < sizeof(struct sl_dns_event))
		return 0;
	x->events++;
	memcpy(&x->last, data, sizeof(x->last));
	if (!x->learn)
		return 0;
	if ((x->err = sl_fallback_learn(fd_inject, data, &r)) == 0) {
		x->res.chunks += r.chunks;
		x->res.addrs += r.addrs;
		x->res.learned += r.learned;
		x->res.refused += r.refused;
		x->res.ns += r.ns;
	}
	return 0;
}

/* A TCP answer whose 2-byte length says @m->n bytes but that carries only @keep of them. */
static int partial_tcp(const char *q, uint16_t cport, struct msg *m, size_t keep, int ask)
{
	struct msg qm;
	struct fr f;

	if (ask) {
		m_hdr(&qm, (uint16_t)(m->b[0] << 8 | m->b[1]), 0x0100, q, 1);
		frame(&f, "192.0.2.1", "192.0.2.53", cport, 53, 1, qm.b, qm.n);
		if (run(fd_tc, &f, NULL) != TC_ACT_UNSPEC)
			return -100;
	}
	frame(&f, "192.0.2.53", "192.0.2.1", 53, cport, 1, m->b, m->n);
	f.n -= m->n - keep;
	f.b[14 + 2] = (uint8_t)((f.n - 14) >> 8);
	f.b[14 + 3] = (uint8_t)(f.n - 14);
	return run(fd_learn, &f, NULL);
}

static void cases_run(void)
{
	__typeof__(sk->maps) *mp = &sk->maps;
	struct rb_ctx rx = { 0 };
	struct ring_buffer *rb;
	struct sl_learn_cfg lc;
	struct msg m;
	char a[32];
	uint64_t c0, c1, u0, f0;

	int ret = 0, e;
	uint32_t ns;

	/* the per-name cap back to its default, so that chunks are not evicted at once */
	bpf_map_lookup_elem(bpf_map__fd(mp->learn_cfg), &(__u32){ 0 }, &lc);
	lc.name_cap = SL_NAME_RING;
	bpf_map_update_elem(bpf_map__fd(mp->learn_cfg), &(__u32){ 0 }, &lc, 0);
	rb = ring_buffer__new(bpf_map__fd(mp->dns_fallback), on_fallback, &rx, NULL);
	if (!rb) {
		T_FAIL(C("run: ring buffer reader"), "%s", strerror(errno));
		return;
	}
	ring_buffer__consume(rb);       /* the 70-record answer above: not ours */
	rx.events = 0;
	rx.learn = 1;

	/* inject: a message from user space, no query, no resolver: learned */
	m_hdr(&m, 0x4001, 0x8180, "inj.zoom.us", 1);
	m_cname(&m, NULL, "edge.inj.example", 300);
	m_a(&m, "edge.inj.example", "203.0.113.40", 300);
	m_a(&m, "edge.inj.example", "2001:db8:4::40", 300);
	c0 = ctr(SL_L_INJECTED);
	u0 = ctr(SL_L_UNSOLICITED);
	e = sl_inject_msg(fd_inject, m.b, m.n, &ret, &ns);
	T_CHECK(C("inject: CNAME + A + AAAA for inj.zoom.us learned 2 addresses, counted injected"),
		!e && ret == 2 && learned_has("203.0.113.40", ncls_of("inj.zoom.us")) &&
		learned_has("2001:db8:4::40", ncls_of("inj.zoom.us")) && ctr(SL_L_INJECTED) == c0 + 1 &&
		ctr(SL_L_UNSOLICITED) == u0, "e %d ret %d", e, ret);
	oracle_add("203.0.113.40", "inj.zoom.us");
	expect_pkt(C("inject: tcp 203.0.113.40:443 allow zoom (learned through sluice_inject)"),
		   "203.0.113.40", 6, 443, SL_V_PASS, "zoom");
	m_hdr(&m, 0x4002, 0x8180, "inj.unlisted.example", 1);
	m_a(&m, NULL, "203.0.113.41", 300);
	c0 = ctr(SL_L_NO_RULE);
	e = sl_inject_msg(fd_inject, m.b, m.n, &ret, NULL);
	T_CHECK(C("inject: a name no rule lists -> no_rule, nothing learned"),
		!e && ret == -1 - SL_L_NO_RULE && ctr(SL_L_NO_RULE) == c0 + 1 && !learned_has("203.0.113.41", 0),
		"e %d ret %d", e, ret);
	m_hdr(&m, 0x4003, 0x8183, "inj2.zoom.us", 1);
	m_a(&m, NULL, "203.0.113.42", 300);
	e = sl_inject_msg(fd_inject, m.b, m.n, &ret, NULL);
	T_CHECK(C("inject: NXDOMAIN -> rcode, nothing learned"),
		!e && ret == -1 - SL_L_RCODE && !learned_has("203.0.113.42", 0), "e %d ret %d", e, ret);
	m.b[3] = 0x80;
	m.b[12] = 0xc0;                 /* the question name: a pointer to itself */
	m.b[13] = 12;
	c0 = ctr(SL_L_MALFORMED);
	e = sl_inject_msg(fd_inject, m.b, m.n, &ret, NULL);
	T_CHECK(C("inject: a malformed message -> malformed, nothing learned"),
		!e && ret == -1 - SL_L_MALFORMED && ctr(SL_L_MALFORMED) == c0 + 1 &&
		!learned_has("203.0.113.42", 0), "e %d ret %d", e, ret);

	/* 150 A records behind a CNAME: BPF walks 64 records, the reader the other 87 in 2 chunks */
	m_hdr(&m, 0x4010, 0x8180, "pool.y.vsee.com", 1);
	m_cname(&m, NULL, "pool.cdn.example", 300);
	{
		uint16_t tgt = (uint16_t)(m.n - 18);    /* the CNAME's target, for pointers */

		for (int i = 0; i < 150; i++) {
			uint8_t x[4] = { 192, 0, 2, (uint8_t)(100 + i) };

			m_rr(&m, NULL, 1, 300, x, 4);
			/* owner: a pointer to the target instead of the question */
			m.b[m.n - 16] = (uint8_t)(0xc0 | tgt >> 8);
			m.b[m.n - 15] = (uint8_t)tgt;
		}
	}
	c0 = ctr(SL_L_LEARNED);
	f0 = ctr(SL_L_FALLBACK);
	exchange("192.0.2.1", "192.0.2.53", 40100, 0, "pool.y.vsee.com", &m);
	T_CHECK(C("fallback: 151 records: BPF learned 63 addresses, sent the answer to the ring buffer"),
		ctr(SL_L_LEARNED) == c0 + 63 && ctr(SL_L_FALLBACK) == f0 + 1, "learned +%llu fallback +%llu",
		(unsigned long long)(ctr(SL_L_LEARNED) - c0), (unsigned long long)(ctr(SL_L_FALLBACK) - f0));
	ring_buffer__consume(rb);
	c1 = ctr(SL_L_LEARNED);
	T_CHECK(C("fallback reader: one event, 64 records walked in BPF, 87 addresses in 2 chunks, all learned"),
		rx.events == 1 && rx.err == 0 && rx.last.walked == 64 && rx.last.caplen == m.n &&
		rx.res.chunks == 2 && rx.res.addrs == 87 && rx.res.learned == 87 && rx.res.refused == 0 &&
		c1 - c0 == 150, "events %d err %d walked %u caplen %u chunks %zu addrs %zu learned %zu "
		"refused %zu; learned counter +%llu", rx.events, rx.err, rx.last.walked, rx.last.caplen,
		rx.res.chunks, rx.res.addrs, rx.res.learned, rx.res.refused, (unsigned long long)(c1 - c0));
	T_CHECK(C("fallback reader: the last 64 of 150 addresses are learned (per-name cap), the first is not"),
		learned_has("192.0.2.249", ncls_of("pool.y.vsee.com")) &&
		learned_has("192.0.2.186", ncls_of("pool.y.vsee.com")) && !learned_has("192.0.2.185", 0) &&
		!learned_has("192.0.2.100", 0), ".249 %d .186 %d .185 %d .100 %d",
		learned_has("192.0.2.249", 0), learned_has("192.0.2.186", 0), learned_has("192.0.2.185", 0),
		learned_has("192.0.2.100", 0));
	oracle_add("192.0.2.249", "pool.y.vsee.com");
	expect_pkt(C("fallback reader: tcp 192.0.2.249:80 allow late (learned from the second chunk)"),
		   "192.0.2.249", 6, 80, SL_V_PASS, "late");

	/* the same answer with no query: not trusted, nothing for user space */
	rx.events = 0;
	memset(&rx.res, 0, sizeof(rx.res));
	m.b[0] = 0x4f;
	{
		struct fr f;

		u0 = ctr(SL_L_UNSOLICITED);
		f0 = ctr(SL_L_FALLBACK);
		c0 = ctr(SL_L_LEARNED);
		frame(&f, "192.0.2.53", "192.0.2.1", 53, 40101, 0, m.b, m.n);
		ret = run(fd_learn, &f, NULL);
		ring_buffer__consume(rb);
		T_CHECK(C("untrusted: 151 records, no query -> unsolicited, no event, nothing learned"),
			ret == TC_ACT_UNSPEC && ctr(SL_L_UNSOLICITED) == u0 + 1 && ctr(SL_L_FALLBACK) == f0 &&
			rx.events == 0 && ctr(SL_L_LEARNED) == c0, "ret %d unsolicited +%llu events %d",
			ret, (unsigned long long)(ctr(SL_L_UNSOLICITED) - u0), rx.events);
	}

	/* a TCP answer spanning segments (SL_DL_BIG): the captured part, after the pending check */
	m_hdr(&m, 0x4020, 0x8180, "part.zoom.us", 1);
	for (int i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", 150 + i);
		m_a(&m, NULL, a, 300);
	}
	u0 = ctr(SL_L_UNSOLICITED);
	c0 = ctr(SL_L_LEARNED);
	ret = partial_tcp("part.zoom.us", 40102, &m, 400, 0);
	ring_buffer__consume(rb);
	T_CHECK(C("untrusted: a TCP answer spanning segments, no query -> unsolicited, no event"),
		ret == TC_ACT_UNSPEC && ctr(SL_L_UNSOLICITED) == u0 + 1 && rx.events == 0 && ctr(SL_L_LEARNED) == c0,
		"ret %d unsolicited +%llu events %d", ret, (unsigned long long)(ctr(SL_L_UNSOLICITED) - u0),
		rx.events);
	m.b[1] = 0x21;
	f0 = ctr(SL_L_FALLBACK);
	ret = partial_tcp("part.zoom.us", 40103, &m, 400, 1);
	ring_buffer__consume(rb);
	/* 12 + 18 bytes of header and question, 16 per record: 23 records in 400 bytes */
	T_CHECK(C("TCP answer spanning segments, asked for: 400 of 670 bytes to user space, 23 whole records learned"),
		ret == TC_ACT_UNSPEC && ctr(SL_L_FALLBACK) == f0 + 1 && rx.events == 1 && rx.last.caplen == 400 &&
		rx.last.len == m.n && rx.last.walked == 0 && rx.res.learned == 23 &&
		learned_has("203.0.113.150", ncls_of("part.zoom.us")) &&
		learned_has("203.0.113.172", ncls_of("part.zoom.us")) && !learned_has("203.0.113.173", 0),
		"ret %d events %d caplen %u len %u walked %u learned %zu", ret, rx.events, rx.last.caplen,
		rx.last.len, rx.last.walked, rx.res.learned);
	ring_buffer__free(rb);
}

static void bench(void)
{
	struct msg m, q;
	struct fr fq, fa;
	uint64_t sum = 0, n = 0, sumq = 0;
	__u32 d;

	m_hdr(&q, 0x5000, 0x0100, "bench.zoom.us", 1);
	frame(&fq, "192.0.2.1", "192.0.2.53", 41000, 53, 0, q.b, q.n);
	m_hdr(&m, 0x5000, 0x8180, "bench.zoom.us", 1);
	m_cname(&m, NULL, "edge.cdn.example", 300);
	m_a(&m, "edge.cdn.example", "203.0.113.50", 300);
	m_a(&m, "edge.cdn.example", "203.0.113.51", 300);
	frame(&fa, "192.0.2.53", "192.0.2.1", 53, 41000, 0, m.b, m.n);
	for (int i = 0; i < 2000; i++) {
		run(fd_tc, &fq, &d);
		if (i >= 100)
			sumq += d;
		run(fd_learn, &fa, &d);
		if (i >= 100) {
			sum += d;
			n++;
		}
	}
	printf("# cost: query on egress (classify + record) %llu ns; answer (CNAME + 2 A, learned) %llu ns "
	       "(BPF_PROG_TEST_RUN, mean of %llu)\n", (unsigned long long)(sumq / n),
	       (unsigned long long)(sum / n), (unsigned long long)n);
	{
		uint64_t si = 0, ni = 0;
		int ret;

		for (int i = 0; i < 2000; i++)
			if (!sl_inject_msg(fd_inject, m.b, m.n, &ret, &d) && ret == 2 && i >= 100) {
				si += d;
				ni++;
			}
		printf("# cost: sluice_inject (the same answer from user space, learned) %llu ns "
		       "(BPF_PROG_TEST_RUN, mean of %llu)\n", (unsigned long long)(ni ? si / ni : 0),
		       (unsigned long long)ni);
		T_CHECK(C("bench: an injected answer is learned in under 20 us"), ni == 1900 && si / ni < 20000,
			"%llu runs, %llu ns", (unsigned long long)ni, (unsigned long long)(ni ? si / ni : 0));
	}
	T_CHECK(C("bench: an answer is learned in under 20 us"), n && sum / n < 20000, "%llu ns",
		(unsigned long long)(n ? sum / n : 0));
}

int main(int argc, char **argv)
{
	char why[256];
	int do_bench = argc > 1 && !strcmp(argv[1], "-b");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(why, sizeof(why))) {
		T_SKIP("test_dns", "%s", why);
		return T_DONE();
	}
	cases_names();
	cases_learn();
	cases_malicious();
	cases_expiry();
	cases_run();
	bench();
	(void)do_bench;
	learn_test_bpf__destroy(sk);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	printf("# test_dns: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
