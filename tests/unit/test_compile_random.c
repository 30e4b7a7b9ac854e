/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_compile_random.c - the compiler (user/image/compile.c, partition.c)
 * on random rulesets (compile_util.h: rand_ruleset):
 *   - randomized differential check: sl_image_lookup (compiled tables,
 *     lookup.c) against sl_classify_pkt (semantics, classify.c) on every
 *     result field, on packets near the rules' prefixes and ports;
 *   - determinism, sortedness of the tables, dense class ids, well-formed
 *     port keys.
 *
 * SL_TEST_SEED=N reruns the differential check from seed N,
 * SL_TEST_RULESETS / SL_TEST_PACKETS change its size.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sl.h"
#include "test.h"
#include "compile_util.h"

/* ---------------------------------------------------- random packets */

static void rand_pkt(const struct sl_ruleset *rs, const struct anchors *an, struct sl_pkt *p)
{
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 17, 1, 58, 47, 0, 50, 59 };

	memset(p, 0, sizeof(*p));
	switch (rn(50)) {
	case 0:
		p->kind = SL_PK_MALFORMED;
		return;
	case 1:
		p->kind = SL_PK_NON_IP;
		return;
	}
	p->kind = SL_PK_IP;
	p->family = rn(3) == 0 ? AF_INET6 : AF_INET;
	{
		unsigned nbits = p->family == AF_INET ? 32 : 128;
		const struct sl_cidr *c = NULL;
		uint8_t base[16];

		/* Near a rule's prefix (inside, at its edges, just outside) or an anchor. */
		if (rs->nrules && rn(3) != 0) {
			const struct sl_rule *r = &rs->rules[rn((uint32_t)rs->nrules)];

			for (size_t k = 0; k < r->ndsts; k++)
				if (r->dsts[k].family == p->family && (!c || rn(2)))
					c = &r->dsts[k];
		}
		if (c) {
			memcpy(base, c->addr, 16);
			switch (rn(4)) {
			case 0:         /* first address */
				break;
			case 1:         /* last address */
				for (unsigned b = c->plen; b < nbits; b++)
					flip_bit(base, b);
				break;
			case 2:         /* random inside */
				for (unsigned b = c->plen; b < nbits; b++)
					if (rnd() & 1)
						flip_bit(base, b);
				break;
			default:        /* just outside: flip a bit of the prefix */
				if (c->plen)
					flip_bit(base, c->plen - 1 - rn(c->plen < 3 ? c->plen : 3));
				if (rn(2))
					for (unsigned b = c->plen; b < nbits; b++)
						flip_bit(base, b);
			}
			memcpy(p->dst, base, nbits / 8);
		} else {
			near_addr(p->dst, p->family == AF_INET ? an->v4[rn(6)] : an->v6[rn(6)],
				  nbits);
		}
	}
	p->proto = protos[rn(sizeof(protos))];
	p->fragment = rn(10) == 0;
	if (!p->fragment && (p->proto == 6 || p->proto == 17)) {
		/* Often a port taken from some rule's ranges, +-1. */
		if (rs->nrules && rn(2)) {
			const struct sl_rule *r = &rs->rules[rn((uint32_t)rs->nrules)];
			const struct sl_proto_line *l = &r->lines[rn((uint32_t)r->nlines)];

			if (l->nports) {
				const struct sl_port_range *pr = &l->ports[rn((uint32_t)l->nports)];
				int d = (int)rn(3) - 1;

				p->port = (uint16_t)((rn(2) ? pr->lo : pr->hi) + d);
			} else {
				p->port = rand_port();
			}
		} else {
			p->port = rand_port();
		}
	}
	if (!p->fragment && (p->proto == 1 || p->proto == 58))
		p->icmp_type = rn(3) == 0 ? (uint8_t)(132 + rn(7)) : (uint8_t)rnd();
}

static void pkt_str(const struct sl_pkt *p, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "-";

	if (p->kind == SL_PK_IP)
		inet_ntop(p->family, p->dst, a, sizeof(a));
	snprintf(out, n, "kind %d dst %s proto %u port %u frag %d icmp_type %u",
		 p->kind, a, p->proto, p->port, p->fragment, p->icmp_type);
}

static void res_str(const struct sl_result *r, char *out, size_t n)
{
	snprintf(out, n, "verdict %u reason %s flags %u proto %u rule %u port %u packets %u",
		 r->verdict, sl_reason_name(r->reason), r->flags, r->proto, r->rule,
		 r->port, r->packets);
}

static void rs_print(const struct sl_ruleset *rs)
{
	printf("#   policy %s; mode %s; control %s;\n",
	       rs->policy == SL_POLICY_ALLOW ? "allow" : "drop",
	       rs->mode == SL_MODE_AUDIT ? "audit" : "enforce",
	       rs->control_pass ? "pass" : "judge");
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];
		static const char *pn[] = { "tcp", "udp", "icmp", "icmpv6", "any" };

		printf("#   rule %s {", r->name);
		for (size_t l = 0; l < r->nlines; l++) {
			printf(" %s %s", r->action == SL_ACT_ALLOW ? "allow" : "deny",
			       pn[r->lines[l].proto]);
			for (size_t k = 0; k < r->lines[l].nports; k++)
				printf("%s%u-%u", k ? "," : " ", r->lines[l].ports[k].lo,
				       r->lines[l].ports[k].hi);
			printf(";");
		}
		printf(" to");
		for (size_t d = 0; d < r->ndsts; d++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(r->dsts[d].family, r->dsts[d].addr, a, sizeof(a));
			printf("%s %s/%u", d ? "," : "", a, r->dsts[d].plen);
		}
		printf("; }\n");
	}
}

static void test_differential(void)
{
	unsigned long nsets = env_ul("SL_TEST_RULESETS", 300);
	unsigned long npkts = env_ul("SL_TEST_PACKETS", 2000);
	unsigned long seed0 = env_ul("SL_TEST_SEED", 1);
	unsigned long mismatches = 0, compared = 0, failed_sets = 0;
	unsigned long reasons[6] = { 0 };

	for (unsigned long s = 0; s < nsets; s++) {
		unsigned long seed = seed0 + s;
		struct sl_ruleset rs;
		struct anchors an;
		struct sl_image img;
		uint16_t *slots;
		int err;
		bool bad = false;

		rng_state = seed * 0x100000001b3ULL;
		rand_ruleset(&rs, &an, s % 10 == 9 ? 40 : 10);
		/* Random distinct slots half the time. */
		slots = malloc(rs.nrules * sizeof(*slots));
		for (size_t i = 0; i < rs.nrules; i++)
			slots[i] = (uint16_t)i;
		if (rn(2))
			for (size_t i = rs.nrules; i-- > 1;) {
				size_t j = rn((uint32_t)i + 1);
				uint16_t t = slots[i];

				slots[i] = slots[j];
				slots[j] = t;
			}
		for (size_t i = 0; i < rs.nrules; i++)
			slots[i] = (uint16_t)(slots[i] * 37 % SL_MAX_RULES);   /* spread, distinct */

		err = sl_compile(&rs, slots, (uint32_t)seed, &img);
		if (err) {
			printf("# seed %lu: sl_compile %d\n", seed, err);
			failed_sets++;
			free(slots);
			rs_free(&rs);
			continue;
		}
		for (unsigned long k = 0; k < npkts; k++) {
			struct sl_pkt p;
			struct sl_result a, b;

			rand_pkt(&rs, &an, &p);
			sl_image_lookup(&img, &p, &a);
			sl_classify_pkt(&img, &p, 0, &b);
			compared++;
			reasons[b.reason < 6 ? b.reason : 0]++;
			if (memcmp(&a, &b, sizeof(a))) {
				char ps[200], as[200], bs[200];

				mismatches++;
				if (mismatches <= 5) {
					pkt_str(&p, ps, sizeof(ps));
					res_str(&a, as, sizeof(as));
					res_str(&b, bs, sizeof(bs));
					printf("# MISMATCH seed %lu packet %lu: %s\n#   tables:     %s\n"
					       "#   classifier: %s\n", seed, k, ps, as, bs);
					if (!bad)
						rs_print(&rs);
				}
				bad = true;
			}
		}
		if (bad)
			failed_sets++;
		sl_image_free(&img);
		free(slots);
		rs_free(&rs);
	}
	printf("# differential: %lu rulesets x %lu packets = %lu compared; reasons: rule %lu "
	       "policy %lu near_miss %lu malformed %lu non_ip %lu control %lu\n",
	       nsets, npkts, compared, reasons[0], reasons[1], reasons[2], reasons[3],
	       reasons[4], reasons[5]);
	T_CHECK("differential: compiled tables == classifier", mismatches == 0 && !failed_sets,
		"%lu mismatches in %lu rulesets (first seed %lu)", mismatches, failed_sets, seed0);
	T_CHECK("differential: every reason exercised", reasons[0] && reasons[1] && reasons[2] &&
		reasons[3] && reasons[4] && reasons[5], "some reason never seen");
}
/* Determinism and sortedness on a random ruleset. */
static int dst4_cmp(const struct sl_dst4_entry *a, const struct sl_dst4_entry *b)
{
	int c = memcmp(a->key.addr, b->key.addr, 4);

	return c ? c : (int)a->key.prefixlen - (int)b->key.prefixlen;
}

static int dst6_cmp(const struct sl_dst6_entry *a, const struct sl_dst6_entry *b)
{
	int c = memcmp(a->key.addr, b->key.addr, 16);

	return c ? c : (int)a->key.prefixlen - (int)b->key.prefixlen;
}

static int port_cmp(const struct sl_port_entry *a, const struct sl_port_entry *b)
{
	int c = memcmp(a->key.class_be, b->key.class_be, 4);

	if (!c)
		c = (int)a->key.pslot - (int)b->key.pslot;
	if (!c)
		c = memcmp(a->key.port_be, b->key.port_be, 2);
	return c ? c : (int)a->key.prefixlen - (int)b->key.prefixlen;
}

static void test_sorted_deterministic(void)
{
	bool sorted = true, same = true, dense = true, lpm_ok = true;

	for (unsigned long seed = 5000; seed < 5050; seed++) {
		struct sl_ruleset rs;
		struct anchors an;
		struct sl_image a, b;
		uint8_t *used;

		rng_state = seed;
		rand_ruleset(&rs, &an, 30);
		if (sl_compile(&rs, NULL, 1, &a) || sl_compile(&rs, NULL, 1, &b)) {
			sorted = false;
			rs_free(&rs);
			continue;
		}
		for (size_t i = 1; i < a.ndst4; i++)
			sorted &= dst4_cmp(&a.dst4[i - 1], &a.dst4[i]) < 0;
		for (size_t i = 1; i < a.ndst6; i++)
			sorted &= dst6_cmp(&a.dst6[i - 1], &a.dst6[i]) < 0;
		for (size_t i = 1; i < a.nports; i++)
			sorted &= port_cmp(&a.ports[i - 1], &a.ports[i]) < 0;
		same &= a.ndst4 == b.ndst4 && a.ndst6 == b.ndst6 && a.nports == b.nports &&
			a.nclasses == b.nclasses &&
			!memcmp(a.dst4, b.dst4, a.ndst4 * sizeof(*a.dst4)) &&
			!memcmp(a.dst6, b.dst6, a.ndst6 * sizeof(*a.dst6)) &&
			!memcmp(a.ports, b.ports, a.nports * sizeof(*a.ports));
		/* Class ids dense: every id < nclasses used by some dst entry. */
		used = calloc(a.nclasses + 1, 1);
		for (size_t i = 0; i < a.ndst4; i++)
			if (a.dst4[i].val.class_id < a.nclasses)
				used[a.dst4[i].val.class_id] = 1;
			else
				dense = false;
		for (size_t i = 0; i < a.ndst6; i++)
			if (a.dst6[i].val.class_id < a.nclasses)
				used[a.dst6[i].val.class_id] = 1;
			else
				dense = false;
		for (uint32_t i = 0; i < a.nclasses; i++)
			dense &= used[i];
		free(used);
		/* Every port entry: prefixlen 40..56, no host bits. */
		for (size_t i = 0; i < a.nports; i++) {
			uint32_t bits = a.ports[i].key.prefixlen - 40;
			uint16_t port = pk_port(&a.ports[i].key);

			if (a.ports[i].key.prefixlen < 40 || bits > 16 ||
			    (bits < 16 && (port & (0xffffu >> bits))) ||
			    pk_class(&a.ports[i].key) >= a.nclasses ||
			    a.ports[i].key.pslot >= SL_PSLOTS || a.ports[i].key.pad)
				lpm_ok = false;
		}
		sl_image_free(&a);
		sl_image_free(&b);
		rs_free(&rs);
	}
	T_CHECK("tables sorted by key", sorted, "unsorted table");
	T_CHECK("compile deterministic", same, "two compiles differ");
	T_CHECK("class ids dense", dense, "class ids not dense");
	T_CHECK("port keys well formed", lpm_ok, "bad port key");
}

int main(void)
{
	(void)t_skipped;
	test_sorted_deterministic();
	test_differential();
	return T_DONE();
}
