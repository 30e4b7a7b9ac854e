// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_inbound.c - the inbound direction and ICMP errors under
 * BPF_PROG_TEST_RUN (docs/datapath.md §1 steps 2 and 7, §2 step 3): every
 * crafted frame runs through sluice_tc, sluice_xdp and the cgroup program
 * of its direction, each compared with the reference classifier
 * (sl_classify_frame_dir) and with the expected verdict, reason, rule and
 * flags, and the counters it moved with docs/datapath.md §3.  Mirrored
 * decisions, every ICMP error type with allowed, disallowed and wrongly
 * directed quotes, truncated and malformed quotes, DHCP, ND, link-local
 * sources, control filter.  (The random differential in both directions
 * is test_prog's.)
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN); otherwise prints SKIP and exits 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "sl.h"
#include "kernel/kernel.h"
#include "sluice.skel.h"
#include "test.h"
#include "pkt.h"
#include "dir.h"

static struct sl_ruleset rs;
static struct sl_image img;
static struct sluice_bpf *sk_out, *sk_in;
static int loaded;

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static void unload(void)
{
	if (!loaded)
		return;
	sluice_bpf__destroy(sk_in);
	sl_bpf_destroy(sk_out);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	loaded = 0;
}

static int load(const char *name, const char *text)
{
	struct sl_diags d = {0};
	int e;

	unload();
	if ((e = sl_ruleset_parse(name, text, strlen(text), &rs, &d))) {
		sl_diag_print(&d, stdout);
		sl_diag_free(&d);
		T_FAIL(name, "parse: %s", strerror(-e));
		return e;
	}
	sl_diag_free(&d);
	if ((e = sl_compile(&rs, NULL, 1, &img))) {
		sl_ruleset_free(&rs);
		T_FAIL(name, "compile: %s", strerror(-e));
		return e;
	}
	if ((e = sl_bpf_load(&img, true, NULL, &sk_out)) ||
	    (e = dir_load_inbound(&img, sk_out, &sk_in))) {
		if (sk_out)
			sl_bpf_destroy(sk_out);
		sl_image_free(&img);
		sl_ruleset_free(&rs);
		T_FAIL(name, "load: %s", strerror(-e));
		return e;
	}
	loaded = 1;
	return 0;
}

static const char *rule_name(uint16_t slot)
{
	for (size_t i = 0; i < rs.nrules; i++)
		if (img.slot[i] == slot)
			return rs.rules[i].name;
	return NULL;
}

/* One test_run of @prog on @frame; the recorded result into @res. */
static int run(struct bpf_program *prog, const uint8_t *frame, size_t len, struct sl_result *res,
	       int *rv)
{
	struct __sk_buff ctx = { 0 };
	__u32 k = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = 1);

	memset(res, 0xee, sizeof(*res));
	if (bpf_map_update_elem(bpf_map__fd(sk_out->maps.last), &k, res, BPF_ANY))
		return -errno;
	if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return -errno;
	*rv = (int)o.retval;
	return bpf_map_lookup_elem(bpf_map__fd(sk_out->maps.last), &k, res) ? -errno : 0;
}

static void res_str(const struct sl_result *r, char *out, size_t cap)
{
	const char *n = rule_name(r->rule);

	snprintf(out, cap, "{%s %s%s%s rule=%s port=%u proto=%u}",
		 r->verdict == SL_V_PASS ? "pass" : "drop", sl_reason_name(r->reason),
		 (r->flags & SL_RF_FRAGMENT) ? " frag" : "",
		 (r->flags & SL_RF_ICMP_ERR) ? " icmp-err" : "",
		 r->rule == SL_NO_RULE ? "-" : n ? n : "?", r->port, r->proto);
}

static int differ(const struct sl_result *a, const struct sl_result *b)
{
	return a->verdict != b->verdict || a->reason != b->reason || a->flags != b->flags ||
	       a->rule != b->rule || a->port != b->port ||
	       (a->reason != SL_R_MALFORMED && a->reason != SL_R_NON_IP && a->proto != b->proto);
}

/* Counter state: the rules' pass/drop packets and the globals. */
struct ctrs {
	struct sl_rule_ctr r[16];
	struct sl_global_ctr g[SL_G_MAX];
};

static void ctrs_read(struct ctrs *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < rs.nrules && i < 16; i++)
		sl_read_rule_ctr(bpf_map__fd(sk_out->maps.counters), img.slot[i], &c->r[i]);
	for (int g = 0; g < SL_G_MAX; g++)
		sl_read_global_ctr(bpf_map__fd(sk_out->maps.globals), g, &c->g[g]);
}

/* What moved between @a and @b for one packet with result @r (datapath.md §3)?  "" if right. */
static void ctrs_check(const struct ctrs *a, const struct ctrs *b, const struct sl_result *r,
		       char *why, size_t cap)
{
	struct ctrs want = *a;
	int ri = -1;

	for (size_t i = 0; i < rs.nrules && i < 16; i++)
		if (img.slot[i] == r->rule)
			ri = (int)i;
	switch (r->reason) {
	case SL_R_MALFORMED: want.g[SL_G_MALFORMED].packets++; break;
	case SL_R_CONTROL:   want.g[(r->flags & SL_RF_ND) ? SL_G_ND : SL_G_CONTROL].packets++; break;
	case SL_R_RULE:
		if (ri >= 0 && rs.rules[ri].action == SL_ACT_DENY)
			want.r[ri].drop_packets++;
		else if (ri >= 0)
			want.r[ri].pass_packets++;
		break;
	case SL_R_NEAR_MISS:
		if (ri >= 0) {
			want.r[ri].drop_packets++;
			want.r[ri].near_miss_packets++;
		}
		/* fall through */
	case SL_R_POLICY:
		want.g[SL_G_POLICY_DROP].packets++;
		break;
	}
	if (r->flags & SL_RF_FRAGMENT)
		want.g[SL_G_FRAGMENTS].packets++;
	why[0] = 0;
	for (size_t i = 0; i < rs.nrules && i < 16; i++)
		if (want.r[i].pass_packets != b->r[i].pass_packets ||
		    want.r[i].drop_packets != b->r[i].drop_packets ||
		    want.r[i].near_miss_packets != b->r[i].near_miss_packets)
			snprintf(why + strlen(why), cap - strlen(why), " rule %s counters moved wrong;",
				 rs.rules[i].name);
	for (int g = 0; g < SL_G_MAX; g++)
		if (want.g[g].packets != b->g[g].packets)
			snprintf(why + strlen(why), cap - strlen(why), " global %d: %llu want %llu;", g,
				 (unsigned long long)b->g[g].packets,
				 (unsigned long long)want.g[g].packets);
}

enum { OUT = 0, IN = 1 };
#define F_FRAG SL_RF_FRAGMENT
#define F_ERR  SL_RF_ICMP_ERR

/*
 * One frame in direction @dir: tc (with counters), xdp and cgroup of that
 * direction, the oracle, the expectation ('P'/'D', reason, rule, flags).
 */
static void check(const char *name, int dir, const struct pk_spec *s, char want_v, int want_reason,
		  const char *want_rule, int want_flags)
{
	struct sluice_bpf *sk = dir == IN ? sk_in : sk_out;
	uint8_t frame[4096];
	size_t len = pk_build(s, frame, NULL);
	struct sl_result b, o, x;
	struct ctrs c0, c1;
	char why[2048] = "", bs[160], os[160], desc[600], cw[512];
	const char *got;
	int rv, e;

	if (!loaded) {
		T_FAIL(name, "no ruleset");
		return;
	}
	pk_describe(s, desc, sizeof(desc));
	ctrs_read(&c0);
	if ((e = run(sk->progs.sluice_tc, frame, len, &b, &rv))) {
		T_FAIL(name, "test_run: %s", strerror(-e));
		return;
	}
	ctrs_read(&c1);
	sl_classify_frame_dir(&img, frame, len, dir == IN ? SL_DIR_IN : SL_DIR_OUT, 0, &o);
	res_str(&b, bs, sizeof(bs));
	res_str(&o, os, sizeof(os));
#define WHY(...) snprintf(why + strlen(why), sizeof(why) - strlen(why), __VA_ARGS__)
	if (differ(&b, &o))
		WHY(" bpf %s != oracle %s;", bs, os);
	if ((b.verdict == SL_V_PASS) != (rv == TC_ACT_UNSPEC))
		WHY(" tc returned %d for %s;", rv, bs);
	if ((want_v == 'P') != (b.verdict == SL_V_PASS) || b.reason != want_reason ||
	    b.flags != want_flags)
		WHY(" got %s, want %s %s flags %#x;", bs, want_v == 'P' ? "pass" : "drop",
		    sl_reason_name(want_reason), want_flags);
	got = rule_name(b.rule);
	if ((want_rule == NULL) != (got == NULL) || (want_rule && strcmp(got, want_rule)))
		WHY(" rule %s want %s;", got ? got : "-", want_rule ? want_rule : "-");
	ctrs_check(&c0, &c1, &b, cw, sizeof(cw));
	if (cw[0])
		WHY("%s", cw);
	if (!run(sk->progs.sluice_xdp, frame, len, &x, &rv) &&
	    (differ(&x, &b) || rv != (x.verdict == SL_V_PASS ? XDP_PASS : XDP_DROP))) {
		res_str(&x, os, sizeof(os));
		WHY(" xdp %s rv %d;", os, rv);
	}
	if (s->nvlan == 0 && len > 14) {
		struct bpf_program *cg = dir == IN ? sk_in->progs.sluice_cgroup_in
						   : sk_out->progs.sluice_cgroup;

		if (!run(cg, frame, len, &x, &rv) &&
		    (differ(&x, &b) || rv != (x.verdict == SL_V_PASS))) {
			res_str(&x, os, sizeof(os));
			WHY(" cgroup %s rv %d;", os, rv);
		}
	}
#undef WHY
	if (why[0])
		T_FAIL(name, "[%s]%s", desc, why);
	else
		T_PASS(name);
}

/* ------------------------------------------------------------- frames */

static void addr(uint8_t *a, const char *s)
{
	memset(a, 0, 16);
	inet_pton(strchr(s, ':') ? AF_INET6 : AF_INET, s, a);
}

/* A packet from @src:@sport to @dst:@dport. */
static struct pk_spec pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			  uint8_t proto)
{
	struct pk_spec s = { .family = strchr(dst, ':') ? 6 : 4, .proto = proto, .payload = 8 };

	addr(s.src, src);
	addr(s.dst, dst);
	s.sport = sport;
	s.dport = dport;
	if (proto == 1)
		s.icmp_type = 8;
	if (proto == 58)
		s.icmp_type = 128;
	return s;
}

/* An ICMP error of @type from @src to @dst quoting @q (kept in static storage). */
static struct pk_spec err(const char *src, const char *dst, uint8_t type, const struct pk_spec *q)
{
	static struct pk_spec store[4];
	static int n;
	struct pk_spec s = pkt(src, 0, dst, 0, strchr(dst, ':') ? 58 : 1);

	store[n] = *q;
	s.quote = &store[n];
	n = (n + 1) % 4;
	s.icmp_type = type;
	s.payload = 0;
	return s;
}

static const char *RULES =
	"policy drop;\n"
	"rule media {\n"
	"    allow tcp 443;\n"
	"    allow udp 3478-3479, 8801-8810;\n"
	"    to 198.51.100.0/24, 2001:db8:100::/48;\n"
	"}\n"
	"rule pings { allow icmp; allow icmpv6; to 198.51.100.128/25, 2001:db8:100:ff::/64; }\n"
	"rule blocked { deny any; to 203.0.113.0/24, 2001:db8:bad::/48; }\n";

static void cases_mirrored(void)
{
	struct pk_spec s;

	s = pkt("192.0.2.1", 40000, "198.51.100.7", 443, 6);
	check("mirror: outbound tcp to media:443 passes", OUT, &s, 'P', SL_R_RULE, "media", 0);
	s = pkt("198.51.100.7", 443, "192.0.2.1", 40000, 6);
	check("mirror: inbound tcp from media:443 passes", IN, &s, 'P', SL_R_RULE, "media", 0);
	check("mirror: the same reply judged outbound is a policy drop", OUT, &s, 'D', SL_R_POLICY,
	      NULL, 0);
	s = pkt("198.51.100.7", 80, "192.0.2.1", 443, 6);
	check("mirror: inbound from media:80 to our 443 is a near miss", IN, &s, 'D',
	      SL_R_NEAR_MISS, "media", 0);
	s = pkt("198.51.100.9", 3478, "192.0.2.1", 5000, 17);
	check("mirror: inbound udp from media:3478 passes", IN, &s, 'P', SL_R_RULE, "media", 0);
	s = pkt("198.51.100.9", 8811, "192.0.2.1", 5000, 17);
	check("mirror: inbound udp from media:8811 near miss", IN, &s, 'D', SL_R_NEAR_MISS, "media", 0);
	s = pkt("203.0.113.9", 443, "192.0.2.1", 40000, 6);
	check("mirror: inbound from a denied network", IN, &s, 'D', SL_R_RULE, "blocked", 0);
	s = pkt("192.0.2.99", 443, "192.0.2.1", 40000, 6);
	check("mirror: unsolicited inbound from elsewhere: policy", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("192.0.2.50", 40000, "198.51.100.7", 443, 6);
	check("mirror: inbound is judged by the source, not the destination", IN, &s, 'D',
	      SL_R_POLICY, NULL, 0);
	s = pkt("198.51.100.200", 0, "192.0.2.1", 0, 1);
	check("mirror: inbound icmp echo from pings", IN, &s, 'P', SL_R_RULE, "pings", 0);
	s = pkt("2001:db8:100::5", 443, "2001:db8::1", 40000, 6);
	check("mirror: inbound v6 tcp from media:443", IN, &s, 'P', SL_R_RULE, "media", 0);
	s = pkt("2001:db8:100::5", 22, "2001:db8::1", 40000, 6);
	check("mirror: inbound v6 from media:22 near miss", IN, &s, 'D', SL_R_NEAR_MISS, "media", 0);
	s = pkt("2001:db8:bad::1", 443, "2001:db8::1", 40000, 6);
	check("mirror: inbound v6 from a denied network", IN, &s, 'D', SL_R_RULE, "blocked", 0);
	s = pkt("198.51.100.7", 9, "192.0.2.1", 9, 6);
	s.frag = PK_FRAG_LATER;
	check("mirror: inbound non-first fragment from media", IN, &s, 'P', SL_R_RULE, "media", F_FRAG);
	s = pkt("2001:db8:100::5", 443, "2001:db8::1", 40000, 17);
	s.nexts = 1;
	s.ext_type[0] = 60;
	check("mirror: inbound v6 udp/443 behind a dest-opts header: near miss", IN, &s, 'D',
	      SL_R_NEAR_MISS, "media", 0);
}

static void cases_icmp_errors(void)
{
	static const uint8_t t4[] = { 3, 11, 12 }, t6[] = { 1, 2, 3, 4 };
	struct pk_spec q, s;
	char name[160];

	for (size_t i = 0; i < sizeof(t4); i++) {
		/* a router tells us about one of our outbound packets */
		q = pkt("192.0.2.1", 40000, "198.51.100.7", 443, 6);
		q.df = 1;
		s = err("192.0.2.254", "192.0.2.1", t4[i], &q);
		snprintf(name, sizeof(name), "icmp %u inbound quoting an allowed flow passes", t4[i]);
		check(name, IN, &s, 'P', SL_R_RULE, "media", F_ERR);
		q.dport = 80;
		s = err("192.0.2.254", "192.0.2.1", t4[i], &q);
		snprintf(name, sizeof(name), "icmp %u inbound quoting a disallowed port: near miss", t4[i]);
		check(name, IN, &s, 'D', SL_R_NEAR_MISS, "media", F_ERR);
		q = pkt("192.0.2.1", 5000, "203.0.113.9", 3478, 17);
		s = err("192.0.2.254", "192.0.2.1", t4[i], &q);
		snprintf(name, sizeof(name), "icmp %u inbound quoting a denied flow: denied", t4[i]);
		check(name, IN, &s, 'D', SL_R_RULE, "blocked", F_ERR);
		/* we tell a remote about one of its inbound packets */
		q = pkt("198.51.100.7", 3478, "192.0.2.1", 5000, 17);
		s = err("192.0.2.1", "198.51.100.7", t4[i], &q);
		snprintf(name, sizeof(name), "icmp %u outbound quoting an allowed inbound flow", t4[i]);
		check(name, OUT, &s, 'P', SL_R_RULE, "media", F_ERR);
		q.sport = 9999;
		s = err("192.0.2.1", "198.51.100.7", t4[i], &q);
		snprintf(name, sizeof(name), "icmp %u outbound quoting a disallowed inbound flow", t4[i]);
		check(name, OUT, &s, 'D', SL_R_NEAR_MISS, "media", F_ERR);
	}
	for (size_t i = 0; i < sizeof(t6); i++) {
		q = pkt("2001:db8::1", 40000, "2001:db8:100::5", 443, 6);
		s = err("2001:db8::fe", "2001:db8::1", t6[i], &q);
		snprintf(name, sizeof(name), "icmpv6 %u inbound quoting an allowed flow passes", t6[i]);
		check(name, IN, &s, 'P', SL_R_RULE, "media", F_ERR);
		q.dport = 8443;
		s = err("2001:db8::fe", "2001:db8::1", t6[i], &q);
		snprintf(name, sizeof(name), "icmpv6 %u inbound quoting a disallowed port", t6[i]);
		check(name, IN, &s, 'D', SL_R_NEAR_MISS, "media", F_ERR);
		q = pkt("2001:db8:100::5", 443, "2001:db8::1", 40000, 6);
		s = err("2001:db8::1", "2001:db8:100::5", t6[i], &q);
		snprintf(name, sizeof(name), "icmpv6 %u outbound quoting an allowed inbound flow", t6[i]);
		check(name, OUT, &s, 'P', SL_R_RULE, "media", F_ERR);
		q = pkt("2001:db8::1", 40000, "2001:db8:bad::3", 443, 6);
		s = err("2001:db8::fe", "2001:db8::1", t6[i], &q);
		snprintf(name, sizeof(name), "icmpv6 %u inbound quoting a denied flow", t6[i]);
		check(name, IN, &s, 'D', SL_R_RULE, "blocked", F_ERR);
	}
	/* The quote is judged in the opposite direction: a quote of an inbound
	 * flow in an inbound error is judged by its destination (us). */
	q = pkt("198.51.100.7", 443, "192.0.2.1", 40000, 6);
	s = err("192.0.2.254", "192.0.2.1", 3, &q);
	check("icmp error: an inbound error's quote is judged as outbound", IN, &s, 'D', SL_R_POLICY,
	      NULL, F_ERR);
	/* Not errors: judged as ICMP from their sender. */
	q = pkt("192.0.2.1", 40000, "198.51.100.7", 443, 6);
	s = err("198.51.100.200", "192.0.2.1", 5, &q);
	check("icmp 5 (redirect) is judged as icmp, not by its quote", IN, &s, 'P', SL_R_RULE,
	      "pings", 0);
	s = err("192.0.2.254", "192.0.2.1", 4, &q);
	check("icmp 4 (source quench) is judged as icmp", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	/* Quotes with options, extension headers, fragments, ICMP inside. */
	q = pkt("192.0.2.1", 40000, "198.51.100.7", 443, 6);
	q.ip4_optlen = 8;
	s = err("192.0.2.254", "192.0.2.1", 3, &q);
	check("icmp error: quote with IPv4 options", IN, &s, 'P', SL_R_RULE, "media", F_ERR);
	q = pkt("2001:db8::1", 40000, "2001:db8:100::5", 3479, 17);
	q.nexts = 2;
	q.ext_type[0] = 0;
	q.ext_type[1] = 60;
	q.ext_len[1] = 1;
	s = err("2001:db8::fe", "2001:db8::1", 2, &q);
	check("icmpv6 error: quote with extension headers", IN, &s, 'P', SL_R_RULE, "media", F_ERR);
	q = pkt("192.0.2.1", 40000, "198.51.100.7", 80, 6);
	q.frag = PK_FRAG_LATER;
	s = err("192.0.2.254", "192.0.2.1", 11, &q);
	s.quote_cut = 20;
	check("icmp error: quote of a non-first fragment needs no L4 bytes", IN, &s, 'P', SL_R_RULE,
	      "media", F_ERR | F_FRAG);
	q = pkt("192.0.2.1", 0, "198.51.100.200", 0, 1);
	q.icmp_type = 3;
	s = err("192.0.2.254", "192.0.2.1", 3, &q);
	check("icmp error quoting an icmp error: judged as icmp, not followed", IN, &s, 'P',
	      SL_R_RULE, "pings", F_ERR);
	q = pkt("192.0.2.1", 0, "198.51.100.7", 0, 1);
	q.icmp_type = 3;
	s = err("192.0.2.254", "192.0.2.1", 3, &q);
	check("icmp error quoting icmp to media: near miss", IN, &s, 'D', SL_R_NEAR_MISS, "media",
	      F_ERR);
}

static void cases_truncated(void)
{
	struct pk_spec q4 = pkt("192.0.2.1", 40000, "198.51.100.7", 443, 6), s;
	struct pk_spec q6 = pkt("2001:db8::1", 40000, "2001:db8:100::5", 443, 6);
	struct pk_offs o;
	uint8_t tmp[4096];
	static const int cut4[] = { 1, 10, 19, 20, 23, 27 }, cut6[] = { 8, 39, 40, 44, 47 };
	char name[160];

	for (size_t i = 0; i < sizeof(cut4) / sizeof(cut4[0]); i++) {
		s = err("192.0.2.254", "192.0.2.1", 3, &q4);
		s.quote_cut = cut4[i];
		snprintf(name, sizeof(name), "truncated: icmp quote of %d bytes is malformed", cut4[i]);
		check(name, IN, &s, 'D', SL_R_MALFORMED, NULL, 0);
	}
	s = err("192.0.2.254", "192.0.2.1", 3, &q4);
	s.quote_cut = 28;
	check("truncated: icmp quote of ip header + 8 bytes is enough", IN, &s, 'P', SL_R_RULE,
	      "media", F_ERR);
	for (size_t i = 0; i < sizeof(cut6) / sizeof(cut6[0]); i++) {
		s = err("2001:db8::fe", "2001:db8::1", 2, &q6);
		s.quote_cut = cut6[i];
		snprintf(name, sizeof(name), "truncated: icmpv6 quote of %d bytes is malformed", cut6[i]);
		check(name, IN, &s, 'D', SL_R_MALFORMED, NULL, 0);
	}
	s = err("2001:db8::fe", "2001:db8::1", 2, &q6);
	s.quote_cut = 48;
	check("truncated: icmpv6 quote of ip header + 8 bytes is enough", IN, &s, 'P', SL_R_RULE,
	      "media", F_ERR);
	/* the ICMP header itself cut after 4 of its 8 bytes */
	s = err("192.0.2.254", "192.0.2.1", 3, &q4);
	pk_build(&s, tmp, &o);
	s.cut = o.l4 + 6;
	check("truncated: icmp error header of 6 bytes is malformed", IN, &s, 'D', SL_R_MALFORMED,
	      NULL, 0);
	q4.bad_version = 6;
	s = err("192.0.2.254", "192.0.2.1", 3, &q4);
	check("malformed: icmp quote with IP version 6", IN, &s, 'D', SL_R_MALFORMED, NULL, 0);
	q4.bad_version = 0;
	q4.bad_ihl = 4;
	s = err("192.0.2.254", "192.0.2.1", 3, &q4);
	check("malformed: icmp quote with ihl 4", IN, &s, 'D', SL_R_MALFORMED, NULL, 0);
	q6.bad_version = 4;
	s = err("2001:db8::fe", "2001:db8::1", 1, &q6);
	check("malformed: icmpv6 quote with IP version 4", IN, &s, 'D', SL_R_MALFORMED, NULL, 0);
	q6.bad_version = 0;
	s = err("2001:db8::1", "2001:db8:100::5", 4, &q6);
	s.quote_cut = 30;
	check("truncated: outbound icmpv6 error with a cut quote", OUT, &s, 'D', SL_R_MALFORMED,
	      NULL, 0);
}

static void cases_control(void)
{
	struct pk_spec s, q = pkt("2001:db8::1", 40000, "2001:db8:100::5", 443, 6);

	s = pkt("192.0.2.254", 67, "192.0.2.1", 68, 17);
	check("control: inbound DHCPv4 reply 67->68", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("192.0.2.254", 67, "255.255.255.255", 68, 17);
	check("control: inbound DHCPv4 broadcast reply", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("192.0.2.254", 67, "192.0.2.1", 69, 17);
	check("control: inbound udp 67->69 is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("192.0.2.1", 67, "192.0.2.254", 68, 17);
	check("control: outbound udp 67->68 is judged", OUT, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("192.0.2.254", 67, "192.0.2.1", 68, 6);
	check("control: inbound tcp 67->68 is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("2001:db8::fe", 547, "2001:db8::1", 546, 17);
	check("control: inbound DHCPv6 547->546", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("2001:db8::fe", 546, "2001:db8::1", 547, 17);
	check("control: inbound udp 546->547 is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("2001:db8::fe", 0, "2001:db8::1", 0, 58);
	s.icmp_type = 135;
	s.hop_limit = 255;
	s.payload = 16;
	check("control: inbound neighbour solicitation", IN, &s, 'P', SL_R_CONTROL, NULL, SL_RF_ND);
	s.hop_limit = 64;
	check("control: inbound 'neighbour solicitation' at hop limit 64 is judged", IN, &s, 'D',
	      SL_R_POLICY, NULL, 0);
	s = pkt("fe80::1", 0, "ff02::1", 0, 58);
	s.icmp_type = 134;
	check("control: inbound router advertisement", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("fe80::1", 443, "2001:db8::1", 40000, 6);
	check("control: inbound from fe80::/10", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("febf::1", 443, "2001:db8::1", 40000, 6);
	check("control: inbound from febf:: (fe80::/10)", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = pkt("fec0::1", 443, "2001:db8::1", 40000, 6);
	check("control: inbound from fec0:: is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("2001:db8::1", 40000, "fe80::1", 443, 6);
	check("control: outbound to fe80::1 is judged", OUT, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("198.51.100.7", 5353, "224.0.0.251", 5353, 17);
	check("control: inbound to 224.0.0.251", IN, &s, 'P', SL_R_CONTROL, NULL, 0);
	s = err("fe80::1", "2001:db8::1", 2, &q);
	s.quote_cut = 20;
	check("control: an error from fe80:: passes before its (cut) quote is read", IN, &s, 'P',
	      SL_R_CONTROL, NULL, 0);

	if (load("control filter", "policy drop;\ncontrol filter;\n"
		 "rule media { allow tcp 443; allow udp 3478; to 198.51.100.0/24, 2001:db8:100::/48; }\n"))
		return;
	s = pkt("192.0.2.254", 67, "192.0.2.1", 68, 17);
	check("control filter: inbound DHCPv4 reply is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = pkt("fe80::1", 443, "2001:db8::1", 40000, 6);
	check("control filter: inbound from fe80:: is judged", IN, &s, 'D', SL_R_POLICY, NULL, 0);
	s = err("fe80::1", "2001:db8::1", 2, &q);
	check("control filter: an error from fe80:: is judged by its quote", IN, &s, 'P', SL_R_RULE,
	      "media", F_ERR);
	s.quote_cut = 20;
	check("control filter: ... and a cut quote is malformed", IN, &s, 'D', SL_R_MALFORMED,
	      NULL, 0);
}

static int bpf_ok(char *why, size_t cap)
{
	struct sluice_bpf *s;

	if (geteuid() != 0) {
		snprintf(why, cap, "needs root (CAP_BPF, CAP_NET_ADMIN)");
		return 0;
	}
	s = sluice_bpf__open();
	if (!s) {
		snprintf(why, cap, "cannot open the BPF object");
		return 0;
	}
	sluice_bpf__destroy(s);
	return 1;
}

int main(void)
{
	char why[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(quiet);
	if (!bpf_ok(why, sizeof(why))) {
		T_SKIP("test_inbound", "%s", why);
		return T_DONE();
	}
	if (!load("inbound", RULES)) {
		cases_mirrored();
		cases_icmp_errors();
		cases_truncated();
		cases_control();
	}
	unload();
	return T_DONE();
}
