// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_dns_caps.c - the learner's bounds against floods (issue 20 items 5
 * and 6; docs/dns.md "Caps and counters"), under BPF_PROG_TEST_RUN:
 *   - pending queries are bounded per client (address, and local uid): a
 *     client that floods the learner with queries displaces only its own,
 *     and another client's answer is still learned;
 *   - learned addresses are capped per question name, not per name class:
 *     100 names under one wildcard keep one address each; one name with
 *     more addresses than the cap keeps the newest; the class total is
 *     bounded, and over it the name holding more than its fair share loses
 *     its oldest first; every eviction counted by its reason.
 * Needs root; otherwise SKIP.
 */
#include "dns.h"

static const char *RULES_CAPS =
	"policy drop;\n"
	"rule dns { allow udp 53; allow tcp 53; to 192.0.2.53, 2001:db8::53; }\n"
	"rule good { allow tcp 443; to *.good.example; }\n";

#define C(id) "test_dns_caps/" id

/* An answer to @q with one A record @a (TTL 300) from 192.0.2.53 to @client:@cport. */
static int answer_one(const char *client, uint16_t cport, uint16_t id, const char *q, const char *a)
{
	struct msg m;

	m_hdr(&m, id, 0x8180, q, 1);
	m_a(&m, NULL, a, 300);
	return exchange(client, "192.0.2.53", cport, 0, q, &m);
}

static void cases_pending(void)
{
	struct msg qm, m;
	struct fr f;
	uint64_t u0 = ctr(SL_L_UNSOLICITED), p0 = ctr(SL_L_PENDING_CLIENT), l0;
	int ok = 1;

	/* client A asks; client B floods 20,000 queries (more than "pending" holds) */
	m_hdr(&qm, 0x1234, 0x0100, "victim.good.example", 1);
	frame(&f, "192.0.2.10", "192.0.2.53", 41000, 53, 0, qm.b, qm.n);
	ok &= run(fd_tc, &f, NULL) == TC_ACT_UNSPEC;
	for (int i = 0; i < 20000 && ok; i++) {
		char q[64];

		snprintf(q, sizeof(q), "f%d.good.example", i);
		m_hdr(&qm, (uint16_t)i, 0x0100, q, 1);
		frame(&f, "192.0.2.66", "192.0.2.53", (uint16_t)(10000 + i % 50000), 53, 0, qm.b, qm.n);
		ok &= run(fd_tc, &f, NULL) == TC_ACT_UNSPEC;
	}
	T_CHECK(C("pending: 1 query from A, 20,000 from B recorded on egress"), ok, "test_run");
	l0 = ctr(SL_L_LEARNED);
	m_hdr(&m, 0x1234, 0x8180, "victim.good.example", 1);
	m_a(&m, NULL, "203.0.113.10", 300);
	frame(&f, "192.0.2.53", "192.0.2.10", 53, 41000, 0, m.b, m.n);
	run(fd_learn, &f, NULL);
	T_CHECK(C("pending: A's answer after B's flood is learned, not unsolicited"),
		learned_has("203.0.113.10", 0) && ctr(SL_L_LEARNED) == l0 + 1 &&
		ctr(SL_L_UNSOLICITED) == u0, "learned %d, unsolicited +%llu",
		learned_has("203.0.113.10", 0), (unsigned long long)(ctr(SL_L_UNSOLICITED) - u0));
	T_CHECK(C("pending: B displaced only its own queries, counted (pending_client)"),
		ctr(SL_L_PENDING_CLIENT) - p0 >= 20000 - SL_PENDING_PER_CLIENT,
		"pending_client +%llu", (unsigned long long)(ctr(SL_L_PENDING_CLIENT) - p0));
	/* B's newest query is still answerable: its own last SL_PENDING_PER_CLIENT stay */
	m_hdr(&m, 19999, 0x8180, "f19999.good.example", 1);
	m_a(&m, NULL, "203.0.113.11", 300);
	frame(&f, "192.0.2.53", "192.0.2.66", 53, (uint16_t)(10000 + 19999 % 50000), 0, m.b, m.n);
	run(fd_learn, &f, NULL);
	T_CHECK(C("pending: B's newest query is still answered"), learned_has("203.0.113.11", 0),
		"not learned");
}

static void cases_per_name(void)
{
	uint32_t ncls = ncls_of("x.good.example");
	uint64_t n0 = ctr(SL_L_CAP_NAME), c0 = ctr(SL_L_CAP_CLASS);
	int all = 1, i;
	char q[64], a[32];

	/* 100 names under *.good.example, one A record each, TTL 300 */
	for (i = 0; i < 100; i++) {
		snprintf(q, sizeof(q), "n%d.good.example", i);
		snprintf(a, sizeof(a), "198.51.100.%d", i + 1);
		answer_one("192.0.2.20", (uint16_t)(20000 + i), (uint16_t)(0x4000 + i), q, a);
	}
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i + 1);
		all &= learned_has(a, ncls);
	}
	T_CHECK(C("per name: 100 names under one wildcard keep their address each"), all,
		"an address of the first names was evicted");
	T_CHECK(C("per name: no eviction for them (cap_name, cap_class unchanged)"),
		ctr(SL_L_CAP_NAME) == n0 && ctr(SL_L_CAP_CLASS) == c0, "cap_name +%llu cap_class +%llu",
		(unsigned long long)(ctr(SL_L_CAP_NAME) - n0), (unsigned long long)(ctr(SL_L_CAP_CLASS) - c0));

	/* one name with 12 addresses in one answer: the cap (8 here) keeps the newest 8 */
	{
		struct msg m;
		int kept = 0, old = 0;

		m_hdr(&m, 0x5000, 0x8180, "big.good.example", 1);
		for (i = 0; i < 12; i++) {
			snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
			m_a(&m, NULL, a, 300);
		}
		exchange("192.0.2.20", "192.0.2.53", 30000, 0, "big.good.example", &m);
		for (i = 0; i < 12; i++) {
			snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
			if (learned_has(a, ncls) && i < 4)
				old++;
			else if (learned_has(a, ncls))
				kept++;
		}
		T_CHECK(C("per name: 12 addresses of one name keep the newest 8 (name cap)"),
			kept == 8 && old == 0, "kept %d of the newest 8, %d of the oldest 4", kept, old);
		T_CHECK(C("per name: 4 evictions counted as cap_name"), ctr(SL_L_CAP_NAME) == n0 + 4,
			"cap_name +%llu", (unsigned long long)(ctr(SL_L_CAP_NAME) - n0));
		all = 1;
		for (i = 0; i < 100; i++) {
			snprintf(a, sizeof(a), "198.51.100.%d", i + 1);
			all &= learned_has(a, ncls);
		}
		T_CHECK(C("per name: ... and cost the other 100 names nothing"), all, "evicted");
	}
}

/*
 * The class total (class_cap 160 here, name cap 8): the 100 one-address
 * names, big.good.example's 8 and the pending cases' 2 hold 110; a flooder's names
 * (hog0..hog19.good.example, 8 addresses each) fill the class; then the
 * 100 names each keep their address (under their fair share, never
 * evicted for another), and a new name still gets in: it evicts the
 * flooder's names, which hold more than their share.
 */
static void cases_class(void)
{
	uint32_t ncls = ncls_of("x.good.example");
	uint64_t c0 = ctr(SL_L_CAP_CLASS);
	struct msg m;
	char q[64], a[32];
	int all = 1, i, j, hog = 0;

	for (i = 0; i < 20; i++) {
		snprintf(q, sizeof(q), "hog%d.good.example", i);
		m_hdr(&m, (uint16_t)(0x6000 + i), 0x8180, q, 1);
		for (j = 0; j < 8; j++) {
			snprintf(a, sizeof(a), "2001:db8:6::%x", i * 8 + j + 1);
			m_a(&m, NULL, a, 300);
		}
		exchange("192.0.2.30", "192.0.2.53", (uint16_t)(31000 + i), 0, q, &m);
	}
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i + 1);
		all &= learned_has(a, ncls);
	}
	T_CHECK(C("class: a flood of names to the class total leaves the 100 small names' addresses"),
		all, "one of the 100 names lost its address");
	T_CHECK(C("class: evictions for the class total counted (cap_class)"), ctr(SL_L_CAP_CLASS) > c0,
		"cap_class +0");
	answer_one("192.0.2.20", 32000, 0x7000, "late.good.example", "192.0.2.200");
	T_CHECK(C("class: a new name after the flood is learned"), learned_has("192.0.2.200", ncls),
		"not learned");
	for (i = 0; i < 160; i++) {
		snprintf(a, sizeof(a), "2001:db8:6::%x", i + 1);
		hog += learned_has(a, ncls);
	}
	/* the class holds the 100, big's 8, the pending cases' 2 and late's 1:
	 * the flooder gets the rest of the 160, give or take a name's slot
	 * where it had no known name over its share to evict (include/sluice.h) */
	T_CHECK(C("class: the flooder's names hold about what is left of the total (49)"),
		hog > 0 && hog <= 160 - 111 + 8, "flooder holds %d", hog);
}

int main(void)
{
	char why[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	dns_class_cap = 160;
	if (dns_setup(RULES_CAPS, 8, why, sizeof(why))) {
		T_SKIP("test_dns_caps", "%s", why);
		return T_DONE();
	}
	cases_pending();
	cases_per_name();
	cases_class();
	learn_test_bpf__destroy(sk);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	printf("# test_dns_caps: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
