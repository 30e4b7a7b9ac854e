/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_events.c - events on the pure side (docs/events.md): the `log`
 * statements and their errors (parse.c), the config they compile to,
 * which results are events (image/event.c, the reference for the program
 * tests), the header fields read from an event's bytes, and the JSON line
 * with its filters (util/evfmt.c).  No root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "sl.h"
#include "image/event.h"
#include "util/evfmt.h"
#include "test.h"

static int parse(const char *text, struct sl_ruleset *rs, struct sl_diags *d)
{
	memset(d, 0, sizeof(*d));
	return sl_ruleset_parse("t.rules", text, strlen(text), rs, d);
}

/* @text must fail with an error at line:col whose message (and hint) contain @msg (@hint). */
static void expect_err(const char *name, const char *text, int line, int col, const char *msg,
		       const char *hint)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	int r = parse(text, &rs, &d);
	bool ok = false;

	for (size_t i = 0; i < d.n && !ok; i++) {
		const struct sl_diag *g = &d.v[i];

		ok = g->sev == SL_SEV_ERROR && g->pos.line == line && g->pos.col == col &&
		     strstr(g->msg, msg) && (!hint || (g->hint && strstr(g->hint, hint)));
	}
	T_CHECK(name, r == -EINVAL && ok, "ret %d; want %d:%d '%s'; got %zu diagnostics, first '%s'",
		r, line, col, msg, d.n, d.n ? d.v[0].msg : "-");
	sl_diag_free(&d);
}

static void statements(void)
{
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_image img;

	T_CHECK("parse: defaults log drops, rate 1000, snap 128, no pass events",
		parse("rule a { allow tcp 443; to 192.0.2.0/24; }", &rs, &d) == 0 && rs.log_drops == 1 &&
		rs.log_pass == SL_LOGP_NONE && rs.log_rate == SL_LOG_RATE_DEFAULT &&
		rs.log_snap == SL_SNAP_DEFAULT && !rs.rules[0].log, "drops %u pass %u rate %u snap %u",
		rs.log_drops, rs.log_pass, rs.log_rate, rs.log_snap);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	T_CHECK("parse: log none; log rate 50; log snap 0;",
		parse("log none; log rate 50; log snap 0;\nrule a { allow tcp 443; to 192.0.2.1; }", &rs, &d) == 0 &&
		rs.log_drops == 0 && rs.log_pass == SL_LOGP_NONE && rs.log_rate == 50 && rs.log_snap == 0,
		"drops %u rate %u snap %u", rs.log_drops, rs.log_rate, rs.log_snap);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	T_CHECK("parse: log all; (drops and every pass)",
		parse("log all;\nrule a { allow tcp 443; to 192.0.2.1; }", &rs, &d) == 0 &&
		rs.log_drops == 1 && rs.log_pass == SL_LOGP_ALL, "drops %u pass %u", rs.log_drops, rs.log_pass);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	T_CHECK("parse: a rule's log; marks it and turns pass events on for marked rules",
		parse("rule a { allow tcp 443; log; to 192.0.2.1; }\nrule b { allow udp 53; to 192.0.2.2; }",
		      &rs, &d) == 0 && rs.rules[0].log && !rs.rules[1].log && rs.log_pass == SL_LOGP_RULES &&
		rs.log_drops == 1, "a %d b %d pass %u", rs.nrules ? rs.rules[0].log : -1,
		rs.nrules > 1 ? rs.rules[1].log : -1, rs.log_pass);
	if (!sl_compile(&rs, NULL, 3, &img)) {
		T_CHECK("compile: the config carries log_drops, log_pass, log_rate, log_snap",
			img.cfg.log_drops == 1 && img.cfg.log_pass == SL_LOGP_RULES &&
			img.cfg.log_rate == SL_LOG_RATE_DEFAULT && img.cfg.log_snap == SL_SNAP_DEFAULT,
			"%u %u %u %u", img.cfg.log_drops, img.cfg.log_pass, img.cfg.log_rate, img.cfg.log_snap);
		sl_image_free(&img);
	} else {
		T_FAIL("compile: the config carries log_drops, log_pass, log_rate, log_snap", "compile failed");
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	T_CHECK("parse: the same log statement twice is fine",
		parse("log drops; log drops; log rate 5; log rate 5;", &rs, &d) == 0, "%zu errors", d.nerrors);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);

	expect_err("err: log with an unknown value", "log some;", 1, 5,
		   "expected 'drops', 'none', 'all', 'rate' or 'snap' after 'log', found 'some'", NULL);
	expect_err("err: log; outside a rule", "log;", 1, 4, "expected 'drops', 'none', 'all'",
		   "`log;` alone goes inside a rule");
	expect_err("err: log drops without ;", "log drops\nrule a { allow tcp; to 192.0.2.1; }", 2, 1,
		   "expected ';' after 'log drops', found 'rule'", NULL);
	expect_err("err: log drops then log all", "log drops;\nlog all;", 2, 1,
		   "'log all' conflicts with the earlier 'log' statement at t.rules:1:1", "one such statement");
	expect_err("err: two different rates", "log rate 10;\nlog rate 20;", 2, 1,
		   "'log rate' conflicts with the earlier 'log' statement at t.rules:1:1", NULL);
	expect_err("err: log rate 0", "log rate 0;", 1, 10, "'log rate' takes events per second from 1 to 1000000, not '0'",
		   NULL);
	expect_err("err: log rate 10,000", "log rate 10,000;", 1, 12, "expected ';' after 'log rate', found ','",
		   "no thousands separators");
	expect_err("err: log rate not a number", "log rate fast;", 1, 10,
		   "'log rate' takes events per second from 1 to 1000000, not 'fast'", NULL);
	expect_err("err: log rate without a number", "log rate;", 1, 9, "expected a number after 'log rate', found ';'",
		   "log rate 1000;");
	expect_err("err: log snap 300", "log snap 300;", 1, 10, "'log snap' takes bytes from 0 to 256, not '300'", NULL);
	expect_err("err: log; in a rule takes no value", "rule a { allow tcp 443; log all; to 192.0.2.1; }", 1, 29,
		   "expected ';' after 'log' in rule 'a', found 'all'", "written outside rules");
}

/* Which results are events, with what verdict: the reference for tests/prog/test_events. */
static void expect(void)
{
	static const char *text =
		"policy drop; mode audit;\n"
		"rule web { allow tcp 443; log; to 192.0.2.0/24; }\n"
		"rule ssh { allow tcp 22; to 192.0.2.0/24; }\n"
		"rule bad { deny any; to 203.0.113.0/24; }\n";
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_image img;
	struct sl_result r = { 0 };
	uint8_t v = 0xff;

	if (parse(text, &rs, &d) || sl_compile(&rs, NULL, 1, &img)) {
		T_FAIL("expect: ruleset", "does not parse/compile");
		sl_diag_free(&d);
		return;
	}
	r = (struct sl_result){ .verdict = SL_V_PASS, .reason = SL_R_RULE, .rule = img.slot[2] };
	T_CHECK("expect: audit mode, deny rule: an audit-drop event", sl_event_expect(&img, &r, &v) &&
		v == SL_EV_AUDIT_DROP, "v %u", v);
	r = (struct sl_result){ .verdict = SL_V_PASS, .reason = SL_R_NEAR_MISS, .rule = img.slot[0] };
	T_CHECK("expect: audit mode, near miss: an audit-drop event", sl_event_expect(&img, &r, &v) &&
		v == SL_EV_AUDIT_DROP, "v %u", v);
	r = (struct sl_result){ .verdict = SL_V_PASS, .reason = SL_R_RULE, .rule = img.slot[0] };
	T_CHECK("expect: a pass of a rule with log;: a pass event", sl_event_expect(&img, &r, &v) &&
		v == SL_EV_PASS, "v %u", v);
	r = (struct sl_result){ .verdict = SL_V_PASS, .reason = SL_R_RULE, .rule = img.slot[1] };
	T_CHECK("expect: a pass of a rule without log;: no event", !sl_event_expect(&img, &r, &v), "event");
	r = (struct sl_result){ .verdict = SL_V_PASS, .reason = SL_R_CONTROL, .rule = SL_NO_RULE };
	T_CHECK("expect: control traffic: no event", !sl_event_expect(&img, &r, &v), "event");
	img.cfg.mode = SL_MODE_ENFORCE;
	r = (struct sl_result){ .verdict = SL_V_DROP, .reason = SL_R_MALFORMED, .rule = SL_NO_RULE };
	T_CHECK("expect: enforce, malformed: a drop event", sl_event_expect(&img, &r, &v) && v == SL_EV_DROP,
		"v %u", v);
	img.cfg.log_drops = 0;
	T_CHECK("expect: log none: no drop event", !sl_event_expect(&img, &r, &v), "event");
	T_CHECK("reason names", !strcmp(sl_event_reason(SL_EV_DROP, SL_R_RULE, 0), "deny") &&
		!strcmp(sl_event_reason(SL_EV_PASS, SL_R_RULE, 0), "allow") &&
		!strcmp(sl_event_reason(SL_EV_DROP, SL_R_NEAR_MISS, 0), "near-miss") &&
		!strcmp(sl_event_reason(SL_EV_AUDIT_DROP, SL_R_POLICY, 0), "policy") &&
		!strcmp(sl_event_reason(SL_EV_DROP, SL_R_NEAR_MISS, SL_RF_FRAGMENT), "fragment") &&
		!strcmp(sl_event_reason(SL_EV_DROP, SL_R_MALFORMED, 0), "malformed"), "names differ");
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
}

static void header(void)
{
	uint8_t f[128] = { 0 };
	struct sl_ev_hdr h;
	char s[64];

	/* Ethernet, one VLAN tag, IPv4 192.0.2.1 -> ..., UDP 40000 -> 53 */
	f[12] = 0x81; f[13] = 0x00; f[16] = 0x08; f[17] = 0x00;
	f[18] = 0x45; f[27] = 17;
	f[30] = 192; f[31] = 0; f[32] = 2; f[33] = 1;
	f[38] = 40000 >> 8; f[39] = 40000 & 0xff; f[41] = 53;
	T_CHECK("hdr: IPv4 behind a VLAN tag: source and source port",
		sl_event_hdr(f, 60, false, &h) == 0 && h.family == 4 && h.sport == 40000 &&
		!strcmp(inet_ntop(AF_INET, h.saddr, s, sizeof(s)), "192.0.2.1"), "family %u sport %d", h.family,
		h.sport);
	T_CHECK("hdr: cut in the UDP header: source known, port not", sl_event_hdr(f, 40, false, &h) == 0 &&
		h.family == 4 && h.sport == -1, "sport %d", h.sport);
	/* from the IP header (cgroup): IPv6, ICMPv6 echo request type 128 code 0 */
	memset(f, 0, sizeof(f));
	f[0] = 0x60; f[6] = 58; f[8] = 0x20; f[9] = 0x01; f[10] = 0x0d; f[11] = 0xb8; f[23] = 1;
	f[40] = 128; f[41] = 0;
	T_CHECK("hdr: IPv6 from the IP header: ICMPv6 code", sl_event_hdr(f, 48, true, &h) == 0 && h.family == 6 &&
		h.icmp_code == 0 && !strcmp(inet_ntop(AF_INET6, h.saddr, s, sizeof(s)), "2001:db8::1"),
		"family %u code %d", h.family, h.icmp_code);
	T_CHECK("hdr: not IP", sl_event_hdr((const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\x08\x06", 14, false, &h) == -1,
		"accepted ARP");
}

static void json(void)
{
	struct sl_ev e = { .magic = SL_EV_MAGIC, .size = sizeof(e), .time_ns = 1796113200123000000ULL,
			   .verdict = SL_EV_AUDIT_DROP, .family = 4, .proto = 17, .sport = 40000, .dport = 8811,
			   .len = 128 }, b;
	struct sl_ev_filter f = { .verdict = -1 };
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	strcpy(e.instance, "default");
	strcpy(e.hook, "tc-egress");
	strcpy(e.dev, "wan0");
	strcpy(e.reason, "near-miss");
	strcpy(e.rule, "zoom-media");
	strcpy(e.src, "192.0.2.10");
	strcpy(e.dst, "198.51.100.7");
	strcpy(e.name, "*.zoom.us");
	sl_ev_json(&e, m);
	fclose(m);
	T_CHECK("json: the documented keys in order",
		buf && !strcmp(buf, "{\"time\":\"2026-12-01T08:20:00.123Z\",\"instance\":\"default\",\"hook\":\"tc-egress\","
			       "\"dev\":\"wan0\",\"verdict\":\"audit-drop\",\"reason\":\"near-miss\",\"rule\":\"zoom-media\","
			       "\"family\":4,\"src\":\"192.0.2.10\",\"dst\":\"198.51.100.7\",\"proto\":\"udp\","
			       "\"sport\":40000,\"dport\":8811,\"len\":128,\"name\":\"*.zoom.us\","
			       "\"direction\":\"outbound\"}\n"), "got %s", buf);
	T_CHECK("json: read back equal", buf && sl_ev_parse_json(buf, &b) == 0 && b.time_ns == e.time_ns &&
		b.verdict == e.verdict && b.family == 4 && b.proto == 17 && b.sport == 40000 && b.dport == 8811 &&
		b.len == 128 && !b.inbound && !strcmp(b.rule, e.rule) && !strcmp(b.name, e.name) && !strcmp(b.dst, e.dst) &&
		!strcmp(b.dev, e.dev) && !strcmp(b.reason, e.reason), "differs");
	free(buf);
	buf = NULL;
	m = open_memstream(&buf, &n);
	strcpy(e.container, "0123456789abcdef0123");
	strcpy(e.pod_ns, "tele-video");
	strcpy(e.pod_name, "visit-7");
	sl_ev_json(&e, m);
	sl_ev_text(&e, m);
	fclose(m);
	T_CHECK("json: a sluice-cni container and its pod, after direction",
		buf && strstr(buf, "\"direction\":\"outbound\",\"container\":\"0123456789abcdef0123\","
				   "\"pod_namespace\":\"tele-video\",\"pod_name\":\"visit-7\"}\n"), "got %s", buf);
	T_CHECK("text: ... on wan0 container 0123456789ab pod tele-video/visit-7",
		buf && strstr(buf, " on wan0 container 0123456789ab pod tele-video/visit-7\n"), "got %s", buf);
	T_CHECK("json: the container read back", buf && sl_ev_parse_json(buf, &b) == 0 &&
		!strcmp(b.container, e.container) && !strcmp(b.pod_ns, "tele-video") && !strcmp(b.pod_name, "visit-7"),
		"differs");
	T_CHECK("json: nulls read back as empty", sl_ev_parse_json("{\"rule\":null,\"sport\":null,\"name\":null}", &b) == 0 &&
		!b.rule[0] && b.sport == -1 && !b.name[0], "rule '%s' sport %d", b.rule, b.sport);
	T_CHECK("json: not an object", sl_ev_parse_json("drop 192.0.2.1", &b) == -EINVAL, "accepted");
	T_CHECK("json: cut short", sl_ev_parse_json("{\"rule\":\"a", &b) == -EINVAL, "accepted");
	free(buf);

	T_CHECK("filter: none matches", sl_ev_match(&f, &e), "no match");
	T_CHECK("filter: --dst 198.51.100.0/24", sl_ev_filter_dst(&f, "198.51.100.0/24") == 0 && sl_ev_match(&f, &e),
		"no match");
	T_CHECK("filter: --dst 198.51.100.8/29 does not match .7", sl_ev_filter_dst(&f, "198.51.100.8/29") == 0 &&
		!sl_ev_match(&f, &e), "matched");
	T_CHECK("filter: --dst 2001:db8::/32 does not match IPv4", sl_ev_filter_dst(&f, "2001:db8::/32") == 0 &&
		!sl_ev_match(&f, &e), "matched");
	T_CHECK("filter: --dst 1.2.3.4/33 refused", sl_ev_filter_dst(&f, "1.2.3.4/33") == -EINVAL, "accepted");
	f = (struct sl_ev_filter){ .verdict = SL_EV_DROP };
	T_CHECK("filter: --verdict drop does not match an audit-drop", !sl_ev_match(&f, &e), "matched");
	f = (struct sl_ev_filter){ .verdict = -1, .rule = "zoom-media" };
	T_CHECK("filter: --rule zoom-media", sl_ev_match(&f, &e), "no match");
	T_CHECK("verdict names", sl_ev_verdict_parse("audit-drop") == SL_EV_AUDIT_DROP && sl_ev_verdict_parse("x") == -1,
		"differ");
}

int main(void)
{
	statements();
	expect();
	header();
	json();
	(void)t_skipped;
	return T_DONE();
}
