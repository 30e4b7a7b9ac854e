// SPDX-License-Identifier: GPL-2.0-only
/*
 * export.c - `sl-bench export`: the IPv4 allow set of an allow-only ruleset
 * as an nft interval set or as `ipset restore` lines, for the gateway
 * comparison of scripts/bench.  See sl-bench.c.
 */
#include "bench.h"

/* ------------------------------------------------------------- export */

struct ival { uint32_t lo, hi; };
struct cls_ports { struct ival *iv[2]; size_t n[2], cap[2]; };   /* [0] tcp, [1] udp */

static void iv_add(struct cls_ports *c, int k, uint32_t lo, uint32_t hi)
{
	if (c->n[k] == c->cap[k]) {
		c->cap[k] = c->cap[k] ? 2 * c->cap[k] : 8;
		c->iv[k] = realloc(c->iv[k], c->cap[k] * sizeof(struct ival));
	}
	c->iv[k][c->n[k]++] = (struct ival){ lo, hi };
}

static int cmp_iv(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void iv_merge(struct cls_ports *c)
{
	for (int k = 0; k < 2; k++) {
		size_t m = 0;

		qsort(c->iv[k], c->n[k], sizeof(struct ival), cmp_iv);
		for (size_t i = 0; i < c->n[k]; i++) {
			if (m && c->iv[k][i].lo <= c->iv[k][m - 1].hi + 1) {
				if (c->iv[k][i].hi > c->iv[k][m - 1].hi)
					c->iv[k][m - 1].hi = c->iv[k][i].hi;
			} else {
				c->iv[k][m++] = c->iv[k][i];
			}
		}
		c->n[k] = m;
	}
}

static void ip4s(uint32_t a, char *out)
{
	uint32_t n = htonl(a);

	inet_ntop(AF_INET, &n, out, INET_ADDRSTRLEN);
}

static struct cls_ports *g_cls;
static long g_nelem;

static void emit_range1(uint32_t lo, uint32_t hi, uint32_t cls)
{
	static const char *pn[2] = { "tcp", "udp" };
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct cls_ports *c = &g_cls[cls];

	ip4s(lo, a);
	ip4s(hi, b);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < c->n[k]; i++, g_nelem++)
			printf("%s\t%s-%s . %s . %u-%u", g_nelem ? ",\n" : "", a, b, pn[k],
			       c->iv[k][i].lo, c->iv[k][i].hi);
}

/* Adjacent ranges of the same class become one element set. */
static int64_t m_lo = -1, m_hi;
static uint32_t m_cls;
static void emit_flush(void)
{
	if (m_lo >= 0)
		emit_range1((uint32_t)m_lo, (uint32_t)m_hi, m_cls);
	m_lo = -1;
}

static void emit_range(uint32_t lo, uint32_t hi, uint32_t cls)
{
	if (m_lo >= 0 && cls == m_cls && (int64_t)lo == m_hi + 1) {
		m_hi = hi;
		return;
	}
	emit_flush();
	m_lo = lo;
	m_hi = hi;
	m_cls = cls;
}

/* nft: sweep the LPM prefixes into disjoint address ranges (each with the
 * class of its longest covering prefix), times the class's allowed ports. */
static void export_nft(const struct sl_image *img, const char *name)
{
	struct { uint64_t end; uint32_t cls; } st[40];
	int sp = 0;
	uint64_t cur = 0;
	size_t ncls = img->nclasses + 1;

	g_cls = calloc(ncls + 1, sizeof(*g_cls));
	for (size_t i = 0; i < img->nports; i++) {
		const struct sl_port_entry *p = &img->ports[i];
		uint32_t cls, port, plen = p->key.prefixlen - SL_PORT_KEY_FIXED_BITS, lo, hi;
		int k;

		if (p->val.action != SL_ACT_ALLOW)
			continue;
		if (p->key.pslot == SL_P_TCP) k = 0;
		else if (p->key.pslot == SL_P_UDP) k = 1;
		else continue;
		memcpy(&cls, p->key.class_be, 4);
		cls = ntohl(cls);
		port = (p->key.port_be[0] << 8) | p->key.port_be[1];
		lo = plen ? port & (0xffffu << (16 - plen)) & 0xffff : 0;
		hi = lo | (plen >= 16 ? 0 : (0xffffu >> plen));
		if (cls < ncls)
			iv_add(&g_cls[cls], k, lo, hi);
	}
	for (size_t c = 0; c < ncls; c++)
		iv_merge(&g_cls[c]);

	printf("table ip %s {\n\tset allowed {\n\t\ttype ipv4_addr . inet_proto . inet_service\n"
	       "\t\tflags interval\n\t\telements = {\n", name);
	for (size_t i = 0; i < img->ndst4; i++) {
		uint32_t a, cls = img->dst4[i].val.class_id;
		int l = img->dst4[i].key.prefixlen;
		uint64_t s, t;

		memcpy(&a, img->dst4[i].key.addr, 4);
		s = ntohl(a);
		t = s + (l ? (1ULL << (32 - l)) : (1ULL << 32)) - 1;
		while (sp && st[sp - 1].end < s) {
			if (cur <= st[sp - 1].end)
				emit_range(cur, st[sp - 1].end, st[sp - 1].cls);
			cur = st[sp - 1].end + 1;
			sp--;
		}
		if (sp && cur < s)
			emit_range(cur, s - 1, st[sp - 1].cls);
		cur = s;
		if (sp < 40)
			st[sp++] = (typeof(st[0])){ t, cls < ncls ? cls : 0 };
	}
	while (sp) {
		if (cur <= st[sp - 1].end)
			emit_range(cur, st[sp - 1].end, st[sp - 1].cls);
		cur = st[sp - 1].end + 1;
		sp--;
	}
	emit_flush();
	printf("\n\t\t}\n\t}\n\tchain forward_filter {\n\t\ttype filter hook forward priority 0; policy accept;\n"
	       "\t\toifname \"%s\" ip daddr . meta l4proto . th dport @allowed accept\n"
	       "\t\toifname \"%s\" drop\n\t}\n}\n",
	       getenv("SL_OIF") ? getenv("SL_OIF") : "eth0", getenv("SL_OIF") ? getenv("SL_OIF") : "eth0");
	fprintf(stderr, "nft elements: %ld\n", g_nelem);
}

/* ipset hash:net,port: each rule's prefixes times its port ranges (an
 * allow-only ruleset: the union is the ruleset's meaning). */
static void export_ipset(const struct sl_ruleset *rs, const char *name)
{
	static const char *pn[] = { "tcp", "udp" };
	char a[INET_ADDRSTRLEN];
	long n = 0;

	for (size_t r = 0; r < rs->nrules; r++)
		for (size_t d = 0; d < rs->rules[r].ndsts; d++)
			for (size_t l = 0; l < rs->rules[r].nlines; l++) {
				const struct sl_proto_line *pl = &rs->rules[r].lines[l];

				if (rs->rules[r].dsts[d].family != AF_INET || pl->proto > SL_PROTO_UDP)
					continue;
				for (size_t p = 0; p < pl->nports; p++)
					n += pl->ports[p].hi - pl->ports[p].lo + 1;
			}
	printf("create %s hash:net,port family inet hashsize %ld maxelem %ld\n", name,
	       n < 1024 ? 1024 : n / 2, n + 1024);
	for (size_t r = 0; r < rs->nrules; r++) {
		if (rs->rules[r].action != SL_ACT_ALLOW)
			die("ipset export: rule %s is not an allow rule", rs->rules[r].name);
		for (size_t d = 0; d < rs->rules[r].ndsts; d++) {
			const struct sl_cidr *c = &rs->rules[r].dsts[d];

			if (c->family != AF_INET)
				continue;
			inet_ntop(AF_INET, c->addr, a, sizeof(a));
			for (size_t l = 0; l < rs->rules[r].nlines; l++) {
				const struct sl_proto_line *pl = &rs->rules[r].lines[l];

				if (pl->proto > SL_PROTO_UDP)
					continue;
				for (size_t p = 0; p < pl->nports; p++)
					printf("add %s %s/%d,%s:%u-%u\n", name, a, c->plen, pn[pl->proto],
					       pl->ports[p].lo, pl->ports[p].hi);
			}
		}
	}
	fprintf(stderr, "ipset entries: %ld\n", n);
}

int cmd_export(const char *rules, const char *what, const char *name)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_diags d = {0};
	int e;

	if ((e = sl_ruleset_load(rules, &rs, &d))) {
		sl_diag_print(&d, stderr);
		die("%s: %s", rules, strerror(-e));
	}
	sl_diag_free(&d);
	if ((e = sl_compile(&rs, NULL, 1, &img)))
		die("compile: %s", strerror(-e));
	if (!strcmp(what, "nft"))
		export_nft(&img, name);
	else
		export_ipset(&rs, name);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	return 0;
}

