/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile_util.h - what the compiler's unit tests share (test_compile.c,
 * test_compile_random.c, test_fast4.c, test_frame.c, test_compile_speed.c):
 *   - rulesets built by hand in C, so that these tests do not depend on the
 *     rule parser (add_rule, add_line, add_dst, rs_init, rs_free, ...);
 *   - the fields of a port table key (pk_class, pk_port);
 *   - a seeded splitmix64 (rng_state, rnd, rn) and ports near the edges
 *     (rand_port);
 *   - random rulesets around random anchor addresses (rand_ruleset);
 *   - env_ul, a number from the environment.
 * Each test seeds rng_state itself.  Helpers are static inline: not every
 * test uses every one.
 */
#ifndef SL_TEST_COMPILE_UTIL_H
#define SL_TEST_COMPILE_UTIL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sl.h"

/* ------------------------------------------------------ ruleset builder */

static inline struct sl_rule *add_rule(struct sl_ruleset *rs, const char *name,
				enum sl_action act)
{
	struct sl_rule *r;

	rs->rules = realloc(rs->rules, (rs->nrules + 1) * sizeof(*rs->rules));
	r = &rs->rules[rs->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->action = act;
	return r;
}

/* ports: "443,8801-8802" or NULL / "" for every port. */
static inline void add_line(struct sl_rule *r, enum sl_proto proto, const char *ports)
{
	struct sl_proto_line *l;

	r->lines = realloc(r->lines, (r->nlines + 1) * sizeof(*r->lines));
	l = &r->lines[r->nlines++];
	memset(l, 0, sizeof(*l));
	l->proto = proto;
	while (ports && *ports) {
		char *end;
		unsigned long lo = strtoul(ports, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		l->ports = realloc(l->ports, (l->nports + 1) * sizeof(*l->ports));
		l->ports[l->nports].lo = (uint16_t)lo;
		l->ports[l->nports].hi = (uint16_t)hi;
		l->nports++;
		ports = *end == ',' ? end + 1 : end;
	}
}

static inline void add_line_ranges(struct sl_rule *r, enum sl_proto proto,
			    const struct sl_port_range *pr, size_t n)
{
	struct sl_proto_line *l;

	r->lines = realloc(r->lines, (r->nlines + 1) * sizeof(*r->lines));
	l = &r->lines[r->nlines++];
	memset(l, 0, sizeof(*l));
	l->proto = proto;
	if (n) {
		l->ports = malloc(n * sizeof(*pr));
		memcpy(l->ports, pr, n * sizeof(*pr));
		l->nports = n;
	}
}

static inline void add_cidr(struct sl_rule *r, uint8_t family, const uint8_t *addr, unsigned plen)
{
	struct sl_cidr *c;
	unsigned nb = family == AF_INET ? 4 : 16;

	r->dsts = realloc(r->dsts, (r->ndsts + 1) * sizeof(*r->dsts));
	c = &r->dsts[r->ndsts++];
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->plen = (uint8_t)plen;
	for (unsigned i = 0; i < nb; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		c->addr[i] = bits >= 8 ? addr[i] : (uint8_t)(addr[i] & (0xff00 >> bits));
	}
}

/* "10.0.0.0/8", "2001:db8::/32" */
static inline void add_dst(struct sl_rule *r, const char *cidr)
{
	char buf[64];
	uint8_t a[16] = { 0 };
	char *slash;
	unsigned plen;
	uint8_t fam;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	plen = fam == AF_INET ? 32 : 128;
	if (slash) {
		*slash = 0;
		plen = (unsigned)atoi(slash + 1);
	}
	if (inet_pton(fam, buf, a) != 1) {
		fprintf(stderr, "bad cidr %s\n", cidr);
		abort();
	}
	add_cidr(r, fam, a, plen);
}

static inline void rs_init(struct sl_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->policy = SL_POLICY_DROP;
	rs->mode = SL_MODE_ENFORCE;
	rs->control_pass = true;
}

static inline void rs_free(struct sl_ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];

		free(r->name);
		for (size_t l = 0; l < r->nlines; l++)
			free(r->lines[l].ports);
		free(r->lines);
		free(r->dsts);
	}
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

/* ----------------------------------------------------- port keys */

static inline uint32_t pk_class(const struct sl_port_key *k)
{
	return (uint32_t)k->class_be[0] << 24 | k->class_be[1] << 16 |
	       k->class_be[2] << 8 | k->class_be[3];
}

static inline uint16_t pk_port(const struct sl_port_key *k)
{
	return (uint16_t)(k->port_be[0] << 8 | k->port_be[1]);
}


/* --------------------------------------------------- random rulesets */

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static const uint16_t edge_ports[] = {
	0, 1, 2, 22, 52, 53, 54, 79, 80, 81, 255, 256, 442, 443, 444, 1023, 1024,
	1025, 8080, 8801, 8802, 8810, 32767, 32768, 65534, 65535,
};
#define NEDGE (sizeof(edge_ports) / sizeof(edge_ports[0]))

static inline uint16_t rand_port(void)
{
	switch (rn(3)) {
	case 0:  return (uint16_t)rnd();
	default: return edge_ports[rn(NEDGE)];
	}
}

struct anchors {
	uint8_t v4[6][4];
	uint8_t v6[6][16];
};

static inline void flip_bit(uint8_t *a, unsigned bit)
{
	a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

/* An address near an anchor: equal, or differing from bit @b on. */
static inline void near_addr(uint8_t *out, const uint8_t *anchor, unsigned nbits)
{
	unsigned nb = nbits / 8;

	memcpy(out, anchor, nb);
	switch (rn(4)) {
	case 0:
		break;
	case 1:
		flip_bit(out, rn(nbits));
		break;
	case 2: {       /* randomize the bits after a random position */
		unsigned from = rn(nbits + 1);

		for (unsigned b = from; b < nbits; b++)
			if (rnd() & 1)
				flip_bit(out, b);
		break;
	}
	default:
		for (unsigned i = 0; i < nb; i++)
			out[i] = (uint8_t)rnd();
	}
}

static inline unsigned rand_plen(unsigned max)
{
	static const unsigned p4[] = { 0, 1, 7, 8, 9, 12, 16, 20, 23, 24, 25, 28, 30, 31, 32 };
	static const unsigned p6[] = { 0, 3, 8, 16, 32, 47, 48, 56, 64, 65, 96, 112, 120, 127, 128 };

	if (rn(4) == 0)
		return rn(max + 1);
	return max == 32 ? p4[rn(sizeof(p4) / sizeof(p4[0]))] : p6[rn(sizeof(p6) / sizeof(p6[0]))];
}

static inline void rand_ruleset(struct sl_ruleset *rs, struct anchors *an, unsigned maxrules)
{
	unsigned nrules = 1 + rn(maxrules);

	rs_init(rs);
	rs->policy = rn(2) ? SL_POLICY_ALLOW : SL_POLICY_DROP;
	rs->mode = rn(4) == 0 ? SL_MODE_AUDIT : SL_MODE_ENFORCE;
	rs->control_pass = rn(4) != 0;
	for (int i = 0; i < 6; i++) {
		for (int k = 0; k < 4; k++)
			an->v4[i][k] = (uint8_t)rnd();
		for (int k = 0; k < 16; k++)
			an->v6[i][k] = (uint8_t)rnd();
	}
	/* Some anchors inside control ranges. */
	if (rn(3) == 0)
		an->v4[5][0] = rn(2) ? 127 : 224, an->v4[5][1] = 0, an->v4[5][2] = 0;
	if (rn(3) == 0)
		an->v6[5][0] = 0xff, an->v6[5][1] = 0x02;

	for (unsigned i = 0; i < nrules; i++) {
		char name[16];
		struct sl_rule *r;
		unsigned nlines = 1 + rn(3), ndst = 1 + rn(4);

		snprintf(name, sizeof(name), "r%u", i);
		r = add_rule(rs, name, rn(2) ? SL_ACT_ALLOW : SL_ACT_DENY);
		for (unsigned l = 0; l < nlines; l++) {
			static const enum sl_proto pr[] = { SL_PROTO_TCP, SL_PROTO_TCP, SL_PROTO_UDP,
				SL_PROTO_UDP, SL_PROTO_ICMP, SL_PROTO_ICMP6, SL_PROTO_ANY };
			enum sl_proto p = pr[rn(sizeof(pr) / sizeof(pr[0]))];
			struct sl_port_range ranges[4];
			size_t nr = 0;
			/* ports mostly on TCP/UDP; rarely on any/icmp (port 0 semantics) */
			bool ports = (p == SL_PROTO_TCP || p == SL_PROTO_UDP) ? rn(3) != 0 : rn(8) == 0;

			if (ports) {
				nr = 1 + rn(4);
				for (size_t k = 0; k < nr; k++) {
					uint16_t a = rand_port(), b;

					switch (rn(3)) {
					case 0:  b = a; break;
					case 1:  b = rand_port(); break;
					default: b = (uint16_t)(a + rn(40)); break;
					}
					if (b < a) {
						uint16_t t = a;

						a = b;
						b = t;
					}
					ranges[k].lo = a;
					ranges[k].hi = b;
				}
			}
			add_line_ranges(r, p, ranges, nr);
		}
		for (unsigned d = 0; d < ndst; d++) {
			uint8_t a[16];

			if (rn(3) == 0) {
				near_addr(a, an->v6[rn(6)], 128);
				add_cidr(r, AF_INET6, a, rand_plen(128));
			} else {
				near_addr(a, an->v4[rn(6)], 32);
				add_cidr(r, AF_INET, a, rand_plen(32));
			}
		}
	}
}

static inline unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

#endif
