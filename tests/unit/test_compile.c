/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_compile.c - the compiler (user/image/compile.c, partition.c) on
 * small rulesets, its tables checked entry by entry, and the lookup over
 * them (lookup.c) against the reference classifier (classify.c).
 *
 * Rulesets are built by hand in C (compile_util.h) so these tests do not
 * depend on the rule parser (the last section uses it).  Sections:
 *   - exact compiled entries for small cases: nested and equal prefixes,
 *     "any" lines, fragment decisions, merging of port ranges;
 *   - validation, config, slot mapping, the empty ruleset;
 *   - a parsed ruleset, compiled, against the classifier on chosen tuples.
 * The compiler on random rulesets: test_compile_random.c; the fast tables:
 * test_fast4.c; the frame parser: test_frame.c; compile speed:
 * test_compile_speed.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sl.h"
#include "test.h"
#include "compile_util.h"

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
	test_parsed();
	return T_DONE();
}
