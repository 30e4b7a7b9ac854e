/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_compile.c - the compiler (user/image/compile.c, partition.c), the
 * lookup over compiled tables (lookup.c), the frame parser and the reference
 * classifier (user/image/classify.c).
 *
 * Rulesets are built by hand in C so these tests do not depend on the rule
 * parser.  Sections:
 *   - exact compiled entries for small cases;
 *   - validation, config, determinism, sortedness, slot mapping;
 *   - randomized differential check: sl_image_lookup (compiled tables)
 *     against sl_classify_pkt (semantics) on every result field;
 *   - frame parser on crafted frames;
 *   - compile speed (1e6 IPv4 prefixes; 4096 rules).
 *
 * SL_TEST_SEED=N reruns the differential check from seed N,
 * SL_TEST_RULESETS / SL_TEST_PACKETS change its size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "sl.h"
#include "test.h"

/* ------------------------------------------------------ ruleset builder */

static struct sl_rule *add_rule(struct sl_ruleset *rs, const char *name,
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
static void add_line(struct sl_rule *r, enum sl_proto proto, const char *ports)
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

static void add_line_ranges(struct sl_rule *r, enum sl_proto proto,
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

static void add_cidr(struct sl_rule *r, uint8_t family, const uint8_t *addr, unsigned plen)
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
static void add_dst(struct sl_rule *r, const char *cidr)
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

static void rs_init(struct sl_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->policy = SL_POLICY_DROP;
	rs->mode = SL_MODE_ENFORCE;
	rs->control_pass = true;
}

static void rs_free(struct sl_ruleset *rs)
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

/* ----------------------------------------------------- entry helpers */

static const struct sl_dst4_entry *dst4_find(const struct sl_image *img, const char *cidr)
{
	char buf[64];
	uint8_t a[4];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	*slash = 0;
	inet_pton(AF_INET, buf, a);
	for (size_t i = 0; i < img->ndst4; i++)
		if (img->dst4[i].key.prefixlen == (uint32_t)atoi(slash + 1) &&
		    !memcmp(img->dst4[i].key.addr, a, 4))
			return &img->dst4[i];
	return NULL;
}

static const struct sl_dst6_entry *dst6_find(const struct sl_image *img, const char *cidr)
{
	char buf[64];
	uint8_t a[16];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	*slash = 0;
	inet_pton(AF_INET6, buf, a);
	for (size_t i = 0; i < img->ndst6; i++)
		if (img->dst6[i].key.prefixlen == (uint32_t)atoi(slash + 1) &&
		    !memcmp(img->dst6[i].key.addr, a, 16))
			return &img->dst6[i];
	return NULL;
}

static uint32_t pk_class(const struct sl_port_key *k)
{
	return (uint32_t)k->class_be[0] << 24 | k->class_be[1] << 16 |
	       k->class_be[2] << 8 | k->class_be[3];
}

static uint16_t pk_port(const struct sl_port_key *k)
{
	return (uint16_t)(k->port_be[0] << 8 | k->port_be[1]);
}

/*
 * The port entries of (class, slot) as a string:
 * "port/bits=slot:A|D ..." with bits = prefixlen - 40.
 */
static void ports_str(const struct sl_image *img, uint32_t cls, int slot, char *out,
		      size_t outlen)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < img->nports; i++) {
		const struct sl_port_entry *e = &img->ports[i];

		if (pk_class(&e->key) != cls || e->key.pslot != slot)
			continue;
		o += (size_t)snprintf(out + o, outlen - o, "%s%u/%u=%u:%c", o ? " " : "",
				      pk_port(&e->key), e->key.prefixlen - 40, e->val.rule,
				      e->val.action == SL_ACT_ALLOW ? 'A' :
				      e->val.action == SL_ACT_DENY ? 'D' : '?');
		if (o >= outlen)
			break;
	}
}

#define CHECK_PORTS(name, img, cls, slot, expect) do { \
	char _b[4096]; \
	ports_str((img), (cls), (slot), _b, sizeof(_b)); \
	T_CHECK(name, !strcmp(_b, (expect)), "got \"%s\", want \"%s\"", _b, (expect)); \
} while (0)

static bool dec_is(const struct sl_decision *d, uint16_t rule, uint8_t act)
{
	return d->rule == rule && d->action == act;
}

/* ------------------------------------------------------ exact entries */

static void test_nested(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	const struct sl_dst4_entry *a, *b, *c;
	int err;

	rs_init(&rs);
	r = add_rule(&rs, "web", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_TCP, "443");
	add_dst(r, "10.0.0.0/8");
	r = add_rule(&rs, "block", SL_ACT_DENY);
	add_line(r, SL_PROTO_ANY, NULL);
	add_dst(r, "10.1.0.0/16");
	add_dst(r, "192.0.2.0/24");

	err = sl_compile(&rs, NULL, 7, &img);
	T_CHECK("nested: compiles", err == 0, "err %d", err);
	if (err) {
		rs_free(&rs);
		return;
	}
	T_CHECK("nested: 3 dst4 entries", img.ndst4 == 3 && img.ndst6 == 0,
		"ndst4 %zu ndst6 %zu", img.ndst4, img.ndst6);
	T_CHECK("nested: 3 classes", img.nclasses == 3, "nclasses %u", img.nclasses);
	a = dst4_find(&img, "10.0.0.0/8");
	b = dst4_find(&img, "10.1.0.0/16");
	c = dst4_find(&img, "192.0.2.0/24");
	T_CHECK("nested: entries present", a && b && c, "missing entry");
	if (!a || !b || !c)
		goto out;
	/* Sorted by key: 10/8, 10.1/16, 192.0.2/24; classes by first appearance. */
	T_CHECK("nested: dst4 sorted", a == &img.dst4[0] && b == &img.dst4[1] &&
		c == &img.dst4[2], "order");
	T_CHECK("nested: class ids", a->val.class_id == 0 && b->val.class_id == 1 &&
		c->val.class_id == 2, "%u %u %u", a->val.class_id, b->val.class_id,
		c->val.class_id);
	T_CHECK("nested: near rules", a->val.near_rule == 0 && b->val.near_rule == 0 &&
		c->val.near_rule == 1, "%u %u %u", a->val.near_rule, b->val.near_rule,
		c->val.near_rule);
	T_CHECK("nested: frag /8", dec_is(&a->val.frag[SL_P_TCP], 0, SL_ACT_ALLOW) &&
		dec_is(&a->val.frag[SL_P_UDP], SL_NO_RULE, SL_ACT_NONE) &&
		dec_is(&a->val.frag[SL_P_OTHER], SL_NO_RULE, SL_ACT_NONE) &&
		dec_is(&a->val.frag[SL_P_ICMP], SL_NO_RULE, SL_ACT_NONE) &&
		dec_is(&a->val.frag[SL_P_ICMP6], SL_NO_RULE, SL_ACT_NONE), "frag");
	T_CHECK("nested: frag /16 combined", dec_is(&b->val.frag[SL_P_TCP], 0, SL_ACT_ALLOW) &&
		dec_is(&b->val.frag[SL_P_UDP], 1, SL_ACT_DENY) &&
		dec_is(&b->val.frag[SL_P_OTHER], 1, SL_ACT_DENY) &&
		dec_is(&b->val.frag[SL_P_ICMP], 1, SL_ACT_DENY) &&
		dec_is(&b->val.frag[SL_P_ICMP6], 1, SL_ACT_DENY), "frag");
	CHECK_PORTS("nested: ports class0 tcp", &img, 0, SL_P_TCP, "443/16=0:A");
	CHECK_PORTS("nested: ports class0 udp", &img, 0, SL_P_UDP, "");
	CHECK_PORTS("nested: ports class0 other", &img, 0, SL_P_OTHER, "");
	CHECK_PORTS("nested: ports class1 tcp", &img, 1, SL_P_TCP,
		    "0/8=1:D 256/9=1:D 384/11=1:D 416/12=1:D 432/13=1:D 440/15=1:D "
		    "442/16=1:D 443/16=0:A 444/14=1:D 448/10=1:D 512/7=1:D 1024/6=1:D "
		    "2048/5=1:D 4096/4=1:D 8192/3=1:D 16384/2=1:D 32768/1=1:D");
	CHECK_PORTS("nested: ports class1 udp", &img, 1, SL_P_UDP, "0/0=1:D");
	CHECK_PORTS("nested: ports class1 other", &img, 1, SL_P_OTHER, "0/0=1:D");
	CHECK_PORTS("nested: ports class1 icmp", &img, 1, SL_P_ICMP, "0/0=1:D");
	CHECK_PORTS("nested: ports class1 icmp6", &img, 1, SL_P_ICMP6, "0/0=1:D");
	CHECK_PORTS("nested: ports class2 tcp", &img, 2, SL_P_TCP, "0/0=1:D");
	T_CHECK("nested: cfg", img.cfg.policy == SL_POLICY_DROP &&
		img.cfg.mode == SL_MODE_ENFORCE && img.cfg.control_pass == 1 &&
		img.cfg.record == 0 && img.cfg.generation == 7, "cfg");
out:
	sl_image_free(&img);
	rs_free(&rs);
}

static void test_same_prefix(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	int err;

	rs_init(&rs);
	r = add_rule(&rs, "dns", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_UDP, "53");
	add_dst(r, "192.0.2.0/24");
	add_dst(r, "2001:db8::/32");
	r = add_rule(&rs, "no-tcp", SL_ACT_DENY);
	add_line(r, SL_PROTO_TCP, NULL);
	add_dst(r, "192.0.2.0/24");
	add_dst(r, "2001:db8::/32");
	add_dst(r, "2001:db8::/32");        /* duplicate in one rule */
	add_dst(r, "192.0.2.77/24");        /* host bits: same prefix once masked */

	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("same prefix: compiles", err == 0, "err %d", err);
	if (err) {
		rs_free(&rs);
		return;
	}
	T_CHECK("same prefix: one entry per family", img.ndst4 == 1 && img.ndst6 == 1,
		"%zu %zu", img.ndst4, img.ndst6);
	T_CHECK("same prefix: v4 and v6 share the class", img.nclasses == 1 &&
		img.dst4[0].val.class_id == 0 && img.dst6[0].val.class_id == 0,
		"nclasses %u", img.nclasses);
	T_CHECK("same prefix: v6 entry", dst6_find(&img, "2001:db8::/32") != NULL, "missing");
	T_CHECK("same prefix: frag", dec_is(&img.dst4[0].val.frag[SL_P_UDP], 0, SL_ACT_ALLOW) &&
		dec_is(&img.dst4[0].val.frag[SL_P_TCP], 1, SL_ACT_DENY) &&
		dec_is(&img.dst4[0].val.frag[SL_P_ICMP], SL_NO_RULE, SL_ACT_NONE), "frag");
	CHECK_PORTS("same prefix: udp", &img, 0, SL_P_UDP, "53/16=0:A");
	CHECK_PORTS("same prefix: tcp", &img, 0, SL_P_TCP, "0/0=1:D");
	T_CHECK("same prefix: 2 port entries", img.nports == 2, "%zu", img.nports);
	sl_image_free(&img);
	rs_free(&rs);
}

static void test_any_and_slots(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	uint16_t slots[2] = { 4095, 17 };
	int err;

	rs_init(&rs);
	rs.policy = SL_POLICY_ALLOW;
	rs.mode = SL_MODE_AUDIT;
	rs.control_pass = false;
	r = add_rule(&rs, "all", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_ANY, NULL);
	add_dst(r, "198.51.100.0/24");
	r = add_rule(&rs, "icmp-only", SL_ACT_DENY);
	add_line(r, SL_PROTO_ICMP, NULL);
	add_line(r, SL_PROTO_ICMP6, NULL);
	add_dst(r, "0.0.0.0/0");

	err = sl_compile(&rs, slots, 99, &img);
	T_CHECK("any: compiles", err == 0, "err %d", err);
	if (err) {
		rs_free(&rs);
		return;
	}
	T_CHECK("any: cfg", img.cfg.policy == SL_POLICY_ALLOW && img.cfg.mode == SL_MODE_AUDIT &&
		img.cfg.control_pass == 0 && img.cfg.generation == 99, "cfg");
	T_CHECK("any: slots copied", img.slot[0] == 4095 && img.slot[1] == 17, "slots");
	T_CHECK("any: rule_of_slot", sl_image_rule_of_slot(&img, 4095) == 0 &&
		sl_image_rule_of_slot(&img, 17) == 1 && sl_image_rule_of_slot(&img, 0) == -1,
		"rule_of_slot");
	/* 0/0 first (class {1} = id 0), then 198.51.100/24 (class {0,1} = id 1). */
	T_CHECK("any: entries", img.ndst4 == 2 && img.dst4[0].key.prefixlen == 0 &&
		img.dst4[1].key.prefixlen == 24 && img.dst4[0].val.class_id == 0 &&
		img.dst4[1].val.class_id == 1 && img.dst4[1].val.near_rule == 4095 &&
		img.dst4[0].val.near_rule == 17, "entries");
	for (int s = 0; s < SL_PSLOTS; s++) {
		char name[64];

		snprintf(name, sizeof(name), "any: slot %d every port", s);
		CHECK_PORTS(name, &img, 1, s, "0/0=4095:A");
		snprintf(name, sizeof(name), "any: frag slot %d", s);
		T_CHECK(name, dec_is(&img.dst4[1].val.frag[s], 4095, SL_ACT_ALLOW), "frag");
	}
	CHECK_PORTS("any: icmp-only icmp", &img, 0, SL_P_ICMP, "0/0=17:D");
	CHECK_PORTS("any: icmp-only icmp6", &img, 0, SL_P_ICMP6, "0/0=17:D");
	CHECK_PORTS("any: icmp-only tcp", &img, 0, SL_P_TCP, "");
	T_CHECK("any: 7 port entries", img.nports == 7, "%zu", img.nports);
	sl_image_free(&img);
	rs_free(&rs);
}

static void test_frag_decision(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	int err;

	rs_init(&rs);
	r = add_rule(&rs, "https", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_TCP, "443");
	add_dst(r, "2001:db8:1::/48");
	r = add_rule(&rs, "no-tcp", SL_ACT_DENY);
	add_line(r, SL_PROTO_TCP, NULL);
	add_dst(r, "2001:db8::/32");
	r = add_rule(&rs, "udp", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_UDP, "1000-2000");
	add_dst(r, "2001:db8:1:2::/64");

	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("frag: compiles", err == 0, "err %d", err);
	if (err) {
		rs_free(&rs);
		return;
	}
	{
		const struct sl_dst6_entry *e = dst6_find(&img, "2001:db8:1:2::/64");
		const struct sl_dst6_entry *o = dst6_find(&img, "2001:db8::/32");

		T_CHECK("frag: entries", e && o && img.ndst6 == 3, "entries");
		if (e && o) {
			T_CHECK("frag: tcp -> first rule, ports ignored",
				dec_is(&e->val.frag[SL_P_TCP], 0, SL_ACT_ALLOW), "tcp");
			T_CHECK("frag: udp", dec_is(&e->val.frag[SL_P_UDP], 2, SL_ACT_ALLOW), "udp");
			T_CHECK("frag: other none",
				dec_is(&e->val.frag[SL_P_OTHER], SL_NO_RULE, SL_ACT_NONE), "other");
			T_CHECK("frag: near rule is first covering",
				e->val.near_rule == 0 && o->val.near_rule == 1, "near");
			T_CHECK("frag: outer tcp deny",
				dec_is(&o->val.frag[SL_P_TCP], 1, SL_ACT_DENY), "tcp");
			CHECK_PORTS("frag: inner tcp ports", &img, e->val.class_id, SL_P_TCP,
				    "0/8=1:D 256/9=1:D 384/11=1:D 416/12=1:D 432/13=1:D "
				    "440/15=1:D 442/16=1:D 443/16=0:A 444/14=1:D 448/10=1:D "
				    "512/7=1:D 1024/6=1:D 2048/5=1:D 4096/4=1:D 8192/3=1:D "
				    "16384/2=1:D 32768/1=1:D");
			CHECK_PORTS("frag: inner udp ports", &img, e->val.class_id, SL_P_UDP,
				    "1000/13=2:A 1008/12=2:A 1024/7=2:A 1536/8=2:A 1792/9=2:A "
				    "1920/10=2:A 1984/12=2:A 2000/16=2:A");
		}
	}
	sl_image_free(&img);
	rs_free(&rs);
}

static void test_port_merge(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	int err;

	rs_init(&rs);
	r = add_rule(&rs, "a", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_TCP, "80,81,8801-8802");       /* 80,81 adjacent: one /15 */
	add_line(r, SL_PROTO_TCP, "1000-1023");
	add_line(r, SL_PROTO_ANY, "1024-1535");             /* same rule: merges */
	add_line(r, SL_PROTO_UDP, "0,65535");
	add_dst(r, "203.0.113.0/24");
	r = add_rule(&rs, "b", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_TCP, "82-83,65534-65535");     /* adjacent but other rule */
	add_line(r, SL_PROTO_UDP, "1-65534");
	add_dst(r, "203.0.113.0/24");

	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("merge: compiles", err == 0, "err %d", err);
	if (err) {
		rs_free(&rs);
		return;
	}
	CHECK_PORTS("merge: tcp", &img, 0, SL_P_TCP,
		    "80/15=0:A 82/15=1:A 1000/13=0:A 1008/12=0:A 1024/7=0:A "
		    "8801/16=0:A 8802/16=0:A 65534/15=1:A");
	CHECK_PORTS("merge: udp covers everything", &img, 0, SL_P_UDP,
		    "0/16=0:A 1/16=1:A 2/15=1:A 4/14=1:A 8/13=1:A 16/12=1:A 32/11=1:A "
		    "64/10=1:A 128/9=1:A 256/8=1:A 512/7=1:A 1024/7=0:A 1536/7=1:A "
		    "2048/5=1:A 4096/4=1:A 8192/3=1:A 16384/2=1:A 32768/2=1:A "
		    "49152/3=1:A 57344/4=1:A 61440/5=1:A 63488/6=1:A 64512/7=1:A "
		    "65024/8=1:A 65280/9=1:A 65408/10=1:A 65472/11=1:A 65504/12=1:A "
		    "65520/13=1:A 65528/14=1:A 65532/15=1:A 65534/16=1:A 65535/16=0:A");
	/* "any 1024-1535" in ICMP/OTHER slots: port 0 is not in it. */
	CHECK_PORTS("merge: icmp port 0 not in any-ports line", &img, 0, SL_P_ICMP, "");
	CHECK_PORTS("merge: other", &img, 0, SL_P_OTHER, "");
	sl_image_free(&img);
	rs_free(&rs);
}

static void test_validation(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_rule *r;
	uint16_t dup[2] = { 3, 3 }, big[2] = { 0, SL_MAX_SLOTS }, ok[2] = { 5, 0 };
	int err;

	rs_init(&rs);
	r = add_rule(&rs, "a", SL_ACT_ALLOW);
	add_line(r, SL_PROTO_TCP, NULL);
	add_dst(r, "10.0.0.0/8");
	r = add_rule(&rs, "b", SL_ACT_DENY);
	add_line(r, SL_PROTO_TCP, NULL);
	add_dst(r, "10.0.0.0/8");

	err = sl_compile(&rs, dup, 0, &img);
	T_CHECK("validate: duplicate slots", err == -EINVAL, "err %d", err);
	err = sl_compile(&rs, big, 0, &img);
	T_CHECK("validate: slot >= SL_MAX_SLOTS", err == -EINVAL, "err %d", err);
	err = sl_compile(&rs, ok, 0, &img);
	T_CHECK("validate: good slots", err == 0 && img.dst4[0].val.near_rule == 5, "err %d", err);
	if (!err)
		sl_image_free(&img);
	rs.rules[1].dsts[0].plen = 33;
	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("validate: plen 33", err == -EINVAL, "err %d", err);
	rs.rules[1].dsts[0].plen = 8;
	rs.rules[1].dsts[0].family = 99;
	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("validate: bad family", err == -EINVAL, "err %d", err);
	rs.rules[1].dsts[0].family = AF_INET;
	rs.rules[1].action = SL_ACT_NONE;
	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("validate: action none", err == -EINVAL, "err %d", err);
	rs_free(&rs);

	/* Empty ruleset: compiles to empty tables. */
	rs_init(&rs);
	err = sl_compile(&rs, NULL, 0, &img);
	T_CHECK("validate: empty ruleset", err == 0 && img.ndst4 == 0 && img.ndst6 == 0 &&
		img.nports == 0 && img.nclasses == 0, "err %d", err);
	if (!err) {
		struct sl_pkt p = { .kind = SL_PK_IP, .family = AF_INET, .proto = 6,
				    .dst = { 8, 8, 8, 8 }, .port = 443 };
		struct sl_result a, b;

		sl_image_lookup(&img, &p, &a);
		sl_classify_pkt(&img, &p, 0, &b);
		T_CHECK("validate: empty -> policy", a.reason == SL_R_POLICY &&
			a.verdict == SL_V_DROP && !memcmp(&a, &b, sizeof(a)), "result");
		sl_image_free(&img);
	}
	rs_free(&rs);
}

/* --------------------------------------------------- random rulesets */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static const uint16_t edge_ports[] = {
	0, 1, 2, 22, 52, 53, 54, 79, 80, 81, 255, 256, 442, 443, 444, 1023, 1024,
	1025, 8080, 8801, 8802, 8810, 32767, 32768, 65534, 65535,
};
#define NEDGE (sizeof(edge_ports) / sizeof(edge_ports[0]))

static uint16_t rand_port(void)
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

static void flip_bit(uint8_t *a, unsigned bit)
{
	a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

/* An address near an anchor: equal, or differing from bit @b on. */
static void near_addr(uint8_t *out, const uint8_t *anchor, unsigned nbits)
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

static unsigned rand_plen(unsigned max)
{
	static const unsigned p4[] = { 0, 1, 7, 8, 9, 12, 16, 20, 23, 24, 25, 28, 30, 31, 32 };
	static const unsigned p6[] = { 0, 3, 8, 16, 32, 47, 48, 56, 64, 65, 96, 112, 120, 127, 128 };

	if (rn(4) == 0)
		return rn(max + 1);
	return max == 32 ? p4[rn(sizeof(p4) / sizeof(p4[0]))] : p6[rn(sizeof(p6) / sizeof(p6[0]))];
}

static void rand_ruleset(struct sl_ruleset *rs, struct anchors *an, unsigned maxrules)
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

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
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

/* What the fast-table checks saw, summed over rulesets. */
struct fast_seen {
	unsigned long ntrie, n16[3], n24[3], ntrie4, naddr, nport;
};

/*
 * The fast tables (user/image/fast.c, fast4.c: dir16/dir8, class intervals)
 * against the LPM tables they are derived from: every prefix's first and
 * last address and their outside neighbours, random addresses, every port
 * boundary; and the loader's bound of dir8 (sl_fast_bounds) holds.
 */
static bool fast_check_image(const struct sl_image *img, unsigned long seed, struct fast_seen *fs)
{
	unsigned long *naddr = &fs->naddr, *nport = &fs->nport;
	struct sl_fast f;
	bool ok = true;
	uint32_t bound = sl_fast_bounds(img);

	if (sl_fast_build(img, &f)) {
		printf("# seed %lu: sl_fast_build failed\n", seed);
		return false;
	}
	fs->ntrie += f.ntrie;
	for (int k = 0; k < 3; k++) {
		fs->n16[k] += f.n16[k];
		fs->n24[k] += f.n24[k];
	}
	fs->ntrie4 += f.ntrie4;
	if (f.nlines > bound) {
		printf("# seed %lu: %u lines of dir8, bound %u\n", seed, f.nlines, bound);
		ok = false;
	}
	for (size_t i = 0; i < img->ndst4 + 64 && ok; i++) {
		uint32_t cand[4];
		int nc = 0;

		if (i < img->ndst4) {
			const uint8_t *a = img->dst4[i].key.addr;
			uint32_t base = (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
			uint32_t plen = img->dst4[i].key.prefixlen;
			uint32_t last = base | (plen >= 32 ? 0 : (uint32_t)(0xffffffffu >> plen));
			cand[nc++] = base;
			cand[nc++] = last;
			cand[nc++] = base - 1;
			cand[nc++] = last + 1;
		} else {
			cand[nc++] = (uint32_t)rnd();
		}
		for (int c = 0; c < nc; c++) {
			uint8_t b[4] = { (uint8_t)(cand[c] >> 24), (uint8_t)(cand[c] >> 16),
					 (uint8_t)(cand[c] >> 8), (uint8_t)cand[c] };
			const struct sl_dst_val *v = sl_image_dst(img, AF_INET, b);
			int64_t x = sl_fast_class4(&f, img, b);

			(*naddr)++;
			if ((v ? (int64_t)v->cidx : -1) != x) {
				printf("# seed %lu: %u.%u.%u.%u: lpm class %lld, dir %lld\n", seed,
				       b[0], b[1], b[2], b[3], v ? (long long)v->cidx : -1LL,
				       (long long)x);
				ok = false;
			}
		}
	}
	for (uint32_t c = 0; c < f.ncls && ok; c++)
		for (int slot = 0; slot < SL_PSLOTS && ok; slot++) {
			uint32_t pts[64];
			int np = 0;

			pts[np++] = 0;
			pts[np++] = 65535;
			for (int i = 0; i < 8; i++)
				pts[np++] = rand_port();
			for (size_t i = 0; i < img->nports + img->nname_ports && np < 60; i++) {
				const struct sl_port_entry *e = i < img->nports ? &img->ports[i]
						: &img->name_ports[i - img->nports];
				uint32_t bits = e->key.prefixlen - SL_PORT_KEY_FIXED_BITS;
				uint32_t lo = pk_port(&e->key), hi = lo + (1u << (16 - bits)) - 1;

				if (pk_class(&e->key) != f.cls[c].class_id || e->key.pslot != slot)
					continue;
				pts[np++] = lo;
				pts[np++] = hi;
				if (lo)
					pts[np++] = lo - 1;
				if (hi < 65535)
					pts[np++] = hi + 1;
			}
			for (int i = 0; i < np; i++) {
				uint16_t port = slot == SL_P_TCP || slot == SL_P_UDP ? (uint16_t)pts[i] : 0;
				const struct sl_decision *d =
					sl_image_port_decision(img, f.cls[c].class_id, slot, port);
				struct sl_decision x = sl_fast_port(img, &f.cls[c], slot, port);
				uint8_t act = d ? d->action : SL_ACT_NONE;
				uint16_t rule = act != SL_ACT_NONE ? d->rule : SL_NO_RULE;

				(*nport)++;
				if (act != x.action || (act != SL_ACT_NONE && rule != x.rule)) {
					printf("# seed %lu: class %u slot %d port %u: lpm %u/%u, fast %u/%u\n",
					       seed, c, slot, port, rule, act, x.rule, x.action);
					ok = false;
					break;
				}
			}
		}
	sl_fast_free(&f);
	return ok;
}

/* A ruleset of @n destinations @dst[] (one rule per destination, rule i
 * allowing UDP port 7000 + i % 5), compiled and checked against the LPM. */
static bool fast_check_dsts(const char *const *dst, int n, struct fast_seen *fs)
{
	struct sl_ruleset rs;
	struct sl_image img;
	bool ok;

	rs_init(&rs);
	for (int i = 0; i < n; i++) {
		char name[32], port[16];
		struct sl_rule *r;

		snprintf(name, sizeof(name), "r%d", i);
		snprintf(port, sizeof(port), "%d", 7000 + i % 5);
		r = add_rule(&rs, name, SL_ACT_ALLOW);
		add_line(r, SL_PROTO_UDP, port);
		add_dst(r, dst[i]);
	}
	ok = sl_compile(&rs, NULL, 1, &img) == 0;
	if (ok) {
		ok = fast_check_image(&img, 1, fs);
		sl_image_free(&img);
	}
	rs_free(&rs);
	return ok;
}

static void test_fast_tables(void)
{
	struct fast_seen fs = { 0 }, lo = { 0 };
	unsigned long bad = 0, badlo = 0;

	for (unsigned long seed = 7000; seed < 7400; seed++) {
		struct sl_ruleset rs;
		struct anchors an;
		struct sl_image img;

		rng_state = seed * 0x9e3779b97f4a7c15ULL;
		rand_ruleset(&rs, &an, seed % 4 == 3 ? 60 : 12);
		if (sl_compile(&rs, NULL, 1, &img)) {
			bad++;
			rs_free(&rs);
			continue;
		}
		/* odd seeds: the compact kinds (as large tables), even: dense */
		sl_fast4_dense_lines = seed % 2 ? 0 : SL_FAST4_DENSE_LINES;
		if (!fast_check_image(&img, seed, &fs))
			bad++;
		/* the same with 16-bit leaves for class indexes < 2 only: the
		 * others ask dst4 (SL_DIR4_TRIE, as beyond 32,765 classes) */
		if (seed % 4 == 0) {
			sl_fast4_leaf_max = 2;
			if (!fast_check_image(&img, seed, &lo))
				badlo++;
			sl_fast4_leaf_max = SL_DIR4_LEAF_MAX;
		}
		sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
		sl_image_free(&img);
		rs_free(&rs);
	}
	printf("# fast tables: %lu addresses, %lu ports compared; %lu slots in the trie; "
	       "nodes (compact/wide/full): /16 %lu/%lu/%lu, /24 %lu/%lu/%lu\n", fs.naddr, fs.nport,
	       fs.ntrie, fs.n16[0], fs.n16[1], fs.n16[2], fs.n24[0], fs.n24[1], fs.n24[2]);
	T_CHECK("fast tables (dir16/dir8, class intervals) == LPM tables on 400 rulesets",
		bad == 0, "%lu rulesets differ", bad);
	T_CHECK("fast tables: 16-bit leaves above the limit ask dst4 (SL_DIR4_TRIE) == LPM on 100 rulesets",
		badlo == 0 && lo.ntrie4 > 0, "%lu rulesets differ, %lu trie leaves", badlo, lo.ntrie4);
	/* the cases below: the compact kinds (as large tables) */
	sl_fast4_dense_lines = 0;
	/* Ten hosts and a /25 in one /24: 21 ranges, a wide /24 node. */
	{
		static const char *const d[] = {
			"203.0.113.1/32", "203.0.113.3/32", "203.0.113.5/32", "203.0.113.7/32",
			"203.0.113.9/32", "203.0.113.11/32", "203.0.113.13/32", "203.0.113.15/32",
			"203.0.113.17/32", "203.0.113.19/32", "203.0.113.128/25",
		};
		unsigned long w0 = fs.n24[SL_K4_WIDE];

		T_CHECK("fast tables: ten hosts in a /24 -> a wide /24 node == LPM",
			fast_check_dsts(d, 11, &fs) && fs.n24[SL_K4_WIDE] > w0, "differs (%lu wide)",
			fs.n24[SL_K4_WIDE] - w0);
	}
	/* Nine /24s, a /20 and hosts in one /16: more than 16 ranges, a wide /16
	 * node whose /24s have nodes. */
	{
		static const char *const d[] = {
			"198.18.1.0/24", "198.18.3.0/24", "198.18.5.0/24", "198.18.7.0/24",
			"198.18.9.0/24", "198.18.11.0/24", "198.18.13.0/24", "198.18.15.0/24",
			"198.18.17.0/24", "198.18.64.0/20", "198.18.3.77/32", "198.18.255.255/32",
			"198.18.200.0/25", "198.18.200.128/26", "198.18.200.192/27",
			"198.18.200.224/28", "198.18.200.240/29", "198.18.200.248/30",
			"198.18.200.252/31", "198.18.200.254/32", "198.18.200.1/32",
			"198.19.0.0/16", "198.19.1.0/24",
		};
		unsigned long w0 = fs.n16[SL_K4_WIDE];

		T_CHECK("fast tables: a /16 of 17-64 ranges -> a wide /16 node with /24 nodes == LPM",
			fast_check_dsts(d, 23, &fs) && fs.n16[SL_K4_WIDE] > w0, "differs (%lu wide)",
			fs.n16[SL_K4_WIDE] - w0);
	}
	/* 40 /24s apart in one /16 (81 ranges: a full /16 node), 40 hosts apart
	 * in one of them (a full /24 node) and a /25 in another (compact). */
	{
		static char buf[82][24];
		const char *d[82];
		unsigned long f16 = fs.n16[SL_K4_FULL], f24 = fs.n24[SL_K4_FULL];

		for (int i = 0; i < 40; i++) {
			snprintf(buf[i], sizeof(buf[i]), "198.18.%d.0/24", 1 + 2 * i);
			snprintf(buf[40 + i], sizeof(buf[i]), "198.18.3.%d/32", 1 + 2 * i);
		}
		snprintf(buf[80], sizeof(buf[80]), "198.18.5.128/25");
		snprintf(buf[81], sizeof(buf[81]), "198.18.200.0/22");
		for (int i = 0; i < 82; i++)
			d[i] = buf[i];
		T_CHECK("fast tables: 81 ranges in a /16 and in a /24 -> full /16 and /24 nodes == LPM",
			fast_check_dsts(d, 82, &fs) && fs.n16[SL_K4_FULL] > f16 && fs.n24[SL_K4_FULL] > f24,
			"differs (%lu full /16, %lu full /24)", fs.n16[SL_K4_FULL] - f16,
			fs.n24[SL_K4_FULL] - f24);
	}
	sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
	T_CHECK("fast tables: every node kind exercised (/16 and /24; compact, wide, full)",
		fs.n16[0] && fs.n16[1] && fs.n16[2] && fs.n24[0] && fs.n24[1] && fs.n24[2],
		"/16 %lu/%lu/%lu, /24 %lu/%lu/%lu", fs.n16[0], fs.n16[1], fs.n16[2],
		fs.n24[0], fs.n24[1], fs.n24[2]);

	/* A class with more than SL_CLS_IVALS port intervals stays in the trie. */
	{
		struct sl_ruleset rs;
		struct sl_image img;
		struct sl_fast f;
		struct sl_port_range pr[20];
		struct sl_rule *r;
		bool ok;

		rs_init(&rs);
		for (int i = 0; i < 20; i++)
			pr[i].lo = pr[i].hi = (uint16_t)(1000 + 2 * i);
		r = add_rule(&rs, "many", SL_ACT_ALLOW);
		add_line_ranges(r, SL_PROTO_TCP, pr, 20);
		add_line(r, SL_PROTO_UDP, "53");
		add_dst(r, "192.0.2.0/24");
		ok = sl_compile(&rs, NULL, 1, &img) == 0;
		T_CHECK("fast tables: 20 TCP ports compile", ok, "sl_compile failed");
		if (ok) {
			ok = sl_fast_build(&img, &f) == 0;
			T_CHECK("fast tables: 20 TCP ports -> TCP in the trie, UDP inline",
				ok && f.ncls == 1 && (f.cls[0].flags & SL_CF_TRIE(SL_P_TCP)) &&
				!(f.cls[0].flags & SL_CF_TRIE(SL_P_UDP)) && f.ntrie == 1,
				"flags %#x ntrie %zu", ok ? f.cls[0].flags : 0, ok ? f.ntrie : 0);
			if (ok)
				sl_fast_free(&f);
			T_CHECK("fast tables: trie fallback agrees with the LPM",
				fast_check_image(&img, 0, &fs), "differs");
			sl_image_free(&img);
		}
		rs_free(&rs);
	}
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

/* ---------------------------------------------------------- speed */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_speed(void)
{
	struct sl_ruleset rs;
	struct sl_image img;
	double t0, t1;
	int err;
	/* Sanitizers slow this build ~3x; the release target is well under 1 s. */
	double limit = env_ul("SL_TEST_SPEED_LIMIT_MS", 3000) / 1000.0;

	rs_init(&rs);
	rng_state = 42;
	for (int i = 0; i < 4; i++) {
		char name[8];
		struct sl_rule *r;
		size_t n = 250000;

		snprintf(name, sizeof(name), "big%d", i);
		r = add_rule(&rs, name, i == 3 ? SL_ACT_DENY : SL_ACT_ALLOW);
		add_line(r, SL_PROTO_TCP, "443,8801-8802");
		add_line(r, SL_PROTO_UDP, "3478-3479,8801-8810");
		r->dsts = calloc(n, sizeof(*r->dsts));
		r->ndsts = n;
		for (size_t k = 0; k < n; k++) {
			uint32_t a = (uint32_t)rnd();
			unsigned plen = 16 + rn(17);

			a &= plen ? ~0u << (32 - plen) : 0;
			r->dsts[k].family = AF_INET;
			r->dsts[k].plen = (uint8_t)plen;
			r->dsts[k].addr[0] = (uint8_t)(a >> 24);
			r->dsts[k].addr[1] = (uint8_t)(a >> 16);
			r->dsts[k].addr[2] = (uint8_t)(a >> 8);
			r->dsts[k].addr[3] = (uint8_t)a;
		}
	}
	t0 = now();
	err = sl_compile(&rs, NULL, 0, &img);
	t1 = now();
	printf("# compile 1e6 IPv4 prefixes / 4 rules: %.3f s, %zu dst4, %u classes, %zu ports\n",
	       t1 - t0, img.ndst4, img.nclasses, img.nports);
	T_CHECK("speed: 1e6 prefixes compile", err == 0 && t1 - t0 < limit,
		"err %d, %.3f s (limit %.1f s)", err, t1 - t0, limit);
	if (!err) {
		/* Spot-check the big image against the classifier. */
		unsigned long bad = 0;

		for (int k = 0; k < 300; k++) {
			const struct sl_rule *r = &rs.rules[rn(4)];
			const struct sl_cidr *c = &r->dsts[rn((uint32_t)r->ndsts)];
			struct sl_pkt p = { .kind = SL_PK_IP, .family = AF_INET,
					    .proto = rn(2) ? 6 : 17, .port = rand_port() };
			struct sl_result a, b;

			memcpy(p.dst, c->addr, 4);
			p.dst[3] ^= (uint8_t)rn(4);
			sl_image_lookup(&img, &p, &a);
			sl_classify_pkt(&img, &p, 0, &b);
			bad += memcmp(&a, &b, sizeof(a)) != 0;
		}
		T_CHECK("speed: big image agrees with classifier", bad == 0, "%lu mismatches", bad);
		sl_image_free(&img);
	}
	rs_free(&rs);

	/* 4096 rules with a few prefixes each, all under one /8 plus a 0/0 rule. */
	rs_init(&rs);
	for (int i = 0; i < SL_MAX_RULES; i++) {
		char name[16];
		struct sl_rule *r;

		snprintf(name, sizeof(name), "r%d", i);
		r = add_rule(&rs, name, i % 3 ? SL_ACT_ALLOW : SL_ACT_DENY);
		if (i == 0) {
			add_line(r, SL_PROTO_ICMP, NULL);
			add_dst(r, "0.0.0.0/0");
			continue;
		}
		{
			char ports[32];

			snprintf(ports, sizeof(ports), "%d,%d-%d", i, 10000 + i, 10000 + 2 * i);
			add_line(r, SL_PROTO_TCP, ports);
			add_line(r, SL_PROTO_UDP, ports);
		}
		for (int k = 0; k < 4; k++) {
			uint8_t a[4] = { 10, (uint8_t)(i >> 4), (uint8_t)((i & 15) << 4 | k), 0 };

			add_cidr(r, AF_INET, a, k == 0 ? 12 + rn(4) : 24);
		}
	}
	t0 = now();
	err = sl_compile(&rs, NULL, 0, &img);
	t1 = now();
	printf("# compile 4096 rules: %.3f s, %zu dst4, %u classes, %zu ports\n",
	       t1 - t0, img.ndst4, img.nclasses, img.nports);
	T_CHECK("speed: 4096 rules compile", err == 0 && t1 - t0 < limit,
		"err %d, %.3f s", err, t1 - t0);
	if (!err) {
		unsigned long bad = 0;

		for (int k = 0; k < 300; k++) {
			struct sl_pkt p = { .kind = SL_PK_IP, .family = AF_INET,
					    .proto = rn(2) ? 6 : 17, .port = (uint16_t)rn(20000) };
			struct sl_result a, b;

			p.dst[0] = 10;
			p.dst[1] = (uint8_t)rn(256);
			p.dst[2] = (uint8_t)rn(256);
			sl_image_lookup(&img, &p, &a);
			sl_classify_pkt(&img, &p, 0, &b);
			bad += memcmp(&a, &b, sizeof(a)) != 0;
		}
		T_CHECK("speed: 4096-rule image agrees with classifier", bad == 0,
			"%lu mismatches", bad);
		sl_image_free(&img);
	}
	rs_free(&rs);
}

/* ------------------------------------------- through the rule parser */

static void check_tuple(const char *name, const struct sl_image *img, const char *dst,
			uint8_t proto, uint16_t port, uint8_t verdict, uint8_t reason,
			uint16_t rule)
{
	struct sl_pkt p = { .kind = SL_PK_IP, .proto = proto, .port = port };
	struct sl_result a, b;

	p.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(p.family, dst, p.dst);
	sl_image_lookup(img, &p, &a);
	sl_classify_pkt(img, &p, 0, &b);
	T_CHECK(name, !memcmp(&a, &b, sizeof(a)) && a.verdict == verdict &&
		a.reason == reason && a.rule == rule,
		"tables %u/%s/%u classifier %u/%s/%u", a.verdict, sl_reason_name(a.reason),
		a.rule, b.verdict, sl_reason_name(b.reason), b.rule);
}

static void test_parsed(void)
{
	static const char text[] =
		"policy drop;\n"
		"set zoom-ips { 3.7.35.0/25, 2407:30c0::/32, 34.203.254.0 - 34.203.254.255 };\n"
		"rule zoom-media {\n"
		"    allow tcp 443, 8801-8802;\n"
		"    allow udp 3478-3479, 8801-8810;\n"
		"    to @zoom-ips, 198.51.100.7;\n"
		"}\n"
		"rule block-test { deny any; to 3.7.35.0/24, 203.0.113.0/24; }\n"
		"rule dns { allow udp 53; allow tcp 53; to 0.0.0.0/0, ::/0; }\n";
	struct sl_ruleset rs;
	struct sl_diags d = { 0 };
	struct sl_image img;
	int err;

	memset(&rs, 0, sizeof(rs));
	err = sl_ruleset_parse("parsed.rules", text, sizeof(text) - 1, &rs, &d);
	if (err == -ENOSYS) {
		T_SKIP("parsed ruleset", "rule parser not built yet");
		sl_diag_free(&d);
		return;
	}
	T_CHECK("parsed: parses", err == 0 && rs.nrules == 3, "err %d", err);
	if (err) {
		sl_diag_print(&d, stdout);
		sl_diag_free(&d);
		return;
	}
	err = sl_compile(&rs, NULL, 1, &img);
	T_CHECK("parsed: compiles", err == 0, "err %d", err);
	if (!err) {
		check_tuple("parsed: zoom tcp 443", &img, "3.7.35.10", 6, 443,
			    SL_V_PASS, SL_R_RULE, 0);
		check_tuple("parsed: zoom udp 8811 inside block-test -> deny", &img, "3.7.35.10",
			    17, 8811, SL_V_DROP, SL_R_RULE, 1);
		check_tuple("parsed: zoom udp 8811 near miss", &img, "34.203.254.1", 17, 8811,
			    SL_V_DROP, SL_R_NEAR_MISS, 0);
		check_tuple("parsed: zoom udp 53 -> dns", &img, "34.203.254.1", 17, 53,
			    SL_V_PASS, SL_R_RULE, 2);
		check_tuple("parsed: /24 outside /25 -> block-test", &img, "3.7.35.200", 6, 443,
			    SL_V_DROP, SL_R_RULE, 1);
		check_tuple("parsed: range end", &img, "34.203.254.255", 17, 8810,
			    SL_V_PASS, SL_R_RULE, 0);
		check_tuple("parsed: host", &img, "198.51.100.7", 6, 8802,
			    SL_V_PASS, SL_R_RULE, 0);
		check_tuple("parsed: host neighbour -> dns near miss", &img, "198.51.100.8", 6, 443,
			    SL_V_DROP, SL_R_NEAR_MISS, 2);
		check_tuple("parsed: v6 zoom", &img, "2407:30c0:1::5", 6, 8801,
			    SL_V_PASS, SL_R_RULE, 0);
		check_tuple("parsed: v6 other icmpv6 near miss", &img, "2001:db8::1", 58, 0,
			    SL_V_DROP, SL_R_NEAR_MISS, 2);
		sl_image_free(&img);
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

int main(void)
{
	(void)t_skipped;
	test_nested();
	test_same_prefix();
	test_any_and_slots();
	test_frag_decision();
	test_port_merge();
	test_validation();
	test_sorted_deterministic();
	test_differential();
	test_fast_tables();
	test_parse();
	test_parse_fuzz();
	test_parsed();
	test_speed();
	return T_DONE();
}
