/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_parse.c - the front end: lexer, parser, resolver, lints
 * (user/front/: lexer.c, parse.c, resolve.c, ports.c, addr.c, lint.c,
 * lint_rules.c, ruleset.c, diag.c).  No root.  Run from the
 * repository root (tests/run does): fixtures are tests/unit/fixtures/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sl.h"
#include "test.h"

#define FIX "tests/unit/fixtures/"

/* ------------------------------------------------------------- helpers */

static int parse(const char *text, struct sl_ruleset *rs, struct sl_diags *d)
{
	memset(d, 0, sizeof(*d));
	return sl_ruleset_parse("t.rules", text, strlen(text), rs, d);
}

static void dump(const struct sl_diags *d)
{
	printf("    --- diagnostics:\n");
	for (size_t i = 0; i < d->n; i++)
		printf("    %d:%d %s%s%s\n", d->v[i].pos.line, d->v[i].pos.col, d->v[i].msg,
		       d->v[i].hint ? " | hint: " : "", d->v[i].hint ? d->v[i].hint : "");
}

/* A diagnostic of @sev at line:col (0 = any) whose message contains @msg. */
static const struct sl_diag *find(const struct sl_diags *d, enum sl_sev sev, int line,
				  int col, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_diag *g = &d->v[i];

		if (g->sev == sev && (!line || g->pos.line == line) &&
		    (!col || g->pos.col == col) && strstr(g->msg, msg))
			return g;
	}
	return NULL;
}

static size_t count(const struct sl_diags *d, enum sl_sev sev, const char *msg)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && strstr(d->v[i].msg, msg))
			n++;
	return n;
}

static bool rs_zero(const struct sl_ruleset *rs)
{
	static const struct sl_ruleset z;

	return !memcmp(rs, &z, sizeof(z));
}

/* The text must fail with an error at line:col containing msg (and hint). */
static void expect_err(const char *name, const char *text, int line, int col,
		       const char *msg, const char *hint)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	int r = parse(text, &rs, &d);
	const struct sl_diag *g = find(&d, SL_SEV_ERROR, line, col, msg);
	bool ok = r == -EINVAL && g && rs_zero(&rs) && d.nerrors >= 1 &&
		  (!hint || (g->hint && strstr(g->hint, hint)));

	T_CHECK(name, ok, "ret %d, want error %d:%d '%s' hint '%s'", r, line, col, msg,
		hint ? hint : "-");
	if (!ok)
		dump(&d);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* The text must parse without errors; returns 0 and fills rs/d (caller frees). */
static int expect_ok(const char *name, const char *text, struct sl_ruleset *rs,
		     struct sl_diags *d)
{
	int r = parse(text, rs, d);

	if (r != 0 || d->nerrors) {
		T_FAIL(name, "parse failed: %d", r);
		dump(d);
		return -1;
	}
	return 0;
}

static const char *cidr_str(const struct sl_cidr *c, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, n, "%s/%u", a, c->plen);
	return buf;
}

/* Comma-joined CIDRs of a rule, in stored order. */
static const char *dsts_str(const struct sl_rule *r)
{
	static char out[65536];
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < r->ndsts && n < sizeof(out) - 64; i++) {
		char b[64];

		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "",
				      cidr_str(&r->dsts[i], b, sizeof(b)));
	}
	return out;
}

static const char *ports_str(const struct sl_proto_line *l)
{
	static char out[512];
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < l->nports && n < sizeof(out) - 32; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%u-%u", i ? "," : "",
				      l->ports[i].lo, l->ports[i].hi);
	return out;
}

static bool file_in_rs(const struct sl_ruleset *rs, const char *f)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		if (rs->files[i] == f)
			return true;
	return false;
}

/* ---------------------------------------------------------- statements */

static void test_defaults(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;

	if (expect_ok("defaults", "rule a { allow tcp; to any; }", &rs, &d))
		goto out;
	T_CHECK("defaults: policy drop, enforce, control pass, no resolvers",
		rs.policy == SL_POLICY_DROP && rs.mode == SL_MODE_ENFORCE && rs.control_pass &&
		rs.nresolvers == 0 && rs.nrules == 1, "policy %d mode %d control %d",
		rs.policy, rs.mode, rs.control_pass);
	T_CHECK("defaults: no diagnostics", d.n == 0, "%zu diagnostics", d.n);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_statements(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"# a comment line\n"
		"policy allow;   # trailing comment\n"
		"mode audit;\n"
		"control filter;\n"
		"resolvers 192.0.2.53, 2001:DB8::53;\n"
		"resolvers 198.51.100.53;\n"
		"set s { 10.0.0.0/8 };\n"
		"set dns { 203.0.113.53, 198.51.100.53 };\n"
		"resolvers @dns;\n"
		"rule web {\n"
		"    allow tcp 443, 80;\n"
		"    allow udp 443;\n"
		"    to @s;\n"
		"    to 192.0.2.0/24;\n"
		"}\n"
		"rule block { deny any; to 203.0.113.0/24; };\n";

	if (expect_ok("statements", text, &rs, &d))
		goto out;
	T_CHECK("policy allow", rs.policy == SL_POLICY_ALLOW, "%d", rs.policy);
	T_CHECK("mode audit", rs.mode == SL_MODE_AUDIT, "%d", rs.mode);
	T_CHECK("control filter -> control_pass false", !rs.control_pass, "%d", rs.control_pass);
	char b0[64], b1[64], b2[64];
	T_CHECK("resolvers accumulate as host routes, @set included, duplicates once",
		rs.nresolvers == 4 &&
		!strcmp(cidr_str(&rs.resolvers[3], b0, 64), "203.0.113.53/32") &&
		!strcmp(cidr_str(&rs.resolvers[0], b0, 64), "192.0.2.53/32") &&
		!strcmp(cidr_str(&rs.resolvers[1], b1, 64), "2001:db8::53/128") &&
		!strcmp(cidr_str(&rs.resolvers[2], b2, 64), "198.51.100.53/32") &&
		rs.resolvers[1].pos.line == 5 && rs.resolvers[1].pos.col == 23,
		"n=%zu", rs.nresolvers);
	T_CHECK("two rules in order", rs.nrules == 2 && !strcmp(rs.rules[0].name, "web") &&
		!strcmp(rs.rules[1].name, "block"), "nrules %zu", rs.nrules);
	if (rs.nrules != 2)
		goto out;
	const struct sl_rule *w = &rs.rules[0], *bl = &rs.rules[1];
	T_CHECK("rule position is its name", w->pos.line == 10 && w->pos.col == 6 &&
		!strcmp(w->pos.file, "t.rules") && file_in_rs(&rs, w->pos.file),
		"%d:%d", w->pos.line, w->pos.col);
	T_CHECK("allow rule: action, two lines, ports sorted",
		w->action == SL_ACT_ALLOW && w->nlines == 2 && w->lines[0].proto == SL_PROTO_TCP &&
		!strcmp(ports_str(&w->lines[0]), "80-80,443-443") &&
		w->lines[1].proto == SL_PROTO_UDP && w->lines[0].pos.line == 11 &&
		w->lines[0].pos.col == 11, "lines %zu", w->nlines);
	T_CHECK("several `to` accumulate (set + prefix)",
		!strcmp(dsts_str(w), "10.0.0.0/8,192.0.2.0/24"), "%s", dsts_str(w));
	T_CHECK("deny any rule", bl->action == SL_ACT_DENY && bl->nlines == 1 &&
		bl->lines[0].proto == SL_PROTO_ANY && bl->lines[0].nports == 0 &&
		!strcmp(dsts_str(bl), "203.0.113.0/24"), "%s", dsts_str(bl));
	T_CHECK("sl_proto_name", !strcmp(sl_proto_name(SL_PROTO_TCP), "tcp") &&
		!strcmp(sl_proto_name(SL_PROTO_UDP), "udp") &&
		!strcmp(sl_proto_name(SL_PROTO_ICMP), "icmp") &&
		!strcmp(sl_proto_name(SL_PROTO_ICMP6), "icmpv6") &&
		!strcmp(sl_proto_name(SL_PROTO_ANY), "any"), "names");
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_protocols(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;

	if (expect_ok("protocols", "rule p { allow tcp; allow udp; allow icmp; allow icmpv6; allow any; to any; }",
		      &rs, &d))
		goto out;
	const struct sl_rule *r = &rs.rules[0];
	T_CHECK("five protocols, no ports = every port",
		r->nlines == 5 && r->lines[0].proto == SL_PROTO_TCP && r->lines[1].proto == SL_PROTO_UDP &&
		r->lines[2].proto == SL_PROTO_ICMP && r->lines[3].proto == SL_PROTO_ICMP6 &&
		r->lines[4].proto == SL_PROTO_ANY && r->lines[0].nports == 0 && !r->lines[0].ports,
		"nlines %zu", r->nlines);
	T_CHECK("`to any` = 0.0.0.0/0 and ::/0", !strcmp(dsts_str(r), "0.0.0.0/0,::/0"), "%s",
		dsts_str(r));
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_ports(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"rule p {\n"
		"  allow tcp 8050-8200, 443, 80, 8000-8100, 81, 0, 444-500, 501;\n"
		"  allow udp 0-65535;\n"
		"  to any;\n"
		"}\n"
		"rule q { allow tcp 80,443; allow udp 53,123, 3478 - 3479, 5000 -5001, 6000- 6001; to any; }\n";

	if (expect_ok("ports", text, &rs, &d))
		goto out;
	T_CHECK("ports sorted, merged (overlap and adjacency), disjoint",
		!strcmp(ports_str(&rs.rules[0].lines[0]), "0-0,80-81,443-501,8000-8200"),
		"%s", ports_str(&rs.rules[0].lines[0]));
	T_CHECK("0-65535 normalizes to every port (nports 0)", rs.rules[0].lines[1].nports == 0,
		"%s", ports_str(&rs.rules[0].lines[1]));
	T_CHECK("80,443 is two ports (80443 is no port)",
		!strcmp(ports_str(&rs.rules[1].lines[0]), "80-80,443-443"), "%s",
		ports_str(&rs.rules[1].lines[0]));
	T_CHECK("53,123 is two ports; spaced ranges",
		!strcmp(ports_str(&rs.rules[1].lines[1]), "53-53,123-123,3478-3479,5000-5001,6000-6001"),
		"%s", ports_str(&rs.rules[1].lines[1]));
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* -------------------------------------------------------- destinations */

static void test_destinations(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"set inner { 198.51.100.0/25, web.example.net }\n"
		"rule d {\n"
		"  allow tcp 443;\n"
		"  to 10.1.0.0/16, 192.0.2.1, 2001:db8::/32, 2001:db8:1::1, 2407:30C0::/32;\n"
		"  to 192.0.2.64 - 192.0.2.127, 192.0.2.128-192.0.2.191, 192.0.2.192- 192.0.2.223;\n"
		"  to 192.0.2.224 -192.0.2.255, @inner, Zoom.US, *.zoom.us, example.org.;\n"
		"  to 2001:db8:ff::-2001:db8:ff::ff, file \"" FIX "inc/sub/list.txt\";\n"
		"}\n";

	if (expect_ok("destinations", text, &rs, &d))
		goto out;
	const struct sl_rule *r = &rs.rules[0];
	const char *want =
		"10.1.0.0/16,192.0.2.1/32,192.0.2.16/28,192.0.2.64/26,192.0.2.128/26,"
		"192.0.2.192/27,192.0.2.224/27,198.51.100.0/24,198.51.100.0/25,203.0.113.7/32,"
		"2001:db8::/32,2001:db8:1::1/128,2001:db8:ff::/120,2407:30c0::/32";
	T_CHECK("every address form resolves (sorted, nested kept)", !strcmp(dsts_str(r), want),
		"got %s", dsts_str(r));
	bool hosts_ok = r->nhosts == 4;
	for (size_t i = 0; hosts_ok && i < r->nhosts; i++) {
		const struct sl_host *h = &r->hosts[i];

		if (!strcmp(h->name, "zoom.us"))
			hosts_ok = h->wildcard ? (h->pos.line == 6 && h->pos.col == 49)
					       : (h->pos.line == 6 && h->pos.col == 40);
		else if (!strcmp(h->name, "example.org") || !strcmp(h->name, "web.example.net"))
			hosts_ok = !h->wildcard;
		else
			hosts_ok = false;
	}
	T_CHECK("host names lower-cased, *.domain wildcard, trailing dot dropped, set hosts copied",
		hosts_ok, "nhosts %zu", r->nhosts);
	/* positions: a prefix written in the rule, one from a set, one from a file */
	bool pos_ok = false;
	for (size_t i = 0; i < r->ndsts; i++) {
		char b[64];

		cidr_str(&r->dsts[i], b, sizeof(b));
		if (!strcmp(b, "2001:db8:1::1/128"))
			pos_ok = r->dsts[i].pos.line == 4 && r->dsts[i].pos.col == 45;
	}
	T_CHECK("position of an IPv6 address", pos_ok, "-");
	pos_ok = false;
	for (size_t i = 0; i < r->ndsts; i++) {
		char b[64];

		cidr_str(&r->dsts[i], b, sizeof(b));
		if (!strcmp(b, "192.0.2.16/28"))
			pos_ok = r->dsts[i].pos.line == 4 && r->dsts[i].pos.col == 1 &&
				 !strcmp(r->dsts[i].pos.file, FIX "inc/sub/list.txt") &&
				 file_in_rs(&rs, r->dsts[i].pos.file);
	}
	T_CHECK("positions in address files are file:line:col, file interned", pos_ok, "-");
	T_CHECK("nested prefix from a set vs rule warned", find(&d, SL_SEV_WARNING, 1, 13,
		"198.51.100.0/25 is inside 198.51.100.0/24") != NULL, "-");
	if (!pos_ok || !hosts_ok)
		dump(&d);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* Split one range, compare with the expected CIDR list. */
static void check_range(const char *range, const char *want)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	char text[256], name[160];

	snprintf(text, sizeof(text), "rule r { allow any; to %s; }", range);
	snprintf(name, sizeof(name), "range %s -> %s", range, want);
	if (expect_ok(name, text, &rs, &d) == 0)
		T_CHECK(name, !strcmp(dsts_str(&rs.rules[0]), want), "got %s",
			dsts_str(&rs.rules[0]));
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_ranges(void)
{
	check_range("34.203.254.0 - 34.203.254.255", "34.203.254.0/24");
	check_range("54.172.60.0 - 54.172.61.255", "54.172.60.0/23");
	check_range("3.235.111.128 - 3.235.111.255", "3.235.111.128/25");
	check_range("192.0.2.3 - 192.0.2.9", "192.0.2.3/32,192.0.2.4/30,192.0.2.8/31");
	check_range("192.0.2.7-192.0.2.7", "192.0.2.7/32");
	check_range("0.0.0.0 - 255.255.255.255", "0.0.0.0/0");
	check_range("255.255.255.254 - 255.255.255.255", "255.255.255.254/31");
	check_range("10.0.0.255 - 10.0.1.0", "10.0.0.255/32,10.0.1.0/32");
	check_range(":: - ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
	check_range("2001:db8::1 - 2001:db8::6", "2001:db8::1/128,2001:db8::2/127,2001:db8::4/127,2001:db8::6/128");
	/* the worst case: 128 CIDRs, ::1/128 ... 4000::/2, then 8000::/128 */
	struct sl_ruleset rs;
	struct sl_diags d;
	if (expect_ok("range ::1 - 8000::", "rule r { allow any; to ::1 - 8000::; }", &rs, &d) == 0) {
		const char *s = dsts_str(&rs.rules[0]);

		T_CHECK("range ::1 - 8000:: -> 128 CIDRs, every length once",
			rs.rules[0].ndsts == 128 && !strncmp(s, "::1/128,::2/127,::4/126,", 24) &&
			strstr(s, ",4000::/2,8000::/128") && !strcmp(s + strlen(s) - 10, "8000::/128"),
			"%zu: %.80s", rs.rules[0].ndsts, s);
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void)
{
	expect_err("err: missing ';' after the port list",
		   "rule a {\n  allow tcp 443\n  to any;\n}\n", 3, 3,
		   "expected ';' after the port list, found 'to'", NULL);
	expect_err("err: ports on an any line (hint)", "rule a { allow any 443; to any; }", 1, 20,
		   "any takes no ports, found '443'", "ports need tcp or udp; write one line for each");
	expect_err("err: ports on an icmp line (hint)", "rule a { allow icmp 8; to any; }", 1, 21,
		   "icmp takes no ports", "ports need tcp or udp");
	expect_err("err: 10,000-60,000 (hint)", "rule a {\n  allow udp 3478, 10,000-60,000;\n  to any;\n}",
		   2, 19, "thousands separator", "write 10000-60000");
	expect_err("err: 1,024 (leading zero group)", "rule a { allow tcp 1,024; to any; }", 1, 20,
		   "thousands separator", "write 1024");
	expect_err("err: 8,801-8,810 (range)", "rule a { allow udp 8,801-8,810; to any; }", 1, 20,
		   "thousands separator", "write 8801-8810");
	expect_err("err: port out of range", "rule a { allow tcp 70000; to any; }", 1, 20,
		   "port 70000 is out of range (0-65535)", NULL);
	expect_err("err: reversed port range (hint)", "rule a { allow tcp 9000-80; to any; }", 1, 20,
		   "port range 9000-80 is reversed", "write 80-9000");
	expect_err("err: port not a number", "rule a { allow tcp https; to any; }", 1, 20,
		   "expected a port number, found 'https'", NULL);
	expect_err("err: port list ends with ','", "rule a { allow tcp 443,; to any; }", 1, 24,
		   "expected a port or port range after ','", NULL);
	expect_err("err: unknown protocol", "rule a { allow sctp; to any; }", 1, 16,
		   "expected a protocol (tcp, udp, icmp, icmpv6 or any) after 'allow', found 'sctp'", NULL);
	expect_err("err: upper-case protocol (hint)", "rule a { allow TCP 443; to any; }", 1, 16,
		   "expected a protocol", "lower case");
	expect_err("err: host bits set (hint)", "rule a { allow any;\n to 10.0.0.1/24; }", 2, 5,
		   "10.0.0.1/24 has host bits set", "did you mean 10.0.0.0/24?");
	expect_err("err: host bits IPv6 (hint)", "rule a { allow any; to 2001:db8::1/32; }", 1, 24,
		   "has host bits set", "did you mean 2001:db8::/32?");
	expect_err("err: prefix length too long", "rule a { allow any; to 10.0.0.0/33; }", 1, 24,
		   "bad prefix length '/33' (IPv4 allows /0 to /32)", NULL);
	expect_err("err: bad IPv4 address", "rule a { allow any; to 10.0.0.256; }", 1, 24,
		   "bad IPv4 address '10.0.0.256'", NULL);
	expect_err("err: bad IPv6 address", "rule a { allow any; to 2001:db8:::1; }", 1, 24,
		   "bad IPv6 address '2001:db8:::1'", NULL);
	expect_err("err: range mixes families", "rule a { allow any; to 10.0.0.1 - ::1; }", 1, 24,
		   "mixes IPv4 and IPv6", NULL);
	expect_err("err: reversed address range (hint)", "rule a { allow any; to 10.0.0.9 - 10.0.0.1; }",
		   1, 24, "is reversed", "write 10.0.0.1 - 10.0.0.9");
	expect_err("err: range of prefixes", "rule a { allow any; to 10.0.0.0 - 10.0.1.0/24; }", 1, 35,
		   "a range takes addresses, not prefixes", NULL);
	expect_err("err: bad host name label", "rule a { allow any; to -bad.example.com; }", 1, 24,
		   "expected a destination", NULL);
	expect_err("err: '*' inside a host name", "rule a { allow any; to www.*.example.com; }", 1, 24,
		   "'*' is only allowed as a leading '*.'", NULL);
	expect_err("err: host label too long",
		   "rule a { allow any; to aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com; }",
		   1, 24, "a label is at most 63 characters", NULL);
	expect_err("err: host with '_'", "rule a { allow any; to my_host.example.com; }", 1, 24,
		   "'_' is not allowed in a host name", NULL);
	expect_err("err: single word destination", "rule a { allow any; to localhost; }", 1, 24,
		   "bad destination 'localhost'", "a destination is");
	expect_err("err: unknown @set (hint)", "rule a { allow any; to @nope; }", 1, 24,
		   "unknown set '@nope'", "defined before they are used");
	expect_err("err: @set used before its definition",
		   "rule a { allow any; to @later; }\nset later { 10.0.0.0/8 };", 1, 24,
		   "unknown set '@later'", NULL);
	expect_err("err: set containing itself", "set s { 10.0.0.0/8, @s };", 1, 21,
		   "set 's' cannot contain itself", NULL);
	expect_err("err: duplicate rule names", "rule a { allow any; to any; }\nrule a { deny any; to any; }",
		   2, 6, "rule 'a' is already defined at t.rules:1:6", NULL);
	expect_err("err: duplicate set names", "set s { 10.0.0.0/8 }\nset s { 10.0.0.0/9 }", 2, 5,
		   "set 's' is already defined at t.rules:1:5", NULL);
	expect_err("err: mixing allow and deny names both lines",
		   "rule a {\n  allow tcp 443;\n  deny udp;\n  to any;\n}", 3, 3,
		   "rule 'a' mixes allow and deny: 'allow' at t.rules:2:3, 'deny' here", "split it");
	expect_err("err: duplicate protocol line", "rule a {\n allow tcp 80;\n allow tcp 443;\n to any; }",
		   3, 8, "rule 'a' already has a tcp line at t.rules:2:8", "merge");
	expect_err("err: no `to` (hint)", "rule a { allow tcp 443; }", 1, 6,
		   "rule 'a' has no destinations", "write `to any;` to match every destination");
	expect_err("err: no allow/deny line", "rule a { to any; }", 1, 6,
		   "rule 'a' has no allow or deny line", NULL);
	expect_err("err: bad rule name", "rule Zoom { allow any; to any; }", 1, 6,
		   "bad rule name 'Zoom'", "write 'zoom'");
	expect_err("err: rule name with a bad character", "rule a.b { allow any; to any; }", 1, 6,
		   "bad rule name 'a.b'", NULL);
	expect_err("err: rule name of 48 characters",
		   "rule abcdefghijabcdefghijabcdefghijabcdefghij12345678 { allow any; to any; }", 1, 6,
		   "is too long (48 characters; at most 47)", NULL);
	expect_err("err: missing '{'", "rule a allow any; to any; }", 1, 8,
		   "expected '{' after the rule name, found 'allow'", NULL);
	expect_err("err: missing '}' at end of file", "rule a {\n allow any;\n to any;\n", 4, 1,
		   "expected '}' to close rule 'a' (opened at 1:8), found end of file", NULL);
	expect_err("err: allow at top level (hint)", "policy drop;\nallow tcp 443;", 2, 1,
		   "expected a statement", "inside rule NAME");
	expect_err("err: unknown statement in a rule", "rule a { allow any; from any; to any; }", 1, 21,
		   "expected 'allow', 'deny', 'to', 'log' or '}' in rule 'a', found 'from'", NULL);
	expect_err("err: unexpected character", "rule a { allow any; to 10.0.0.0/8 ! ; }", 1, 35,
		   "unexpected character '!'", NULL);
	expect_err("err: unterminated string", "include \"x.rules;\n", 1, 9,
		   "unterminated string", NULL);
	expect_err("err: bad policy", "policy deny;", 1, 8,
		   "expected 'drop' or 'allow' after 'policy', found 'deny'", NULL);
	expect_err("err: missing ';' after mode", "mode audit\nrule a { allow any; to any; }", 2, 1,
		   "expected ';' after 'mode audit', found 'rule'", NULL);
	expect_err("err: bad control", "control off;", 1, 9,
		   "expected 'pass' or 'filter' after 'control'", NULL);
	expect_err("err: conflicting policy", "policy drop;\npolicy allow;", 2, 1,
		   "'policy allow' conflicts with 'policy drop' at t.rules:1:1", NULL);
	expect_err("err: resolver prefix", "resolvers 192.0.2.0/24;", 1, 11,
		   "resolvers are addresses, not prefixes", NULL);
	expect_err("err: resolver host name", "resolvers dns.example.com;", 1, 11,
		   "bad IPv4 address", NULL);
	expect_err("err: resolvers @set of prefixes", "set r { 192.0.2.0/24 };\nresolvers @r;", 2, 11,
		   "set '@r' holds the prefix 192.0.2.0/24, not an address", NULL);
	expect_err("err: resolvers @unknown", "resolvers @nope;", 1, 11,
		   "unknown set '@nope'", NULL);
	expect_err("err: missing ',' between destinations (hint)",
		   "rule a { allow any; to 10.0.0.0/8 192.0.2.0/24; }", 1, 35,
		   "expected ',' or ';' after the destination, found '192.0.2.0/24'",
		   "separate destinations with ','");
	expect_err("err: include of a missing file", "include \"no-such-file.rules\";", 1, 9,
		   "cannot read include file 'no-such-file.rules'", NULL);
	expect_err("err: address file missing", "rule a { allow any; to file \"no-such.txt\"; }", 1, 29,
		   "cannot read address file 'no-such.txt'", NULL);
	expect_err("err: 'any' in a set file is an error", "set s file \"" FIX "bad-list.txt\";", 2, 1,
		   "'any' is not allowed in address files", NULL);
	expect_err("err: bad entry inside an address file has the file's position",
		   "set s file \"" FIX "bad-list.txt\";", 3, 13, "has host bits set", "did you mean 192.0.2.0/24?");

	/* several errors in one run */
	{
		struct sl_ruleset rs;
		struct sl_diags d;
		int r = parse("rule a { allow tcp 70000; to any; }\n"
			      "rule b { allow any; to 10.0.0.1/8; }\n"
			      "rule c { allow tcp 22; to @none; }\n"
			      "rule d { allow tcp 22; to any; }\n", &rs, &d);

		T_CHECK("err: several errors reported in one run (one per rule)",
			r == -EINVAL && d.nerrors == 3 && find(&d, SL_SEV_ERROR, 1, 20, "70000") &&
			find(&d, SL_SEV_ERROR, 2, 24, "host bits") &&
			find(&d, SL_SEV_ERROR, 3, 27, "unknown set"), "ret %d errors %zu", r, d.nerrors);
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
	}
	/* error storm stops */
	{
		struct sl_ruleset rs;
		struct sl_diags d;
		char *text = malloc(200 * 8 + 1);
		size_t n = 0;

		for (int i = 0; i < 200; i++)
			n += (size_t)sprintf(text + n, "bogus;\n");
		int r = parse(text, &rs, &d);
		T_CHECK("err: an error storm stops after 50 errors with a note",
			r == -EINVAL && d.nerrors == 50 && find(&d, SL_SEV_NOTE, 0, 0, "too many errors"),
			"errors %zu", d.nerrors);
		free(text);
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
	}
}

static void test_too_many_rules(void)
{
	size_t cap = 4200 * 48, n = 0;
	char *text = malloc(cap);
	struct sl_ruleset rs;
	struct sl_diags d;
	int r;

	for (int i = 0; i < 4096; i++)
		n += (size_t)snprintf(text + n, cap - n, "rule r%d { allow tcp 22; to any; }\n", i);
	r = parse(text, &rs, &d);
	T_CHECK("4096 rules load", r == 0 && rs.nrules == 4096, "ret %d nrules %zu", r, rs.nrules);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	n += (size_t)snprintf(text + n, cap - n, "rule r4096 { allow tcp 22; to any; }\n");
	r = parse(text, &rs, &d);
	T_CHECK("4097 rules: error at the 4097th rule's name",
		r == -EINVAL && rs_zero(&rs) && d.nerrors == 1 &&
		find(&d, SL_SEV_ERROR, 4097, 6, "too many rules: sluice holds at most 4096"),
		"ret %d errors %zu", r, d.nerrors);
	free(text);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* --------------------------------------------------------------- warnings */

static void test_warnings(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"rule a {\n"
		"  allow tcp 443;\n"
		"  to 10.0.0.0/8, 192.0.2.0/24, 10.0.0.0/8, 10.1.0.0/16;\n"
		"}\n"
		"rule b {\n"
		"  deny tcp 443;\n"
		"  to 10.2.0.0/16, 198.51.100.0/24;\n"
		"}\n"
		"rule c { allow udp 53; to 10.3.0.0/16; }\n"
		"rule d { deny tcp; to 0.0.0.0/0; }\n";

	if (expect_ok("warnings", text, &rs, &d))
		goto out;
	T_CHECK("warn: duplicate entry in a rule names the first",
		find(&d, SL_SEV_WARNING, 3, 32, "10.0.0.0/8 is listed twice; first at t.rules:3:6"),
		"missing");
	T_CHECK("warn: duplicates are removed, nested prefixes kept",
		!strcmp(dsts_str(&rs.rules[0]), "10.0.0.0/8,10.1.0.0/16,192.0.2.0/24"), "%s",
		dsts_str(&rs.rules[0]));
	T_CHECK("warn: nested prefix in the same rule",
		find(&d, SL_SEV_WARNING, 3, 44,
		     "10.1.0.0/16 is inside 10.0.0.0/8 (t.rules:3:6) of the same rule; redundant"),
		"missing");
	T_CHECK("warn: prefix inside another rule's prefix",
		find(&d, SL_SEV_WARNING, 7, 6,
		     "10.2.0.0/16 overlaps rule a's 10.0.0.0/8 at t.rules:3:6: first match decides"),
		"missing");
	T_CHECK("warn: prefix containing another rule's prefix",
		find(&d, SL_SEV_WARNING, 10, 23, "0.0.0.0/0 overlaps rule a's 10.0.0.0/8"), "missing");
	T_CHECK("warn: no overlap warning when the protocols cannot meet (udp vs tcp)",
		!find(&d, SL_SEV_WARNING, 9, 0, "overlaps"), "found one");
	T_CHECK("warn: warnings do not fail the load", rs.nrules == 4 && d.nerrors == 0, "-");
	if (d.nwarnings != 4)
		dump(&d);
	T_CHECK("warn: exactly those four warnings", d.nwarnings == 4, "%zu", d.nwarnings);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_equal_overlap(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"set s { 192.0.2.0/24, 198.51.100.0/24 }\n"
		"rule tcp-web { allow tcp 443; to @s; }\n"
		"rule udp-media { allow udp 3478; to @s; }\n"
		"rule block { deny udp; to 198.51.100.0/24; }\n";

	if (expect_ok("equal overlap", text, &rs, &d))
		goto out;
	T_CHECK("warn: the same set in two rules with disjoint protocols: no warning",
		!find(&d, SL_SEV_WARNING, 3, 0, "overlaps"), "reported");
	T_CHECK("warn: an equal prefix in a later rule whose protocol meets warns",
		find(&d, SL_SEV_WARNING, 4, 27,
		     "198.51.100.0/24 overlaps rule udp-media's 198.51.100.0/24 at t.rules:1:23"),
		"missing");
	T_CHECK("warn: equal overlap, not shadowed (udp 3478 does not cover all of udp)",
		d.nwarnings == 1, "%zu warnings", d.nwarnings);
	if (d.nwarnings != 1)
		dump(&d);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_shadowed(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"rule wide { allow tcp 443, 8000-9000; allow udp; to 10.0.0.0/8, 192.0.2.0/24; }\n"
		"rule dead { deny tcp 8080-8090; deny udp 53; to 10.1.0.0/16, 192.0.2.0/25; }\n"
		"rule alive { allow tcp 8080-9001; to 10.1.0.0/16; }\n"
		"rule alive2 { allow tcp 443; to 10.0.0.0/8, 172.16.0.0/12; }\n"
		"rule dead-any { allow icmp; to 10.9.0.0/16; }\n"
		"rule dead2 { deny icmp; to 10.9.1.0/24; }\n"
		"rule alive3 { deny any; to 10.9.2.0/24; }\n";

	if (expect_ok("shadowed", text, &rs, &d))
		goto out;
	T_CHECK("warn: rule shadowed by an earlier rule (ports subset, nested prefixes)",
		find(&d, SL_SEV_WARNING, 2, 6, "rule 'dead' can never match") &&
		find(&d, SL_SEV_WARNING, 2, 6, "rule 'wide' at t.rules:1:6"), "missing");
	T_CHECK("warn: no shadow when the ports reach beyond (8080-9001)",
		!find(&d, SL_SEV_WARNING, 3, 0, "can never match"), "reported");
	T_CHECK("warn: no shadow when one prefix is not covered",
		!find(&d, SL_SEV_WARNING, 4, 0, "can never match"), "reported");
	T_CHECK("warn: shadow by a later-covered protocol line (icmp after icmp)",
		find(&d, SL_SEV_WARNING, 6, 6, "rule 'dead2' can never match") &&
		find(&d, SL_SEV_WARNING, 6, 6, "rule 'dead-any'"), "missing");
	T_CHECK("warn: `any` line is not shadowed by an icmp line",
		!find(&d, SL_SEV_WARNING, 7, 0, "can never match"), "reported");
	T_CHECK("warn: a shadowed rule gets no overlap warnings",
		!find(&d, SL_SEV_WARNING, 2, 0, "overlaps"), "reported");
	if (d.nwarnings < 2)
		dump(&d);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_hosts_warning(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"rule web { allow tcp 443; to zoom.us, *.zoom.us, 192.0.2.1; }\n"
		"rule names { allow tcp 80; to example.com, example.com; }\n";

	if (expect_ok("hosts", text, &rs, &d))
		goto out;
	T_CHECK("note: host names learned from DNS, one note per rule, no warning",
		count(&d, SL_SEV_NOTE, "are learned from DNS answers") == 2 &&
		count(&d, SL_SEV_WARNING, "learned from DNS") == 0 &&
		find(&d, SL_SEV_NOTE, 1, 0,
		     "rule web: the addresses of zoom.us, *.zoom.us are learned from DNS answers"),
		"missing");
	T_CHECK("note: rule with only names matches nothing until a client resolves them",
		find(&d, SL_SEV_NOTE, 2, 0, "until a client resolves them the rule matches nothing"),
		"missing");
	T_CHECK("warn: duplicate host name", find(&d, SL_SEV_WARNING, 2, 44,
		"example.com is listed twice; first at t.rules:2:31"), "missing");
	T_CHECK("hosts kept in written order",
		!strcmp(rs.rules[0].hosts[0].name, "zoom.us") && !rs.rules[0].hosts[0].wildcard &&
		rs.rules[0].hosts[1].wildcard, "%s", rs.rules[0].hosts[0].name);
	T_CHECK("hosts kept, duplicate removed", rs.rules[1].nhosts == 1 && rs.rules[0].nhosts == 2,
		"%zu", rs.rules[1].nhosts);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_warning_cap(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	char text[4096];
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "rule a { allow any; to 10.0.0.0/8");
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, ", 10.%d.0.0/16, 10.%d.0.0/16", i, i);
	snprintf(text + n, sizeof(text) - n, "; }\n");
	if (expect_ok("cap", text, &rs, &d))
		goto out;
	T_CHECK("warn: at most 20 per kind per rule, then a summary note",
		count(&d, SL_SEV_WARNING, "is listed twice") == 20 &&
		count(&d, SL_SEV_WARNING, "is inside") == 20 &&
		find(&d, SL_SEV_NOTE, 1, 6, "rule 'a': and 10 more duplicate entries not shown") &&
		find(&d, SL_SEV_NOTE, 1, 6, "rule 'a': and 10 more nested prefixes not shown"),
		"%zu warnings", d.nwarnings);
	T_CHECK("warn: the first 20 in source order are shown",
		find(&d, SL_SEV_WARNING, 1, 0, "10.0.0.0/16 is listed twice") &&
		!find(&d, SL_SEV_WARNING, 1, 0, "10.29.0.0/16 is listed twice"), "-");
	T_CHECK("cap: 31 unique prefixes kept", rs.rules[0].ndsts == 31, "%zu", rs.rules[0].ndsts);
	T_CHECK("duplicate @set reference warned once",
		(sl_ruleset_free(&rs), sl_diag_free(&d),
		 parse("set s { 10.0.0.0/8, 11.0.0.0/8 }\nrule a { allow any; to @s, @s; }", &rs, &d) == 0) &&
		d.nwarnings == 1 && find(&d, SL_SEV_WARNING, 2, 28, "@s is listed twice; first at t.rules:2:24") &&
		rs.rules[0].ndsts == 2, "%zu warnings", d.nwarnings);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

/* ---------------------------------------------------- files and includes */

static void test_vendor_lists(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	const char *text =
		"set zoom-ips file \"" FIX "zoom-ips.txt\";\n"
		"set twilio file \"" FIX "twilio-media.txt\";\n"
		"rule zoom-media { allow tcp 443, 8801-8802; allow udp 3478-3479, 8801-8810; to @zoom-ips; }\n"
		"rule one-click-media { allow udp 3478, 10000-60000; allow tcp 443, 3478, 5349; to @twilio; }\n";

	if (expect_ok("vendor lists", text, &rs, &d))
		goto out;
	const struct sl_rule *z = &rs.rules[0], *t = &rs.rules[1];
	size_t v4 = 0, v6 = 0;
	for (size_t i = 0; i < z->ndsts; i++)
		*(z->dsts[i].family == AF_INET ? &v4 : &v6) += 1;
	/* 316 IPv4 entries, one listed twice; 3 IPv6 (upper case) */
	T_CHECK("zoom list pasted verbatim: 315 unique IPv4 + 3 IPv6 prefixes",
		z->ndsts == 318 && v4 == 315 && v6 == 3, "ndsts %zu (v4 %zu v6 %zu)", z->ndsts, v4, v6);
	T_CHECK("zoom list: duplicate 16.63.30.0/24 warned with both positions",
		find(&d, SL_SEV_WARNING, 3, 657, "16.63.30.0/24 is listed twice; first at "
		     FIX "zoom-ips.txt:3:486"), "missing");
	T_CHECK("zoom list: 193.122.36.0/22 nested in 193.122.32.0/21 warned",
		find(&d, SL_SEV_WARNING, 3, 4049, "193.122.36.0/22 is inside 193.122.32.0/21 ("
		     FIX "zoom-ips.txt:3:4032) of the same set; redundant"), "missing");
	T_CHECK("zoom list: missing comma (16.63.30.0/24 18.157.88.0/24) and no space "
		"(193.122.216.32/27,193.122.222.0/27) both read", strstr(dsts_str(z), "18.157.88.0/24") &&
		strstr(dsts_str(z), "193.122.216.32/27") && strstr(dsts_str(z), "193.122.222.0/27"),
		"missing");
	T_CHECK("zoom list: upper-case IPv6 read", strstr(dsts_str(z), "2407:30c0::/32") != NULL, "-");
	T_CHECK("zoom list: warnings only about the list (1 duplicate, 3 nested)",
		d.nerrors == 0 && count(&d, SL_SEV_WARNING, "listed twice") == 1 &&
		count(&d, SL_SEV_WARNING, "is inside") == 3, "%zu warnings", d.nwarnings);
	T_CHECK("twilio ranges with spaces: 7 CIDRs",
		!strcmp(dsts_str(t), "3.235.111.128/25,34.203.250.0/23,34.203.254.0/24,"
			"34.216.110.128/27,44.234.69.0/25,54.172.60.0/23,54.244.51.0/24"),
		"%s", dsts_str(t));
	T_CHECK("10000-60000 written plainly is a range", !strcmp(ports_str(&t->lines[0]),
		"3478-3478,10000-60000"), "%s", ports_str(&t->lines[0]));
	if (d.nwarnings != 4)
		dump(&d);
out:
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_vendor_inline(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	/* the same list pasted between braces: white space separates too */
	const char *text =
		"set s {\n"
		"  34.203.254.0 - 34.203.254.255\n"
		"  16.63.29.0/24, 16.63.30.0/24 18.157.88.0/24, 193.122.216.32/27,193.122.222.0/27\n"
		"  2407:30C0::/32\n"
		"}\n"
		"rule r { allow udp; to @s; }\n";

	if (expect_ok("vendor inline", text, &rs, &d) == 0)
		T_CHECK("set body takes the vendor format (whitespace, missing commas)",
			rs.rules[0].ndsts == 7 && d.n == 0, "%s", dsts_str(&rs.rules[0]));
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void test_include(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	int r;

	memset(&d, 0, sizeof(d));
	r = sl_ruleset_load(FIX "inc/main.rules", &rs, &d);
	T_CHECK("include: relative to the including file, nested, expanded in place",
		r == 0 && rs.nrules == 2 && !strcmp(rs.rules[0].name, "from-b") &&
		!strcmp(rs.rules[1].name, "after") && rs.policy == SL_POLICY_ALLOW,
		"ret %d nrules %zu", r, rs.nrules);
	if (r == 0 && rs.nrules == 2) {
		T_CHECK("include: set file relative to the included file",
			!strcmp(dsts_str(&rs.rules[0]), "192.0.2.16/28,198.51.100.0/24,203.0.113.7/32"),
			"%s", dsts_str(&rs.rules[0]));
		T_CHECK("include: positions name the included file",
			!strcmp(rs.rules[0].pos.file, FIX "inc/sub/b.rules") &&
			rs.rules[0].pos.line == 1 && rs.rules[0].pos.col == 6 &&
			!strcmp(rs.rules[0].dsts[0].pos.file, FIX "inc/sub/list.txt") &&
			rs.rules[0].dsts[0].pos.line == 4 && file_in_rs(&rs, rs.rules[0].pos.file),
			"%s", rs.rules[0].pos.file);
	} else {
		dump(&d);
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	r = sl_ruleset_load(FIX "cyc/a.rules", &rs, &d);
	T_CHECK("include: cycle is an error naming the chain",
		r == -EINVAL && rs_zero(&rs) &&
		find(&d, SL_SEV_ERROR, 2, 9, "include cycle: " FIX "cyc/a.rules -> " FIX "cyc/b.rules -> "
		     FIX "cyc/a.rules"), "ret %d", r);
	if (r != -EINVAL)
		dump(&d);
	sl_diag_free(&d);

	/* depth: a chain of 18 files */
	char dir[] = "/tmp/sluice-test-XXXXXX";
	if (!mkdtemp(dir)) {
		T_FAIL("include: depth", "mkdtemp: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 18; i++) {
		char p[128];
		FILE *f;

		snprintf(p, sizeof(p), "%s/f%d.rules", dir, i);
		f = fopen(p, "w");
		if (!f)
			break;
		if (i < 17)
			fprintf(f, "include \"f%d.rules\";\n", i + 1);
		else
			fprintf(f, "rule deep { allow any; to any; }\n");
		fclose(f);
	}
	char top[128];
	snprintf(top, sizeof(top), "%s/f1.rules", dir);     /* 16 levels below: fine */
	r = sl_ruleset_load(top, &rs, &d);
	T_CHECK("include: 16 levels deep is allowed", r == 0 && rs.nrules == 1, "ret %d", r);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	snprintf(top, sizeof(top), "%s/f0.rules", dir);     /* 17 levels: error */
	r = sl_ruleset_load(top, &rs, &d);
	T_CHECK("include: deeper than 16 is an error",
		r == -EINVAL && find(&d, SL_SEV_ERROR, 1, 1, "includes nested too deeply"), "ret %d", r);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	for (int i = 0; i < 18; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/f%d.rules", dir, i);
		unlink(p);
	}
	rmdir(dir);

	r = sl_ruleset_load(FIX "does-not-exist.rules", &rs, &d);
	T_CHECK("load: missing top file -> -ENOENT with a diagnostic",
		r == -ENOENT && rs_zero(&rs) && d.nerrors == 1 && d.v[0].pos.line == 0,
		"ret %d", r);
	sl_diag_free(&d);
}

/* ---------------------------------------------------------- diagnostics */

static void test_diag_print(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	parse("rule a { allow any; to 10.0.0.1/24; }", &rs, &d);
	f = open_memstream(&buf, &len);
	sl_diag_print(&d, f);
	fclose(f);
	T_CHECK("diag print: FILE:LINE:COL: error: MSG, then the hint line",
		buf && !strcmp(buf, "t.rules:1:24: error: 10.0.0.1/24 has host bits set\n"
			       "  hint: did you mean 10.0.0.0/24?\n"), "got '%s'", buf ? buf : "");
	T_CHECK("diag: positions survive the freed ruleset (own copy of the file name)",
		d.n == 1 && d.v[0].pos.file && !strcmp(d.v[0].pos.file, "t.rules"), "-");
	free(buf);
	sl_diag_free(&d);
	T_CHECK("diag free zeroes", d.n == 0 && d.v == NULL && d.nerrors == 0, "-");
}

/* ----------------------------------------------------------- robustness */

static void test_truncations(void)
{
	/* Every prefix of a valid file, and a few mutations: never crash or leak. */
	const char *text =
		"policy drop; mode audit; control pass; resolvers 192.0.2.53, 2001:db8::53;\n"
		"set a { 10.0.0.0/8, 192.0.2.3 - 192.0.2.9, x.example.com, *.y.example }\n"
		"set b { @a, 2001:db8::/48 }\n"
		"rule r { allow tcp 443, 8801-8802; allow udp 10000-60000; to @b, any, 1.2.3.4-1.2.3.5; }\n"
		"rule s { deny any; to 203.0.113.0/24; }\n";
	size_t n = strlen(text), bad = 0;

	for (size_t i = 0; i <= n; i++) {
		struct sl_ruleset rs;
		struct sl_diags d = { 0 };
		char *copy = malloc(i ? i : 1);
		int r;

		memcpy(copy, text, i);
		r = sl_ruleset_parse("t.rules", copy, i, &rs, &d);
		if (r != 0 && r != -EINVAL)
			bad++;
		if (r != 0 && !rs_zero(&rs))
			bad++;
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
		free(copy);
	}
	uint32_t seed = 12345;
	for (int k = 0; k < 3000; k++) {
		struct sl_ruleset rs;
		struct sl_diags d = { 0 };
		char *copy = malloc(n);
		static const char alphabet[] = "{};,-/.:*@\"# \n0a9Z\x01\xff";

		memcpy(copy, text, n);
		for (int m = 0; m < 3; m++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			copy[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		int r = sl_ruleset_parse("t.rules", copy, n, &rs, &d);
		if ((r != 0 && r != -EINVAL) || (r == 0 && d.nerrors) || (r != 0 && !d.nerrors))
			bad++;
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
		free(copy);
	}
	T_CHECK("robustness: every truncation and 3000 mutations parse or fail cleanly",
		bad == 0, "%zu bad results", bad);
	struct sl_ruleset rs;
	struct sl_diags d = { 0 };
	T_CHECK("robustness: empty and NULL input are an empty ruleset",
		sl_ruleset_parse("t", "", 0, &rs, &d) == 0 && rs.nrules == 0 &&
		(sl_ruleset_free(&rs), sl_ruleset_parse("t", NULL, 0, &rs, &d)) == 0 && d.n == 0, "-");
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	T_CHECK("robustness: NUL byte is an error, not the end",
		sl_ruleset_parse("t", "policy drop;\0 rule", 18, &rs, &d) == -EINVAL &&
		find(&d, SL_SEV_ERROR, 1, 13, "unexpected byte 0x00"), "-");
	sl_diag_free(&d);
}

/* ---------------------------------------------------------------- scale */

static void test_million(void)
{
	char path[] = "/tmp/sluice-million-XXXXXX";
	int fd = mkstemp(path);
	struct sl_ruleset rs;
	struct sl_diags d = { 0 };
	struct timespec t0, t1;
	char text[256];
	FILE *f;

	if (fd < 0) {
		T_FAIL("1e6 prefixes", "mkstemp: %s", strerror(errno));
		return;
	}
	f = fdopen(fd, "w");
	/* a million distinct /24s in a scrambled order */
	for (uint32_t i = 0; i < 1000000; i++) {
		uint32_t v = (i * 2654435761u) % 16777216u;     /* odd multiplier: a permutation */

		fprintf(f, "%u.%u.%u.0/24%s", v >> 16, (v >> 8) & 255, v & 255, i % 4 ? ", " : "\n");
	}
	fclose(f);
	snprintf(text, sizeof(text),
		 "rule big { allow tcp 443; to file \"%s\"; }\nrule other { deny any; to 10.0.0.0/8; }\n",
		 path);
	/* CPU time of this process, not wall time: a guard against quadratic
	 * behaviour that a loaded machine cannot trip (figures: make bench) */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	int r = sl_ruleset_parse("t.rules", text, strlen(text), &rs, &d);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("    1,000,000 prefixes: parse + resolve + lint in %.3f s of CPU (sanitized build)\n", s);
	T_CHECK("1e6 prefixes: all kept", r == 0 && rs.nrules == 2 && rs.rules[0].ndsts == 1000000,
		"ret %d", r);
	T_CHECK("1e6 prefixes: overlap warnings bounded (20 + a note)",
		count(&d, SL_SEV_WARNING, "overlaps") <= 20 && d.n <= 22, "%zu diagnostics", d.n);
	T_CHECK("1e6 prefixes: under 2 s", s < 2.0, "%.3f s of CPU", s);
	bool sorted = true;
	for (size_t i = 1; r == 0 && i < rs.rules[0].ndsts && sorted; i++)
		sorted = memcmp(rs.rules[0].dsts[i - 1].addr, rs.rules[0].dsts[i].addr, 4) < 0;
	T_CHECK("1e6 prefixes: stored sorted and distinct", sorted, "-");
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	unlink(path);
}

int main(void)
{
	(void)t_skipped;
	test_defaults();
	test_statements();
	test_protocols();
	test_ports();
	test_destinations();
	test_ranges();
	test_errors();
	test_too_many_rules();
	test_warnings();
	test_equal_overlap();
	test_shadowed();
	test_hosts_warning();
	test_warning_cap();
	test_vendor_lists();
	test_vendor_inline();
	test_include();
	test_diag_print();
	test_truncations();
	test_million();
	printf("test_parse: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
