/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dns.h - the harness of the learner's prog tests (test_dns.c,
 * test_dns_caps.c): DNS messages and frames, test_run of the learn_test
 * programs, the learned map and counters, the oracle's learned table, and
 * dns_setup() (a ruleset, the maps filled as sluice apply fills them).
 */
#ifndef SL_TEST_DNS_H
#define SL_TEST_DNS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "sl.h"
#include "learn_test.skel.h"
#include "kernel/kernel.h"
#include "test.h"

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

static uint32_t dns_class_cap;  /* learn_cfg.class_cap for dns_setup(); 0: the default */
static struct sl_ruleset rs;
static struct sl_image img;
static struct learn_test_bpf *sk;
static int fd_tc, fd_learn, fd_inject;

/* ------------------------------------------------------------ frames */

struct fr { uint8_t b[9000]; size_t n; };

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;
	const char *s = name;

	while (*s) {
		const char *d = strchr(s, '.');
		size_t l = d ? (size_t)(d - s) : strlen(s);

		p[n++] = (uint8_t)l;
		memcpy(p + n, s, l);
		n += l;
		s += l + (d ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* A DNS message under construction. */
struct msg { uint8_t b[8192]; size_t n; int an; };

static void m_hdr(struct msg *m, uint16_t id, uint16_t flags, const char *q, uint16_t qtype)
{
	memset(m, 0, sizeof(*m));
	m->b[0] = id >> 8; m->b[1] = id & 0xff;
	m->b[2] = flags >> 8; m->b[3] = flags & 0xff;
	m->b[5] = 1;
	m->n = 12;
	m->n += put_name(m->b + m->n, q);
	m->b[m->n++] = 0; m->b[m->n++] = (uint8_t)qtype;
	m->b[m->n++] = 0; m->b[m->n++] = 1;
}

/* An answer record; owner NULL = pointer to the question name (offset 12). */
static void m_rr(struct msg *m, const char *owner, uint16_t type, uint32_t ttl,
		 const void *rd, uint16_t rdlen)
{
	if (owner) {
		m->n += put_name(m->b + m->n, owner);
	} else {
		m->b[m->n++] = 0xc0; m->b[m->n++] = 12;
	}
	m->b[m->n++] = type >> 8; m->b[m->n++] = type & 0xff;
	m->b[m->n++] = 0; m->b[m->n++] = 1;
	m->b[m->n++] = ttl >> 24; m->b[m->n++] = ttl >> 16; m->b[m->n++] = ttl >> 8; m->b[m->n++] = ttl;
	m->b[m->n++] = rdlen >> 8; m->b[m->n++] = rdlen & 0xff;
	memcpy(m->b + m->n, rd, rdlen);
	m->n += rdlen;
	m->an++;
	m->b[6] = m->an >> 8; m->b[7] = m->an & 0xff;
}

static void m_a(struct msg *m, const char *owner, const char *a, uint32_t ttl)
{
	uint8_t x[16];

	if (strchr(a, ':')) {
		inet_pton(AF_INET6, a, x);
		m_rr(m, owner, 28, ttl, x, 16);
	} else {
		inet_pton(AF_INET, a, x);
		m_rr(m, owner, 1, ttl, x, 4);
	}
}

static void m_cname(struct msg *m, const char *owner, const char *target, uint32_t ttl)
{
	uint8_t x[300];

	m_rr(m, owner, 5, ttl, x, (uint16_t)put_name(x, target));
}

/* Ethernet + IPv4/IPv6 + UDP/TCP(53) around @m; tcp: 2-byte length prefix. */
static void frame(struct fr *f, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		  int tcp, const uint8_t *pl, size_t plen)
{
	int v6 = strchr(src, ':') != NULL;
	size_t l3 = 14, l4, dl;
	uint8_t *b = f->b;

	memset(f, 0, sizeof(*f));
	b[12] = v6 ? 0x86 : 0x08; b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		b[l3] = 0x60;
		b[l3 + 6] = tcp ? 6 : 17;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, src, b + l3 + 8);
		inet_pton(AF_INET6, dst, b + l3 + 24);
		l4 = l3 + 40;
	} else {
		b[l3] = 0x45;
		b[l3 + 8] = 64;
		b[l3 + 9] = tcp ? 6 : 17;
		inet_pton(AF_INET, src, b + l3 + 12);
		inet_pton(AF_INET, dst, b + l3 + 16);
		l4 = l3 + 20;
	}
	b[l4] = sport >> 8; b[l4 + 1] = sport & 0xff;
	b[l4 + 2] = dport >> 8; b[l4 + 3] = dport & 0xff;
	if (tcp) {
		b[l4 + 12] = 5 << 4;
		b[l4 + 13] = 0x18;
		dl = l4 + 20;
		b[dl] = (uint8_t)(plen >> 8); b[dl + 1] = (uint8_t)plen;
		dl += 2;
	} else {
		size_t ul = 8 + plen;

		b[l4 + 4] = (uint8_t)(ul >> 8); b[l4 + 5] = (uint8_t)ul;
		dl = l4 + 8;
	}
	memcpy(b + dl, pl, plen);
	f->n = dl + plen;
	if (v6) {
		size_t pl6 = f->n - l3 - 40;

		b[l3 + 4] = (uint8_t)(pl6 >> 8); b[l3 + 5] = (uint8_t)pl6;
	} else {
		size_t tl = f->n - l3;

		b[l3 + 2] = (uint8_t)(tl >> 8); b[l3 + 3] = (uint8_t)tl;
	}
}

static int run(int fd, const struct fr *f, __u32 *duration)
{
	uint8_t out[9000];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (__u32)f->n,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	if (duration)
		*duration = o.duration;
	return (int)o.retval;
}

/* ------------------------------------------------------------ state */

static uint64_t ctr(uint32_t i)
{
	uint64_t v = 0;

	sl_learn_ctr_read(bpf_map__fd(sk->maps.learn_ctr), i, &v);
	return v;
}

static int learned_has(const char *a, uint32_t ncls)
{
	struct sl_addr_key k = { 0 };
	struct sl_learned_val v;

	if (strchr(a, ':')) {
		k.family = 6;
		inet_pton(AF_INET6, a, k.addr);
	} else {
		k.family = 4;
		inet_pton(AF_INET, a, k.addr);
	}
	if (bpf_map_lookup_elem(bpf_map__fd(sk->maps.learned), &k, &v))
		return 0;
	for (int i = 0; i < SL_LEARN_SLOTS; i++)
		if (v.s[i].expires_ns && (ncls == 0 || v.s[i].ncls == ncls))
			return 1;
	return 0;
}

static uint32_t ncls_of(const char *q)
{
	const struct sl_nameclass *c = sl_names_find(&img, q);

	return c ? c->ncls : 0xffffffffu;
}

/* A query from client:cport to resolver, then the answer @m back. */
static int exchange(const char *client, const char *resolver, uint16_t cport, int tcp,
		    const char *q, struct msg *ans)
{
	struct msg qm;
	struct fr f;
	int rc;

	m_hdr(&qm, (uint16_t)(ans->b[0] << 8 | ans->b[1]), 0x0100, q, 1);
	frame(&f, client, resolver, cport, 53, tcp, qm.b, qm.n);
	rc = run(fd_tc, &f, NULL);
	if (rc != TC_ACT_UNSPEC)
		return -100;
	frame(&f, resolver, client, 53, cport, tcp, ans->b, ans->n);
	return run(fd_learn, &f, NULL);
}

/* The oracle's learned table, fed with what the answers taught. */
static struct sl_learned_addr otab[256];
static char onames[256][256];
static size_t on;

static void oracle_add(const char *addr, const char *q)
{
	struct sl_learned_addr *e = &otab[on];

	memset(e, 0, sizeof(*e));
	e->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(e->family, addr, e->addr);
	snprintf(onames[on], sizeof(onames[on]), "%s", q);
	e->qname = onames[on];
	e->expires = UINT64_MAX;
	on++;
}

/* Classify dst/proto/port in BPF, the oracle and the tables; all must agree with @want. */
static void expect_pkt(const char *name, const char *dst, uint8_t proto, uint16_t port,
		       int want_verdict, const char *want_rule)
{
	struct fr f;
	uint8_t pl[8] = { 0 };
	struct sl_result bres, ores, tres;
	struct sl_pkt p;
	uint32_t ncls[SL_LEARN_SLOTS];
	size_t nn = 0;
	int rc;
	const char *src = strchr(dst, ':') ? "2001:db8::1" : "192.0.2.1";

	frame(&f, src, dst, 40000, port, proto == 6, pl, proto == 6 ? 0 : sizeof(pl));
	rc = run(fd_tc, &f, NULL);
	bpf_map_lookup_elem(bpf_map__fd(sk->maps.last), &(__u32){ 0 }, &bres);
	sl_pkt_parse(f.b, f.n, &p);
	sl_classify_pkt_learned(&img, &p, 1, otab, on, 1, &ores);
	{
		struct sl_addr_key k = { 0 };
		struct sl_learned_val v;

		k.family = p.family == AF_INET ? 4 : 6;
		memcpy(k.addr, p.dst, p.family == AF_INET ? 4 : 16);
		if (!bpf_map_lookup_elem(bpf_map__fd(sk->maps.learned), &k, &v))
			for (int i = 0; i < SL_LEARN_SLOTS; i++)
				if (v.s[i].expires_ns > 1000000000ULL)  /* not expired by the test */
					ncls[nn++] = v.s[i].ncls;
	}
	sl_image_lookup_learned(&img, &p, ncls, nn, &tres);
	{
		int r = want_rule ? sl_image_rule_of_slot(&img, bres.rule) : -1;
		const char *got = r >= 0 ? rs.rules[r].name : "-";
		int ok = bres.verdict == want_verdict && (rc == TC_ACT_SHOT) == (want_verdict == SL_V_DROP) &&
			 (!want_rule || !strcmp(got, want_rule)) &&
			 ores.verdict == bres.verdict && ores.rule == bres.rule && ores.reason == bres.reason &&
			 tres.verdict == bres.verdict && tres.rule == bres.rule && tres.reason == bres.reason;

		T_CHECK(name, ok, "bpf verdict %d rule %s(%u) reason %s; oracle %d %u %s; tables %d %u %s",
			bres.verdict, got, bres.rule, sl_reason_name(bres.reason), ores.verdict, ores.rule,
			sl_reason_name(ores.reason), tres.verdict, tres.rule, sl_reason_name(tres.reason));
	}
}

/* ------------------------------------------------------------ setup */

static int dns_setup(const char *rules_text, uint32_t name_cap, char *why, size_t cap)
{
	struct sl_diags d = { 0 };
	struct sl_learn_opts o;
	struct sl_learn_fds fds;
	struct sl_fast fast;
	struct sl_fast6 fast6;
	int e;

	if (geteuid() != 0) {
		snprintf(why, cap, "not root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN)");
		return -EPERM;
	}
	e = sl_ruleset_parse("dns.rules", rules_text, strlen(rules_text), &rs, &d);
	sl_diag_free(&d);
	if (e || (e = sl_compile(&rs, NULL, 1, &img))) {
		snprintf(why, cap, "ruleset: %s", strerror(-e));
		return e;
	}
	sk = learn_test_bpf__open();
	if (!sk) {
		snprintf(why, cap, "open: %s", strerror(errno));
		return -errno;
	}
	sk->rodata->cfg = img.cfg;
	sk->rodata->cfg.record = 1;
	bpf_map__set_max_entries(sk->maps.dst4, img.ndst4 ? img.ndst4 : 1);
	bpf_map__set_max_entries(sk->maps.dst6, img.ndst6 ? img.ndst6 : 1);
	bpf_map__set_max_entries(sk->maps.ports, img.nports + img.nname_ports + 1);
	bpf_map__set_max_entries(sk->maps.names, img.nnames + 1);
	bpf_map__set_max_entries(sk->maps.wilds, img.nnames + 1);
	bpf_map__set_max_entries(sk->maps.nclass, img.nnames + 1);
	if ((e = sl_fast_build(&img, &fast))) {
		snprintf(why, cap, "fast tables: %s", strerror(-e));
		return e;
	}
	bpf_map__set_max_entries(sk->maps.classes, fast.ncls ? fast.ncls : 1);
	bpf_map__set_max_entries(sk->maps.dir8, fast.nlines ? fast.nlines : 1);
	if ((e = sl_fast6_build(&img, &fast6))) {
		sl_fast_free(&fast);
		snprintf(why, cap, "IPv6 fast table: %s", strerror(-e));
		return e;
	}
	bpf_map__set_max_entries(sk->maps.node6, fast6.npool ? fast6.npool / 4 : 1);
	bpf_program__set_autoload(sk->progs.sluice_inject, true);
	e = learn_test_bpf__load(sk);
	if (!e)
		e = sl_fast_fill(&fast, bpf_map__fd(sk->maps.classes), bpf_map__fd(sk->maps.dir16),
				 bpf_map__fd(sk->maps.dir8));
	if (!e)
		e = sl_fast6_fill(&fast6, bpf_map__fd(sk->maps.dir6), bpf_map__fd(sk->maps.node6));
	sl_fast_free(&fast);
	sl_fast6_free(&fast6);
	if (e) {
		snprintf(why, cap, "load: %s", strerror(-e));
		return e;
	}
	for (size_t i = 0; i < img.ndst4; i++)
		bpf_map_update_elem(bpf_map__fd(sk->maps.dst4), &img.dst4[i].key, &img.dst4[i].val, 0);
	for (size_t i = 0; i < img.ndst6; i++)
		bpf_map_update_elem(bpf_map__fd(sk->maps.dst6), &img.dst6[i].key, &img.dst6[i].val, 0);
	for (size_t i = 0; i < img.nports; i++)
		bpf_map_update_elem(bpf_map__fd(sk->maps.ports), &img.ports[i].key, &img.ports[i].val, 0);
	for (size_t i = 0; i < rs.nrules; i++) {
		struct sl_rule_meta m = { 0 };
		__u32 k = img.slot[i];

		snprintf(m.name, sizeof(m.name), "%s", rs.rules[i].name);
		m.action = (uint8_t)rs.rules[i].action;
		m.index = (uint16_t)i;
		bpf_map_update_elem(bpf_map__fd(sk->maps.rules), &k, &m, 0);
	}
	fds = (struct sl_learn_fds){
		.names = bpf_map__fd(sk->maps.names), .wilds = bpf_map__fd(sk->maps.wilds),
		.nclass = bpf_map__fd(sk->maps.nclass), .name_ring = bpf_map__fd(sk->maps.name_ring),
		.resolvers = bpf_map__fd(sk->maps.resolvers), .learn_cfg = bpf_map__fd(sk->maps.learn_cfg),
		.ports = bpf_map__fd(sk->maps.ports), .learned = bpf_map__fd(sk->maps.learned),
		.learn_ctr = bpf_map__fd(sk->maps.learn_ctr),
	};
	sl_learn_opts_default(&o);
	o.resolvers = rs.resolvers;
	o.nresolvers = rs.nresolvers;
	if (!rs.nresolvers) {
		static struct sl_cidr r[2];

		memset(r, 0, sizeof(r));
		r[0].family = AF_INET; r[0].plen = 32;
		inet_pton(AF_INET, "192.0.2.53", r[0].addr);
		r[1].family = AF_INET6; r[1].plen = 128;
		inet_pton(AF_INET6, "2001:db8::53", r[1].addr);
		o.resolvers = r;
		o.nresolvers = 2;
	}
	o.name_cap = name_cap;
	o.class_cap = dns_class_cap;
	e = sl_learn_fill(&img, &fds, &o);
	if (e) {
		snprintf(why, cap, "fill: %s", strerror(-e));
		return e;
	}
	fd_tc = bpf_program__fd(sk->progs.sluice_tc);
	fd_learn = bpf_program__fd(sk->progs.sluice_learn);
	fd_inject = bpf_program__fd(sk->progs.sluice_inject);
	return 0;
}

#endif /* SL_TEST_DNS_H */
