// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_prog_diff.c - the BPF data path against the reference classifier
 * (sl_classify_frame) on many packets under BPF_PROG_TEST_RUN: the
 * SecureVideo pack with real vendor addresses (nothing is sent), then
 * seeded random rulesets and packets; a difference is shrunk to a small
 * ruleset and packet and printed with the seed to run it again.
 *
 *   build/tests/test_prog_diff [-s SEED] [-n RULESETS] [-p PACKETS] [-v] [-r: random only]
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN); otherwise prints SKIP and exits 0.
 */
#include "tset.h"

/* -------------------------------------------------- random differential */

struct rng { uint64_t s; };

static uint64_t rnd(struct rng *r)
{
	/* splitmix64 */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n) { return n ? (uint32_t)(rnd(r) % n) : 0; }
static int chance(struct rng *r, int pct) { return (int)rn(r, 100) < pct; }

struct gpfx { const char *txt; int fam; uint8_t addr[16]; int plen; };

static struct gpfx pool[] = {
	{ .txt = "10.0.0.0/8" }, { .txt = "10.1.0.0/16" }, { .txt = "10.1.2.0/24" }, { .txt = "10.1.2.128/25" },
	{ .txt = "10.1.2.7/32" }, { .txt = "10.2.0.0/16" }, { .txt = "3.7.35.0/25" }, { .txt = "192.0.2.0/24" },
	{ .txt = "192.0.2.0/28" }, { .txt = "192.0.2.16/28" }, { .txt = "224.0.0.0/4" }, { .txt = "127.0.0.0/8" },
	{ .txt = "0.0.0.0/0" }, { .txt = "198.51.100.0/24" }, { .txt = "198.51.100.128/26" },
	{ .txt = "2001:db8::/32" }, { .txt = "2001:db8:1::/48" }, { .txt = "2001:db8:1:2::/64" },
	{ .txt = "2001:db8:1:2::7/128" }, { .txt = "::/0" }, { .txt = "ff00::/8" }, { .txt = "2407:30c0::/32" },
	{ .txt = "2001:db8:8000::/33" }, { .txt = "::1/128" }, { .txt = "fe80::/10" },
};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

static void pool_init(void)
{
	for (size_t i = 0; i < NPOOL; i++) {
		char a[64], *sl;

		snprintf(a, sizeof(a), "%s", pool[i].txt);
		sl = strchr(a, '/');
		*sl = 0;
		pool[i].plen = atoi(sl + 1);
		pool[i].fam = strchr(a, ':') ? 6 : 4;
		memset(pool[i].addr, 0, 16);
		inet_pton(pool[i].fam == 6 ? AF_INET6 : AF_INET, a, pool[i].addr);
	}
}

struct gline { int proto; int nr; uint16_t lo[4], hi[4]; };
struct grule { int deny; int nl; struct gline l[3]; int nd; int d[4]; int dead; };
struct gset { int pallow, audit, ctlfilter; int nr; struct grule r[12]; };

static const char *gproto[] = { "tcp", "udp", "icmp", "icmpv6", "any" };
static const uint16_t port_edges[] = { 0, 1, 2, 22, 53, 79, 80, 81, 442, 443, 444, 1023, 1024,
				       3478, 8801, 8810, 32767, 32768, 65533, 65534, 65535 };

static void gen_set(struct rng *r, struct gset *g)
{
	memset(g, 0, sizeof(*g));
	g->pallow = chance(r, 25);
	g->audit = chance(r, 15);
	g->ctlfilter = chance(r, 30);
	g->nr = rn(r, 12) + (chance(r, 5) ? 0 : 1);
	for (int i = 0; i < g->nr; i++) {
		struct grule *ru = &g->r[i];
		int used = 0;

		ru->deny = chance(r, 35);
		ru->nl = 1 + rn(r, 3);
		for (int j = 0; j < ru->nl; j++) {
			struct gline *l = &ru->l[j];
			int p;

			do
				p = rn(r, 5);
			while (used & (1 << p));
			used |= 1 << p;
			l->proto = p;
			if (p <= 1 && chance(r, 75)) {
				/* sorted disjoint ranges with endpoints from the edges */
				int n = 1 + rn(r, 4);
				uint32_t at = 0;

				for (int k = 0; k < n && at <= 65535; k++) {
					uint32_t lo, hi;

					lo = chance(r, 60) ? port_edges[rn(r, sizeof(port_edges) / 2)] : rn(r, 65536);
					if (lo < at)
						lo = at + rn(r, 2000);
					if (lo > 65535)
						break;
					hi = chance(r, 40) ? lo : lo + (chance(r, 50) ? rn(r, 10) : rn(r, 20000));
					if (hi > 65535)
						hi = 65535;
					l->lo[l->nr] = lo;
					l->hi[l->nr] = hi;
					l->nr++;
					at = hi + 2;
				}
			}
		}
		ru->nd = 1 + rn(r, 3);
		for (int j = 0; j < ru->nd; j++)
			ru->d[j] = rn(r, NPOOL);
	}
}

static char *render_set(const struct gset *g)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	fprintf(f, "policy %s;\n", g->pallow ? "allow" : "drop");
	if (g->audit)
		fprintf(f, "mode audit;\n");
	if (g->ctlfilter)
		fprintf(f, "control filter;\n");
	for (int i = 0; i < g->nr; i++) {
		const struct grule *ru = &g->r[i];
		int nd = 0;

		if (ru->dead)
			continue;
		fprintf(f, "rule r%d {", i);
		for (int j = 0; j < ru->nl; j++) {
			const struct gline *l = &ru->l[j];

			fprintf(f, " %s %s", ru->deny ? "deny" : "allow", gproto[l->proto]);
			for (int k = 0; k < l->nr; k++) {
				if (l->lo[k] == l->hi[k])
					fprintf(f, "%s%u", k ? ", " : " ", l->lo[k]);
				else
					fprintf(f, "%s%u-%u", k ? ", " : " ", l->lo[k], l->hi[k]);
			}
			fprintf(f, ";");
		}
		fprintf(f, " to");
		for (int j = 0; j < ru->nd; j++) {
			int dup = 0;

			for (int q = 0; q < j; q++)
				dup |= ru->d[q] == ru->d[j];
			if (dup)
				continue;
			fprintf(f, "%s %s", nd++ ? "," : "", pool[ru->d[j]].txt);
		}
		fprintf(f, "; }\n");
	}
	fclose(f);
	return buf;
}


static int parser_missing;      /* sl_ruleset_parse returned -ENOSYS (stub) */

/* The same ruleset as render_set(), built directly (parser-independent). */
static void build_set(const struct gset *g, struct sl_ruleset *rs)
{
	static const enum sl_proto pmap[] = { SL_PROTO_TCP, SL_PROTO_UDP, SL_PROTO_ICMP,
					      SL_PROTO_ICMP6, SL_PROTO_ANY };

	memset(rs, 0, sizeof(*rs));
	rs->policy = g->pallow ? SL_POLICY_ALLOW : SL_POLICY_DROP;
	rs->mode = g->audit ? SL_MODE_AUDIT : SL_MODE_ENFORCE;
	rs->control_pass = !g->ctlfilter;
	rs->rules = calloc(g->nr ? g->nr : 1, sizeof(*rs->rules));
	for (int i = 0; i < g->nr; i++) {
		const struct grule *ru = &g->r[i];
		struct sl_rule *o;
		char nm[16];

		if (ru->dead)
			continue;
		o = &rs->rules[rs->nrules++];
		snprintf(nm, sizeof(nm), "r%d", i);
		o->name = strdup(nm);
		o->action = ru->deny ? SL_ACT_DENY : SL_ACT_ALLOW;
		o->lines = calloc(ru->nl, sizeof(*o->lines));
		o->nlines = ru->nl;
		for (int j = 0; j < ru->nl; j++) {
			o->lines[j].proto = pmap[ru->l[j].proto];
			o->lines[j].nports = ru->l[j].nr;
			o->lines[j].ports = calloc(ru->l[j].nr + 1, sizeof(*o->lines[j].ports));
			for (int k = 0; k < ru->l[j].nr; k++) {
				o->lines[j].ports[k].lo = ru->l[j].lo[k];
				o->lines[j].ports[k].hi = ru->l[j].hi[k];
			}
		}
		o->dsts = calloc(ru->nd, sizeof(*o->dsts));
		for (int j = 0; j < ru->nd; j++) {
			const struct gpfx *p = &pool[ru->d[j]];
			int dup = 0;

			for (int q = 0; q < j; q++)
				dup |= ru->d[q] == ru->d[j];
			if (dup)
				continue;
			o->dsts[o->ndsts].family = p->fam == 6 ? AF_INET6 : AF_INET;
			o->dsts[o->ndsts].plen = p->plen;
			memcpy(o->dsts[o->ndsts].addr, p->addr, 16);
			o->ndsts++;
		}
	}
}

/* Load a generated set: through the parser, or built directly while it is a stub. */
static int gset_open(struct tset *t, const struct gset *g, char *why, size_t cap)
{
	char *text = render_set(g);
	int e;

	if (!parser_missing) {
		e = tset_open(t, "random", text, why, cap);
		if (e == -ENOSYS)
			parser_missing = 1;
		else {
			free(text);
			return e;
		}
	}
	{
		struct sl_ruleset rs;

		build_set(g, &rs);
		e = tset_open_built(t, "random", text, &rs, why, cap);
	}
	free(text);
	return e;
}

/* A destination: inside a pool prefix (edges favoured), next to one, or anywhere. */
static void gen_addr(struct rng *r, const struct gset *g, struct pk_spec *s)
{
	int k = rn(r, 100);
	const struct gpfx *p;
	int bytes, i, edge;

	if (k < 5) {
		static const char *ctl[] = { "224.0.0.1", "224.0.0.255", "127.0.0.1", "::1", "ff02::2",
					     "ff02::1:ff00:7", "224.0.1.0", "ff01::1", "ff03::1" };
		const char *a = ctl[rn(r, sizeof(ctl) / sizeof(ctl[0]))];

		s->family = strchr(a, ':') ? 6 : 4;
		memset(s->dst, 0, 16);
		inet_pton(s->family == 6 ? AF_INET6 : AF_INET, a, s->dst);
		return;
	}
	if (k < 15 || g->nr == 0) {
		s->family = chance(r, 50) ? 4 : 6;
		for (i = 0; i < 16; i++)
			s->dst[i] = rn(r, 256);
		if (s->family == 6 && chance(r, 50)) {
			s->dst[0] = 0x20; s->dst[1] = 0x01; s->dst[2] = 0x0d; s->dst[3] = 0xb8;
		}
		return;
	}
	/* a prefix from the rules (or the whole pool) */
	if (chance(r, 85) && g->nr) {
		const struct grule *ru = &g->r[rn(r, g->nr)];

		p = &pool[ru->d[rn(r, ru->nd)]];
	} else {
		p = &pool[rn(r, NPOOL)];
	}
	s->family = p->fam;
	bytes = p->fam == 6 ? 16 : 4;
	memcpy(s->dst, p->addr, 16);
	edge = rn(r, 10);       /* 0-2 first, 3-5 last, 6 below, 7 above, else random */
	for (i = 0; i < bytes * 8; i++) {
		int bit;

		if (i < p->plen)
			continue;
		bit = edge < 3 ? 0 : edge < 6 ? 1 : (int)rn(r, 2);
		if (edge == 6)
			bit = 1;
		if (edge == 7)
			bit = 1;
		if (bit)
			s->dst[i / 8] |= 0x80 >> (i % 8);
		else
			s->dst[i / 8] &= ~(0x80 >> (i % 8));
	}
	if (edge == 6 || edge == 7) {
		/* edge 6: first - 1 (= prefix with all host bits set, minus the prefix's last bit... ) */
		/* simpler: add or subtract one from the whole address */
		if (edge == 6) {
			/* first address - 1 */
			for (i = p->plen; i < bytes * 8; i++)
				s->dst[i / 8] &= ~(0x80 >> (i % 8));
			for (i = bytes - 1; i >= 0 && s->dst[i]-- == 0; i--)
				;
		} else {
			for (i = bytes - 1; i >= 0 && ++s->dst[i] == 0; i--)
				;
		}
	}
	if (bytes == 4)
		memset(s->dst + 4, 0, 12);
}

/* A remote port: edges of the rules' ranges, or anything. */
static uint16_t gen_port(struct rng *r, const struct gset *g)
{
	int k = rn(r, 100);

	if (k < 60 && g->nr) {
		const struct grule *ru = &g->r[rn(r, g->nr)];
		const struct gline *l = &ru->l[rn(r, ru->nl)];

		if (l->nr) {
			int q = rn(r, l->nr);
			int v = (int)(rn(r, 2) ? l->lo[q] : l->hi[q]) + (int)rn(r, 3) - 1;

			return v < 0 ? 65535 : v > 65535 ? 0 : v;
		}
		return rn(r, 65536);
	}
	if (k < 70)
		return port_edges[rn(r, sizeof(port_edges) / 2)];
	return rn(r, 65536);
}

/* A remote address of @family (from the rules mostly), into @a. */
static void gen_remote(struct rng *r, const struct gset *g, int family, uint8_t *a)
{
	struct pk_spec t;

	for (int i = 0; i < 4; i++) {
		memset(&t, 0, sizeof(t));
		gen_addr(r, g, &t);
		if (t.family == family)
			break;
	}
	if (t.family != family) {
		memset(t.dst, 0, 16);
		for (int i = 0; i < (family == 6 ? 16 : 4); i++)
			t.dst[i] = rn(r, 256);
	}
	memcpy(a, t.dst, 16);
}

/* The local side of an inbound packet: an address of ours, or control ones. */
static void gen_local(struct rng *r, int family, uint8_t *a, uint16_t *port)
{
	static const char *c4[] = { "192.0.2.1", "192.0.2.77", "224.0.0.1", "127.0.0.1",
				    "255.255.255.255", "224.0.1.1" };
	static const char *c6[] = { "2001:db8::1", "2001:db8:ffff::9", "ff02::1", "::1",
				    "ff02::1:2", "ff05::1:3" };
	const char *x = family == 6 ? c6[rn(r, 6)] : c4[rn(r, 6)];

	memset(a, 0, 16);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, chance(r, 70) ? (family == 6 ? c6[0] : c4[0]) : x, a);
	*port = chance(r, 10) ? (family == 6 ? 546 : 68) : rn(r, 65536);
}

/*
 * Directions and ICMP errors: half the packets are inbound (the remote side
 * in the source); an ICMP / ICMPv6 packet is often an error quoting a
 * packet of the other direction (sometimes cut, sometimes an error itself).
 */
static void gen_dir(struct rng *r, const struct gset *g, struct pk_spec *s)
{
	static struct pk_spec qs;       /* the quote of the packet being generated */

	if (chance(r, 50)) {
		s->inbound = 1;
		memcpy(s->src, s->dst, 16);
		s->sport = s->dport;
		gen_local(r, s->family, s->dst, &s->dport);
		if (chance(r, 10))
			s->sport = s->family == 6 ? 547 : 67;
		if (s->family == 6 && chance(r, 5)) {
			s->src[0] = 0xfe;
			s->src[1] = 0x80 | rn(r, 0x40);
		}
	} else if (chance(r, 30)) {
		gen_remote(r, g, s->family, s->src);
		s->sport = rn(r, 65536);
	}
	if ((s->proto != 1 || s->family != 4) && (s->proto != 58 || s->family != 6))
		return;
	if (!chance(r, 60))
		return;
	if (s->family == 4) {
		static const uint8_t t4[] = { 3, 3, 11, 12, 4, 5 };
		s->icmp_type = t4[rn(r, sizeof(t4))];
	} else {
		s->icmp_type = 1 + rn(r, 4);
	}
	memset(&qs, 0, sizeof(qs));
	qs.family = s->family;
	{
		int k = rn(r, 100);

		qs.proto = k < 40 ? 6 : k < 75 ? 17 : k < 85 ? (s->family == 6 ? 58 : 1) : k < 90 ? 47 :
			   k < 95 ? 132 : 59;
	}
	if (!s->inbound) {      /* the quote came in: its source is the remote */
		gen_remote(r, g, s->family, qs.src);
		qs.sport = gen_port(r, g);
		gen_local(r, s->family, qs.dst, &qs.dport);
	} else {                /* the quote went out: its destination is the remote */
		gen_remote(r, g, s->family, qs.dst);
		qs.dport = gen_port(r, g);
		qs.sport = rn(r, 65536);
	}
	if (qs.proto == 1 || qs.proto == 58)
		qs.icmp_type = chance(r, 30) ? (qs.family == 6 ? 2 : 3) : 8 + 120 * (qs.family == 6);
	if (qs.family == 4 && chance(r, 10))
		qs.ip4_optlen = 4 * (1 + rn(r, 4));
	if (qs.family == 4 && chance(r, 10))
		qs.frag = PK_FRAG_LATER;
	if (qs.family == 6 && chance(r, 15))
		add_ext(&qs, chance(r, 30) ? 44 : 0, rn(r, 2), chance(r, 50) ? 1 + rn(r, 100) : 0);
	if (qs.nexts && qs.ext_type[0] == 44 && qs.ext_fragoff[0])
		qs.frag = PK_FRAG_LATER;
	qs.payload = rn(r, 3) ? 0 : rn(r, 20);
	if (chance(r, 5))
		qs.bad_version = rn(r, 16);
	s->quote = &qs;
	s->quote_cut = chance(r, 15) ? 1 + (int)rn(r, 60) : 0;
}

static void gen_pkt(struct rng *r, const struct gset *g, struct pk_spec *s, uint32_t *gso)
{
	int k;

	memset(s, 0, sizeof(*s));
	*gso = chance(r, 5) ? 2 + rn(r, 63) : 0;
	k = rn(r, 100);
	s->nvlan = k < 80 ? 0 : k < 90 ? 1 : k < 97 ? 2 : 3;
	for (int i = 0; i < s->nvlan; i++)
		s->vlan_tpid[i] = chance(r, 20) ? 0x88a8 : 0x8100;
	s->payload = rn(r, 3) ? rn(r, 40) : 0;
	if (chance(r, 3)) {
		s->ethertype = chance(r, 50) ? 0x0806 : 0x88cc;
		return;
	}
	gen_addr(r, g, s);
	k = rn(r, 100);
	s->proto = k < 35 ? 6 : k < 65 ? 17 : k < 73 ? 1 : k < 81 ? 58 : k < 86 ? 47 :
		   k < 89 ? 50 : k < 92 ? 59 : k < 95 ? 132 : rn(r, 256);
	if (s->family == 6 && (s->proto == 0 || s->proto == 43 || s->proto == 60 ||
			       s->proto == 44 || s->proto == 51))
		s->proto = 59;
	s->dport = gen_port(r, g);
	if (s->proto == 58) {
		static const uint8_t t6[] = { 128, 129, 132, 133, 134, 135, 136, 137, 138, 1, 255 };
		s->icmp_type = t6[rn(r, sizeof(t6))];
		if (chance(r, 50))      /* what neighbour discovery must have (control.h sl_is_nd) */
			s->hop_limit = chance(r, 90) ? 255 : 254;
		if (chance(r, 20))
			s->payload = rn(r, 3) ? 16 + rn(r, 3) * 20 : 1200 + rn(r, 80);
	} else if (s->proto == 1) {
		s->icmp_type = chance(r, 50) ? 8 : rn(r, 256);
	}
	if (s->family == 4) {
		if (chance(r, 15))
			s->ip4_optlen = 4 * (1 + rn(r, 10));
		k = rn(r, 100);
		s->frag = k < 8 ? PK_FRAG_FIRST : k < 18 ? PK_FRAG_LATER : k < 21 ? PK_FRAG_LAST : 0;
		if (s->frag >= PK_FRAG_LATER && chance(r, 60))
			s->frag_offset = chance(r, 30) ? 1u << rn(r, 13) : 1 + rn(r, 8191);
		s->df = !s->frag && chance(r, 30);
	} else {
		static const uint8_t et[] = { 0, 43, 60, 51, 44 };
		int n = 0;

		k = rn(r, 100);
		if (k < 20)
			n = 1 + rn(r, 3);
		else if (k < 26)
			n = 7 + rn(r, 3);
		for (int i = 0; i < n; i++) {
			uint8_t t = et[rn(r, 5)];

			add_ext(s, t, rn(r, 4) ? rn(r, 3) : rn(r, 256), 0);
		}
		k = rn(r, 100);
		if (k < 12) {
			/* a fragment header somewhere in the chain */
			int at = s->nexts ? (int)rn(r, s->nexts + 1) : 0;

			if (s->nexts < PK_MAX_EXT) {
				memmove(&s->ext_type[at + 1], &s->ext_type[at], s->nexts - at);
				memmove(&s->ext_len[at + 1], &s->ext_len[at], s->nexts - at);
				memmove(&s->ext_fragoff[at + 1], &s->ext_fragoff[at],
					(s->nexts - at) * sizeof(s->ext_fragoff[0]));
				s->ext_type[at] = 44;
				s->ext_len[at] = 0;
				s->ext_fragoff[at] = k < 6 ? (chance(r, 30) ? 1u << rn(r, 13) : 1 + rn(r, 8191)) : 0;
				s->nexts++;
				s->frag = k < 6 ? PK_FRAG_LATER : PK_FRAG_FIRST;
			}
		}
	}
	gen_dir(r, g, s);
	k = rn(r, 100);
	if (k < 2)
		s->bad_version = rn(r, 16);
	else if (k < 4 && s->family == 4)
		s->bad_ihl = rn(r, 16);
	if (chance(r, 10)) {
		uint8_t tmp[4096];
		struct pk_offs o;
		int full = (int)pk_build(s, tmp, &o);

		/* cut near the interesting headers mostly */
		if (chance(r, 70) && o.l4 + 4 > 14)
			s->cut = 14 + rn(r, (o.l4 + 4 - 14) > 0 ? o.l4 + 4 - 14 : 1);
		else
			s->cut = 14 + rn(r, full > 14 ? full - 14 : 1);
		if (s->cut < 14)
			s->cut = 14;
	}
}

/* One packet against a loaded set: 0 agree, 1 differ (descr. in @why). */
static int diff_one(struct tset *t, const struct pk_spec *s, uint32_t gso,
		    struct sl_result *bo, struct sl_result *oo, size_t *lenp, int *via_xdp,
		    char *why, size_t cap)
{
	uint8_t frame[4096];
	size_t len = pk_build(s, frame, NULL);
	struct sluice_bpf *sk = tset_skel(t, s->inbound);
	int rv = 0, e, xdp = tc_refuses(frame, len);

	*lenp = len;
	*via_xdp = xdp;
	memset(bo, 0, sizeof(*bo));
	if (!sk) {
		snprintf(why, cap, "the inbound programs do not load");
		return 1;
	}
	if (xdp) {
		gso = 0;
		e = run_xdp(bpf_program__fd(sk->progs.sluice_xdp), bpf_map__fd(sk->maps.last),
			    frame, len, bo, &rv);
	} else {
		e = run_prog(bpf_program__fd(sk->progs.sluice_tc), bpf_map__fd(sk->maps.last),
			     frame, len, gso, bo, &rv);
	}
	if (e) {
		snprintf(why, cap, "test_run: %s", strerror(-e));
		return 1;
	}
	memset(oo, 0, sizeof(*oo));
	sl_classify_frame_dir(&t->img, frame, len, s->inbound ? SL_DIR_IN : SL_DIR_OUT, gso, oo);
	if (bo->reason == RES_UNSET) {
		snprintf(why, cap, "program recorded nothing");
		return 1;
	}
	if (xdp ? rv != (bo->verdict == SL_V_PASS ? XDP_PASS : XDP_DROP) : !tc_verdict_ok(rv, bo)) {
		snprintf(why, cap, "return code %d disagrees with recorded verdict", rv);
		return 1;
	}
	if (res_differ(bo, oo, 1)) {
		char bs[160], os[160];

		res_str(t, bo, bs, sizeof(bs));
		res_str(t, oo, os, sizeof(os));
		snprintf(why, cap, "%sbpf %s != oracle %s", xdp ? "(xdp) " : "", bs, os);
		return 1;
	}
	return 0;
}

/* Does the mismatch persist with this (reduced) set?  -1: set does not load. */
static int still_fails(const struct gset *g, const struct pk_spec *s, uint32_t gso)
{
	struct tset t;
	struct sl_result b, o;
	size_t len;
	char why[1024];
	int bad, x;

	if (gset_open(&t, g, why, sizeof(why)))
		return -1;
	bad = diff_one(&t, s, gso, &b, &o, &len, &x, why, sizeof(why));
	tset_close(&t);
	return bad;
}

/* Shrink a failing (ruleset, packet) pair and print it. */
static void shrink_and_print(struct gset g, struct pk_spec s, uint32_t gso, uint64_t seed)
{
	int changed = 1;

	while (changed) {
		changed = 0;
		for (int i = 0; i < g.nr; i++) {
			if (g.r[i].dead)
				continue;
			g.r[i].dead = 1;
			if (still_fails(&g, &s, gso) == 1) {
				changed = 1;
				continue;
			}
			g.r[i].dead = 0;
			for (int j = 0; g.r[i].nl > 1 && j < g.r[i].nl; j++) {
				struct grule keep = g.r[i];

				memmove(&g.r[i].l[j], &g.r[i].l[j + 1], (g.r[i].nl - j - 1) * sizeof(g.r[i].l[0]));
				g.r[i].nl--;
				if (still_fails(&g, &s, gso) == 1) {
					changed = 1;
					j--;
				} else {
					g.r[i] = keep;
				}
			}
			for (int j = 0; g.r[i].nd > 1 && j < g.r[i].nd; j++) {
				struct grule keep = g.r[i];

				memmove(&g.r[i].d[j], &g.r[i].d[j + 1], (g.r[i].nd - j - 1) * sizeof(g.r[i].d[0]));
				g.r[i].nd--;
				if (still_fails(&g, &s, gso) == 1) {
					changed = 1;
					j--;
				} else {
					g.r[i] = keep;
				}
			}
		}
		/* the packet */
#define TRY(field, val) do { if (s.field != (val)) { struct pk_spec k2 = s; s.field = (val); \
	if (still_fails(&g, &s, gso) == 1) changed = 1; else s = k2; } } while (0)
		TRY(nvlan, 0);
		TRY(ip4_optlen, 0);
		TRY(payload, 0);
		TRY(nexts, 0);
		TRY(cut, 0);
		TRY(quote_cut, 0);
		TRY(sport, 0);
		TRY(inbound, 0);
		if (gso) {
			if (still_fails(&g, &s, 0) == 1) {
				gso = 0;
				changed = 1;
			}
		}
#undef TRY
	}
	{
		char *text = render_set(&g);
		char desc[512], why[1024];
		uint8_t frame[4096];
		size_t len = pk_build(&s, frame, NULL);
		struct tset t;
		struct sl_result b, o;
		int x;

		printf("# ---- random differential mismatch (seed %llu), minimal case:\n",
		       (unsigned long long)seed);
		printf("# ruleset:\n%s", text);
		pk_describe(&s, desc, sizeof(desc));
		printf("# packet: %s gso_segs %u, %zu bytes:\n", desc, gso, len);
		pk_hex(frame, len, stdout);
		if (!gset_open(&t, &g, why, sizeof(why))) {
			if (diff_one(&t, &s, gso, &b, &o, &len, &x, why, sizeof(why)))
				printf("# %s\n", why);
			tset_close(&t);
		}
		free(text);
	}
}

static void random_diff(uint64_t seed, int nsets, int npkts)
{
	struct rng r = { seed };
	const int batch = 10;
	int n_via_xdp = 0, by_reason[SL_R_CONTROL + 1] = {0}, n_frag = 0, n_drop = 0;
	int b0 = 0, fails_in_batch = 0, pk_in_batch = 0, shrunk = 0, n_in = 0, n_err = 0;
	char first[2048] = "";
	struct timespec t0, t1;

	pool_init();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int si = 0; si < nsets; si++) {
		struct gset g;
		struct tset t;
		struct snap before, after, exp;
		char why[2048], *text;
		int e;
		int set_bad = 0;

		gen_set(&r, &g);
		/* every other: the IPv4 table's compact nodes (not dense);
		 * every fifth: 16-bit leaves for class index 0 only (the others
		 * ask dst4, SL_DIR4_TRIE) */
		sl_fast4_dense_lines = si % 2 ? 0 : SL_FAST4_DENSE_LINES;
		sl_fast4_leaf_max = si % 5 == 4 ? 1 : SL_DIR4_LEAF_MAX;
		e = gset_open(&t, &g, why, sizeof(why));
		sl_fast4_leaf_max = SL_DIR4_LEAF_MAX;
		sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
		if (e) {
			text = render_set(&g);
			fails_in_batch++;
			if (!first[0])
				snprintf(first, sizeof(first), "ruleset %d does not load: %.900s\n%.900s", si, why, text);
			free(text);
			goto next;
		}
		snap_read(&t, &before);
		memset(&exp, 0, sizeof(exp));
		for (int pi = 0; pi < npkts; pi++) {
			struct pk_spec s;
			struct sl_result bo, oo;
			uint32_t gso;
			size_t len;
			int x;

			gen_pkt(&r, &g, &s, &gso);
			pk_in_batch++;
			if (diff_one(&t, &s, gso, &bo, &oo, &len, &x, why, sizeof(why))) {
				fails_in_batch++;
				set_bad = 1;
				if (!first[0]) {
					char desc[256];

					pk_describe(&s, desc, sizeof(desc));
					snprintf(first, sizeof(first), "ruleset %d packet %d [%s gso %u]: %.1500s",
						 si, pi, desc, gso, why);
				}
				if (!shrunk) {
					shrunk = 1;
					shrink_and_print(g, s, gso, seed);
				}
			}
			n_via_xdp += x;
			if (bo.reason <= SL_R_CONTROL)
				by_reason[bo.reason]++;
			n_frag += !!(bo.flags & SL_RF_FRAGMENT);
			n_err += !!(bo.flags & SL_RF_ICMP_ERR);
			n_in += s.inbound;
			n_drop += bo.verdict == SL_V_DROP;
			expect_add(&t, &bo, x || !gso ? 1 : gso, len, &exp);
		}
		snap_read(&t, &after);
		if (!set_bad && snap_cmp(&t, &before, &after, &exp, why, sizeof(why))) {
			fails_in_batch++;
			if (!first[0])
				snprintf(first, sizeof(first), "ruleset %d counters:%.1900s", si, why);
		}
		tset_close(&t);
next:
		if ((si + 1) % batch == 0 || si + 1 == nsets) {
			char name[160];

			snprintf(name, sizeof(name),
				 "random differential rulesets %d-%d (%d packets, seed %llu)",
				 b0, si, pk_in_batch, (unsigned long long)seed);
			T_CHECK(name, fails_in_batch == 0, "%d mismatches, first: %s", fails_in_batch, first);
			b0 = si + 1;
			fails_in_batch = 0;
			pk_in_batch = 0;
			first[0] = 0;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (parser_missing)
		printf("# random differential: parser is a stub, rulesets built directly\n");
	printf("# random differential: %d packets with a cut IP header ran through sluice_xdp "
	       "(test_run refuses them as skbs)\n", n_via_xdp);
	printf("# random differential: by reason:");
	for (int i = 0; i <= SL_R_CONTROL; i++)
		printf(" %s %d", sl_reason_name(i), by_reason[i]);
	printf("; fragments %d, drops %d; inbound %d, judged by an ICMP error's quote %d\n",
	       n_frag, n_drop, n_in, n_err);
	printf("# random differential: %d rulesets x %d packets in %.1f s\n", nsets, npkts,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/*
 * The shipped SecureVideo pack (rules/securevideo.rules: includes, sets,
 * vendor address files pasted verbatim): packets to the edges of every
 * prefix it compiles to, every port edge of its rules, through the data
 * path and the oracle.
 */
static void real_pack_diff(uint64_t seed, int npkts)
{
	static const char *path = "rules/securevideo.rules";
	struct sl_diags d = {0};
	struct tset t;
	struct rng r = { seed ^ 0x5eed };
	struct snap before, after, exp;
	char why[2048], first[2048] = "", name[160];
	uint16_t ports[512];
	int nports = 0, fails = 0, e;

	if (access(path, R_OK)) {
		T_SKIP("securevideo pack differential", "%s not found (run from the repository root)", path);
		return;
	}
	memset(&t, 0, sizeof(t));
	e = sl_ruleset_load(path, &t.rs, &d);
	if (e) {
		sl_diag_print(&d, stdout);
		sl_diag_free(&d);
		T_FAIL("securevideo pack differential", "%s does not load: %s", path, strerror(-e));
		return;
	}
	sl_diag_free(&d);
	t.name = path;
	if ((e = sl_compile(&t.rs, NULL, 1, &t.img)) || (e = sl_bpf_load(&t.img, true, NULL, &t.skel))) {
		T_FAIL("securevideo pack differential", "compile/load: %s", strerror(-e));
		sl_ruleset_free(&t.rs);
		return;
	}
	t.ok = 1;
	for (size_t i = 0; i < t.rs.nrules; i++)
		for (size_t j = 0; j < t.rs.rules[i].nlines; j++)
			for (size_t k = 0; k < t.rs.rules[i].lines[j].nports && nports < 500; k++) {
				const struct sl_port_range *pr = &t.rs.rules[i].lines[j].ports[k];

				ports[nports++] = pr->lo;
				ports[nports++] = pr->hi;
			}
	snap_read(&t, &before);
	memset(&exp, 0, sizeof(exp));
	for (int n = 0; n < npkts; n++) {
		struct pk_spec s;
		struct sl_result bo, oo;
		size_t len;
		int x, v6 = t.img.ndst6 && (!t.img.ndst4 || chance(&r, 30));
		const uint8_t *base;
		int plen, bytes = v6 ? 16 : 4, edge = rn(&r, 4);
		static const uint8_t protos[] = { 6, 6, 6, 17, 17, 17, 1, 58, 47 };

		memset(&s, 0, sizeof(s));
		s.family = v6 ? 6 : 4;
		if (v6) {
			const struct sl_dst6_entry *de = &t.img.dst6[rn(&r, t.img.ndst6)];
			base = de->key.addr;
			plen = de->key.prefixlen;
		} else {
			const struct sl_dst4_entry *de = &t.img.dst4[rn(&r, t.img.ndst4)];
			base = de->key.addr;
			plen = de->key.prefixlen;
		}
		memcpy(s.dst, base, bytes);
		for (int i = plen; i < bytes * 8; i++) {
			int bit = edge == 0 ? 0 : edge == 1 ? 1 : (int)rn(&r, 2);

			if (bit)
				s.dst[i / 8] |= 0x80 >> (i % 8);
			else
				s.dst[i / 8] &= ~(0x80 >> (i % 8));
		}
		if (edge == 3 && chance(&r, 50)) {       /* one past the last address */
			for (int i = bytes - 1; i >= 0 && ++s.dst[i] == 0; i--)
				;
		}
		s.proto = protos[rn(&r, sizeof(protos))];
		if (s.family == 6 && s.proto == 1 && chance(&r, 50))
			s.proto = 58;
		s.icmp_type = s.proto == 58 ? 128 : 8;
		s.dport = nports && chance(&r, 80) ? (uint16_t)(ports[rn(&r, nports)] + rn(&r, 3) - 1)
						   : (uint16_t)rn(&r, 65536);
		if (chance(&r, 10))
			s.frag = PK_FRAG_LATER;
		if (s.frag && s.family == 6)
			add_ext(&s, 44, 0, 1 + rn(&r, 100));
		s.payload = rn(&r, 64);
		if (diff_one(&t, &s, 0, &bo, &oo, &len, &x, why, sizeof(why))) {
			if (!fails++) {
				char desc[256];

				pk_describe(&s, desc, sizeof(desc));
				snprintf(first, sizeof(first), "[%s]: %.1500s", desc, why);
			}
		}
		expect_add(&t, &bo, 1, len, &exp);
	}
	snap_read(&t, &after);
	why[0] = 0;
	if (!fails && snap_cmp(&t, &before, &after, &exp, why, sizeof(why))) {
		fails++;
		snprintf(first, sizeof(first), "counters:%.1900s", why);
	}
	snprintf(name, sizeof(name), "securevideo pack differential (%zu rules, %zu+%zu prefixes, %d packets)",
		 t.rs.nrules, t.img.ndst4, t.img.ndst6, npkts);
	T_CHECK(name, fails == 0, "%d mismatches, first: %s", fails, first);
	tset_close(&t);
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL);
	int nsets = 100, npkts = 1000, c, only_random = 0;
	char why[256];

	while ((c = getopt(argc, argv, "s:n:p:vr")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': nsets = atoi(optarg); break;
		case 'p': npkts = atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'r': only_random = 1; break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-n rulesets] [-p packets] [-v] [-r: random only]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(silence_libbpf);
	if (!bpf_available(why, sizeof(why))) {
		T_SKIP("test_prog_diff", "%s", why);
		return T_DONE();
	}
	if (!only_random)
		real_pack_diff(seed, 5000);
	printf("# random differential seed %llu (rerun: %s -r -s %llu)\n", (unsigned long long)seed,
	       argv[0], (unsigned long long)seed);
	random_diff(seed, nsets, npkts);
	printf("# test_prog_diff: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
