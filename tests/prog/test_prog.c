// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_prog.c - the BPF data path under BPF_PROG_TEST_RUN, packet by packet
 * against the reference classifier (sl_classify_frame) and against the
 * expected verdict written in each case; counter deltas against
 * docs/datapath.md §3; then a seeded random differential run.
 *
 *   build/tests/test_prog [-s SEED] [-n RULESETS] [-p PACKETS] [-v]
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN); otherwise prints SKIP and exits 0.
 * No packet leaves the machine: everything runs through test_run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static int verbose;

/* ------------------------------------------------------------ a ruleset */

struct tset {
	const char *name;
	char *text;
	struct sl_ruleset rs;
	struct sl_image img;
	struct sluice_bpf *skel;
	struct sluice_bpf *skel_in;     /* inbound programs (dir.h), loaded when first used */
	int ok;
	int own_rs;             /* rs built by this file (no parser), freed here */
};

static int silence_libbpf(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (verbose || l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

/* Parse, compile, load with record=1.  On error, why goes into @why. */
static int tset_open(struct tset *t, const char *name, const char *text, char *why, size_t cap)
{
	struct sl_diags d = {0};
	int e;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->text = strdup(text);
	e = sl_ruleset_parse(name, text, strlen(text), &t->rs, &d);
	if (e) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		sl_diag_print(&d, f);
		fclose(f);
		snprintf(why, cap, "parse: %s: %s", strerror(-e), buf ? buf : "");
		free(buf);
		sl_diag_free(&d);
		free(t->text);
		t->text = NULL;
		return e;
	}
	sl_diag_free(&d);
	e = sl_compile(&t->rs, NULL, 1, &t->img);
	if (e) {
		snprintf(why, cap, "compile: %s", strerror(-e));
		sl_ruleset_free(&t->rs);
		free(t->text);
		t->text = NULL;
		return e;
	}
	e = sl_bpf_load(&t->img, true, NULL, &t->skel);
	if (e) {
		snprintf(why, cap, "sl_bpf_load: %s", strerror(-e));
		sl_image_free(&t->img);
		sl_ruleset_free(&t->rs);
		free(t->text);
		t->text = NULL;
		return e;
	}
	t->ok = 1;
	return 0;
}

static void own_rs_free(struct sl_ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		for (size_t j = 0; j < rs->rules[i].nlines; j++)
			free(rs->rules[i].lines[j].ports);
		free(rs->rules[i].lines);
		free(rs->rules[i].dsts);
		free(rs->rules[i].name);
	}
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

/* Compile and load an already built ruleset (when the parser is not there). */
static int tset_open_built(struct tset *t, const char *name, const char *text,
			   struct sl_ruleset *rs, char *why, size_t cap)
{
	int e;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->text = strdup(text);
	t->rs = *rs;
	t->own_rs = 1;
	e = sl_compile(&t->rs, NULL, 1, &t->img);
	if (!e && (e = sl_bpf_load(&t->img, true, NULL, &t->skel)))
		sl_image_free(&t->img);
	if (e) {
		snprintf(why, cap, "%s: %s", t->skel ? "sl_bpf_load" : "compile/load", strerror(-e));
		own_rs_free(&t->rs);
		free(t->text);
		t->text = NULL;
		return e;
	}
	t->ok = 1;
	return 0;
}

/* The programs for packets of direction @inbound, or NULL. */
static struct sluice_bpf *tset_skel(struct tset *t, int inbound)
{
	if (!inbound)
		return t->skel;
	if (!t->skel_in && dir_load_inbound(&t->img, t->skel, &t->skel_in))
		return NULL;
	return t->skel_in;
}

static void tset_close(struct tset *t)
{
	if (!t->ok)
		return;
	if (t->skel_in)
		sluice_bpf__destroy(t->skel_in);
	sl_bpf_destroy(t->skel);
	sl_image_free(&t->img);
	if (t->own_rs)
		own_rs_free(&t->rs);
	else
		sl_ruleset_free(&t->rs);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

static int rule_index_of_slot(const struct tset *t, uint16_t slot)
{
	for (size_t i = 0; i < t->rs.nrules; i++)
		if (t->img.slot[i] == slot)
			return (int)i;
	return -1;
}

static const char *rule_name_of_slot(const struct tset *t, uint16_t slot)
{
	int i = slot == SL_NO_RULE ? -1 : rule_index_of_slot(t, slot);

	return i < 0 ? NULL : t->rs.rules[i].name;
}

/* ------------------------------------------------------------- counters */

struct snap {
	struct sl_rule_ctr r[64];       /* by rule index */
	struct sl_global_ctr g[SL_G_MAX];
	size_t nr;
};

static int snap_read(const struct tset *t, struct snap *s)
{
	int cfd = bpf_map__fd(t->skel->maps.counters);
	int gfd = bpf_map__fd(t->skel->maps.globals);
	int e;

	memset(s, 0, sizeof(*s));
	s->nr = t->rs.nrules < 64 ? t->rs.nrules : 64;
	for (size_t i = 0; i < s->nr; i++)
		if ((e = sl_read_rule_ctr(cfd, t->img.slot[i], &s->r[i])))
			return e;
	for (int g = 0; g < SL_G_MAX; g++)
		if ((e = sl_read_global_ctr(gfd, g, &s->g[g])))
			return e;
	return 0;
}

static const char *gname[SL_G_MAX] = {
	"policy_pass", "policy_drop", "malformed", "non_ip", "fragments", "control", "audit_pass",
	"unknown_if", "nd_pass",
};

/* Add to @e what datapath.md §3 says one packet with result @r costs. */
static void expect_add(const struct tset *t, const struct sl_result *r, uint32_t packets,
		       uint64_t bytes, struct snap *e)
{
	int drop = 0, ri;

	switch (r->reason) {
	case SL_R_MALFORMED:
		e->g[SL_G_MALFORMED].packets += packets;
		e->g[SL_G_MALFORMED].bytes += bytes;
		drop = 1;
		break;
	case SL_R_NON_IP:
		e->g[SL_G_NON_IP].packets += packets;
		e->g[SL_G_NON_IP].bytes += bytes;
		break;
	case SL_R_CONTROL:
		e->g[(r->flags & SL_RF_ND) ? SL_G_ND : SL_G_CONTROL].packets += packets;
		e->g[(r->flags & SL_RF_ND) ? SL_G_ND : SL_G_CONTROL].bytes += bytes;
		break;
	case SL_R_RULE:
		ri = rule_index_of_slot(t, r->rule);
		if (ri < 0 || ri >= 64)
			break;
		if (t->rs.rules[ri].action == SL_ACT_DENY) {
			e->r[ri].drop_packets += packets;
			e->r[ri].drop_bytes += bytes;
			drop = 1;
		} else {
			e->r[ri].pass_packets += packets;
			e->r[ri].pass_bytes += bytes;
		}
		break;
	case SL_R_NEAR_MISS:
	case SL_R_POLICY:
		if (t->img.cfg.policy == SL_POLICY_ALLOW) {
			e->g[SL_G_POLICY_PASS].packets += packets;
			e->g[SL_G_POLICY_PASS].bytes += bytes;
			break;
		}
		drop = 1;
		e->g[SL_G_POLICY_DROP].packets += packets;
		e->g[SL_G_POLICY_DROP].bytes += bytes;
		if (r->reason == SL_R_NEAR_MISS) {
			ri = rule_index_of_slot(t, r->rule);
			if (ri < 0 || ri >= 64)
				break;
			e->r[ri].drop_packets += packets;
			e->r[ri].drop_bytes += bytes;
			e->r[ri].near_miss_packets += packets;
			e->r[ri].near_miss_bytes += bytes;
		}
		break;
	}
	if (r->flags & SL_RF_FRAGMENT) {
		e->g[SL_G_FRAGMENTS].packets += packets;
		e->g[SL_G_FRAGMENTS].bytes += bytes;
	}
	if (drop && t->img.cfg.mode == SL_MODE_AUDIT) {
		e->g[SL_G_AUDIT_PASS].packets += packets;
		e->g[SL_G_AUDIT_PASS].bytes += bytes;
	}
}

/* Compare after - before with @exp; describe differences into @why. */
static int snap_cmp(const struct tset *t, const struct snap *before, const struct snap *after,
		    const struct snap *exp, char *why, size_t cap)
{
	size_t k = 0;
	int bad = 0;

#define CMPF(cond, ...) do { if (!(cond)) { bad = 1; if (k < cap) \
	k += snprintf(why + k, cap - k, __VA_ARGS__); } } while (0)
	for (size_t i = 0; i < after->nr; i++) {
		const struct sl_rule_ctr *a = &after->r[i], *b = &before->r[i], *x = &exp->r[i];
		const char *n = t->rs.rules[i].name;

		CMPF(a->pass_packets - b->pass_packets == x->pass_packets &&
		     a->pass_bytes - b->pass_bytes == x->pass_bytes,
		     " %s.pass %llu/%llu want %llu/%llu;", n,
		     (unsigned long long)(a->pass_packets - b->pass_packets),
		     (unsigned long long)(a->pass_bytes - b->pass_bytes),
		     (unsigned long long)x->pass_packets, (unsigned long long)x->pass_bytes);
		CMPF(a->drop_packets - b->drop_packets == x->drop_packets &&
		     a->drop_bytes - b->drop_bytes == x->drop_bytes,
		     " %s.drop %llu/%llu want %llu/%llu;", n,
		     (unsigned long long)(a->drop_packets - b->drop_packets),
		     (unsigned long long)(a->drop_bytes - b->drop_bytes),
		     (unsigned long long)x->drop_packets, (unsigned long long)x->drop_bytes);
		CMPF(a->near_miss_packets - b->near_miss_packets == x->near_miss_packets &&
		     a->near_miss_bytes - b->near_miss_bytes == x->near_miss_bytes,
		     " %s.near_miss %llu/%llu want %llu/%llu;", n,
		     (unsigned long long)(a->near_miss_packets - b->near_miss_packets),
		     (unsigned long long)(a->near_miss_bytes - b->near_miss_bytes),
		     (unsigned long long)x->near_miss_packets, (unsigned long long)x->near_miss_bytes);
	}
	for (int g = 0; g < SL_G_MAX; g++)
		CMPF(after->g[g].packets - before->g[g].packets == exp->g[g].packets &&
		     after->g[g].bytes - before->g[g].bytes == exp->g[g].bytes,
		     " %s %llu/%llu want %llu/%llu;", gname[g],
		     (unsigned long long)(after->g[g].packets - before->g[g].packets),
		     (unsigned long long)(after->g[g].bytes - before->g[g].bytes),
		     (unsigned long long)exp->g[g].packets, (unsigned long long)exp->g[g].bytes);
#undef CMPF
	return bad;
}

/* -------------------------------------------------------------- running */

#define RES_UNSET 0xee

static int run_prog(int prog_fd, int last_fd, const uint8_t *frame, size_t len, uint32_t gso,
		    struct sl_result *res, int *retval)
{
	struct __sk_buff ctx = { .gso_segs = gso };
	struct sl_result unset;
	__u32 k = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = frame,
		.data_size_in = (__u32)len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1,
	);
	int e;

	memset(&unset, RES_UNSET, sizeof(unset));
	if (bpf_map_update_elem(last_fd, &k, &unset, BPF_ANY))
		return -errno;
	e = bpf_prog_test_run_opts(prog_fd, &o);
	if (e)
		return -errno;
	*retval = (int)o.retval;
	if (bpf_map_lookup_elem(last_fd, &k, res))
		return -errno;
	return 0;
}

/*
 * Kernel test_run (6.18) refuses an skb whose EtherType is IPv4/IPv6 but
 * whose IP header is not all there (EINVAL).  Such frames (untagged, IP
 * header cut short) go through sluice_xdp instead: the same parser and
 * classifier core, packets = 1.
 */
static int tc_refuses(const uint8_t *frame, size_t len)
{
	uint16_t et = frame[12] << 8 | frame[13];

	return (et == 0x0800 && len < 14 + 20) || (et == 0x86dd && len < 14 + 40);
}

static int run_xdp(int prog_fd, int last_fd, const uint8_t *frame, size_t len,
		   struct sl_result *res, int *retval)
{
	struct sl_result unset;
	__u32 k = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len, .repeat = 1);

	memset(&unset, RES_UNSET, sizeof(unset));
	if (bpf_map_update_elem(last_fd, &k, &unset, BPF_ANY))
		return -errno;
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*retval = (int)o.retval;
	if (bpf_map_lookup_elem(last_fd, &k, res))
		return -errno;
	return 0;
}

static const char *rname(int r)
{
	static char buf[8][16];
	static int i;

	if (r == RES_UNSET)
		return "UNSET";
	if (r > SL_R_CONTROL) {
		i = (i + 1) % 8;
		snprintf(buf[i], sizeof(buf[i]), "reason%d", r);
		return buf[i];
	}
	return sl_reason_name(r);
}

static void res_str(const struct tset *t, const struct sl_result *r, char *out, size_t cap)
{
	const char *n = rule_name_of_slot(t, r->rule);

	snprintf(out, cap, "{%s %s%s%s%s rule=%s%s port=%u proto=%u pk=%u}",
		 r->verdict == SL_V_PASS ? "pass" : r->verdict == SL_V_DROP ? "drop" : "v?",
		 rname(r->reason), (r->flags & SL_RF_FRAGMENT) ? " frag" : "",
		 (r->flags & SL_RF_ICMP_ERR) ? " icmp-err" : "", (r->flags & SL_RF_ND) ? " nd" : "",
		 r->rule == SL_NO_RULE ? "-" : n ? n : "?",
		 r->rule == SL_NO_RULE || n ? "" : "(bad slot)",
		 r->port, r->proto, r->packets);
}

static int reason_is_ip(int reason)
{
	return reason == SL_R_RULE || reason == SL_R_POLICY || reason == SL_R_NEAR_MISS ||
	       reason == SL_R_CONTROL;
}

/* The fields the data path and the oracle must agree on. */
static int res_differ(const struct sl_result *a, const struct sl_result *b, int cmp_packets)
{
	return a->verdict != b->verdict || a->reason != b->reason || a->flags != b->flags ||
	       a->rule != b->rule || a->port != b->port ||
	       (reason_is_ip(a->reason) && a->proto != b->proto) ||
	       (cmp_packets && a->packets != b->packets);
}

static int tc_verdict_ok(int retval, const struct sl_result *r)
{
	return r->verdict == SL_V_PASS ? retval == TC_ACT_UNSPEC : retval == TC_ACT_SHOT;
}

/* ------------------------------------------------------- crafted cases */

static struct tset cur;         /* the ruleset crafted cases run against */
static int cur_loaded;
static int n_xdp_ok, n_xdp_bad, n_cg_ok, n_cg_bad;
static char xdp_first_bad[512], cg_first_bad[512];

static int use_rules(const char *name, const char *text)
{
	char why[2048];

	if (cur_loaded)
		tset_close(&cur);
	cur_loaded = 0;
	if (tset_open(&cur, name, text, why, sizeof(why))) {
		T_FAIL(name, "cannot load ruleset: %s", why);
		return -1;
	}
	cur_loaded = 1;
	return 0;
}

/*
 * One crafted packet: run sluice_tc, compare with the oracle, with the
 * expected verdict ('P'/'D'), reason and rule name (NULL: none), and the
 * counter deltas with §3.  Then run the XDP and cgroup wrappers on it too.
 */
static const char *check_tag = "";     /* appended to check()'s names */

static uint8_t check_last_flags;        /* the data path's result flags of the last check() */

static void check(const char *name0, const struct pk_spec *s, uint32_t gso,
		  char want_v, int want_reason, const char *want_rule)
{
	char name[96];
	uint8_t frame[4096];
	size_t len = pk_build(s, frame, NULL);
	struct sl_result b, o, x;
	struct snap before, after, exp;
	char why[4096], bs[160], os[160], desc[256];
	size_t k = 0;
	int rv, e, bad = 0;
	uint32_t packets = gso ? gso : 1;
	const char *got_rule;

	snprintf(name, sizeof(name), "%s%s", name0, check_tag);
	if (!cur_loaded) {
		T_FAIL(name, "no ruleset loaded");
		return;
	}
	pk_describe(s, desc, sizeof(desc));
	if ((e = snap_read(&cur, &before))) {
		T_FAIL(name, "read counters: %s", strerror(-e));
		return;
	}
	e = run_prog(bpf_program__fd(cur.skel->progs.sluice_tc), bpf_map__fd(cur.skel->maps.last),
		     frame, len, gso, &b, &rv);
	if (e) {
		T_FAIL(name, "test_run: %s", strerror(-e));
		return;
	}
	check_last_flags = b.flags;
	snap_read(&cur, &after);
	memset(&o, 0, sizeof(o));
	sl_classify_frame(&cur.img, frame, len, gso, &o);
	res_str(&cur, &b, bs, sizeof(bs));
	res_str(&cur, &o, os, sizeof(os));

#define WHY(...) do { bad = 1; if (k < sizeof(why)) k += snprintf(why + k, sizeof(why) - k, __VA_ARGS__); } while (0)
	if (b.reason == RES_UNSET)
		WHY(" program recorded nothing;");
	if (!tc_verdict_ok(rv, &b))
		WHY(" return code %d but recorded %s;", rv, b.verdict == SL_V_PASS ? "pass" : "drop");
	if (res_differ(&b, &o, 1))
		WHY(" bpf %s != oracle %s;", bs, os);
	if (b.packets != packets)
		WHY(" packets %u want %u;", b.packets, packets);
	if ((want_v == 'P') != (b.verdict == SL_V_PASS))
		WHY(" verdict %s want %s;", b.verdict == SL_V_PASS ? "pass" : "drop",
		    want_v == 'P' ? "pass" : "drop");
	if (b.reason != want_reason)
		WHY(" reason %s want %s;", rname(b.reason), rname(want_reason));
	got_rule = rule_name_of_slot(&cur, b.rule);
	if ((want_rule == NULL) != (b.rule == SL_NO_RULE) ||
	    (want_rule && (!got_rule || strcmp(got_rule, want_rule))))
		WHY(" rule %s want %s;", b.rule == SL_NO_RULE ? "-" : got_rule ? got_rule : "?",
		    want_rule ? want_rule : "-");
	memset(&exp, 0, sizeof(exp));
	expect_add(&cur, &b, packets, len, &exp);
	if (snap_cmp(&cur, &before, &after, &exp, why + k, sizeof(why) - k)) {
		bad = 1;
		k = strlen(why);
	}
	/* near-miss drop: last_miss_* on this CPU */
	if (b.reason == SL_R_NEAR_MISS && cur.img.cfg.policy == SL_POLICY_DROP) {
		int ncpu = libbpf_num_possible_cpus(), found = 0;
		struct sl_rule_ctr *pc = calloc(ncpu, sizeof(*pc));
		__u32 slot = b.rule;

		struct timespec ts;
		__u64 now, at = 0;

		if (pc && !bpf_map_lookup_elem(bpf_map__fd(cur.skel->maps.counters), &slot, pc))
			for (int c = 0; c < ncpu; c++)
				if (pc[c].last_miss_port == b.port && pc[c].last_miss_proto == b.proto) {
					found = 1;
					at = pc[c].last_miss_ns > at ? pc[c].last_miss_ns : at;
				}
		if (!found)
			WHY(" no CPU has last_miss %u/%u;", b.proto, b.port);
		/* the clock is read once per tick (maps.h sl_tick): still this tick's time */
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		now = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
		if (found && (at > now || now - at > 100000000ULL))
			WHY(" last_miss_ns %llu is %lld ns from the coarse clock;",
			    (unsigned long long)at, (long long)(now - at));
		free(pc);
	}
#undef WHY
	if (bad)
		T_FAIL(name, "[%s]%s", desc, why);
	else
		T_PASS(name);
	if (bad && verbose)
		pk_hex(frame, len, stdout);

	/* Same frame through the XDP wrapper (packets = 1). */
	if (!run_xdp(bpf_program__fd(cur.skel->progs.sluice_xdp), bpf_map__fd(cur.skel->maps.last),
		     frame, len, &x, &rv)) {
		int ok = !res_differ(&x, &b, 0) && x.packets == 1 &&
			 rv == (x.verdict == SL_V_PASS ? XDP_PASS : XDP_DROP);
		if (ok) {
			n_xdp_ok++;
		} else if (!n_xdp_bad++) {
			res_str(&cur, &x, os, sizeof(os));
			snprintf(xdp_first_bad, sizeof(xdp_first_bad), "%s: xdp %s rv %d, tc %s",
				 name, os, rv, bs);
		}
	}
	/* The cgroup wrapper sees the packet from L3 (test_run strips 14 bytes). */
	if (s->nvlan == 0 && !s->bad_version && (!s->ethertype || s->ethertype == 0x0800 ||
	    s->ethertype == 0x86dd) && len > 14) {
		if (!run_prog(bpf_program__fd(cur.skel->progs.sluice_cgroup),
			      bpf_map__fd(cur.skel->maps.last), frame, len, gso, &x, &rv)) {
			struct sl_result bb = b;
			int ok = !res_differ(&x, &bb, 1) && rv == (x.verdict == SL_V_PASS);

			if (ok) {
				n_cg_ok++;
			} else if (!n_cg_bad++) {
				res_str(&cur, &x, os, sizeof(os));
				snprintf(cg_first_bad, sizeof(cg_first_bad), "%s: cgroup %s rv %d, tc %s",
					 name, os, rv, bs);
			}
		}
	}
}

/* Spec shorthands. */
static struct pk_spec P4(const char *dst, uint8_t proto, uint16_t port)
{
	struct pk_spec s = { .family = 4, .proto = proto, .dport = port, .payload = 16 };

	pk_ip4(s.dst, dst);
	if (proto == 1)
		s.icmp_type = 8;
	return s;
}

static struct pk_spec P6(const char *dst, uint8_t proto, uint16_t port)
{
	struct pk_spec s = { .family = 6, .proto = proto, .dport = port, .payload = 16 };

	pk_ip6(s.dst, dst);
	if (proto == 58)
		s.icmp_type = 128;
	return s;
}

static void add_ext(struct pk_spec *s, uint8_t type, uint8_t hdrlen, uint16_t fragoff)
{
	s->ext_type[s->nexts] = type;
	s->ext_len[s->nexts] = hdrlen;
	s->ext_fragoff[s->nexts] = fragoff;
	s->nexts++;
}

enum { TCP = 6, UDP = 17, ICMP = 1, ICMP6 = 58, GRE = 47, ESP = 50, NONXT = 59, SCTP = 132 };
#define R_RULE SL_R_RULE
#define R_POL SL_R_POLICY
#define R_NEAR SL_R_NEAR_MISS
#define R_MAL SL_R_MALFORMED
#define R_NONIP SL_R_NON_IP
#define R_CTL SL_R_CONTROL

static const char *RULES_MAIN =
	"# crafted ruleset: nested prefixes of different rules, every protocol\n"
	"policy drop;\n"
	"set zoom-ips { 3.7.35.0/25, 2407:30c0::/32 };\n"
	"rule zoom {\n"
	"    allow tcp 443, 8801-8802;\n"
	"    allow udp 3478-3479, 8801-8810;\n"
	"    to @zoom-ips;\n"
	"}\n"
	"rule block-lab { deny any; to 10.1.2.0/24, 2001:db8:1:2::/64; }\n"
	"rule corp { allow tcp; allow udp 53; to 10.1.0.0/16, 2001:db8:1::/48; }\n"
	"rule ssh-bastion { allow tcp 22; to 10.9.9.0/24; }\n"
	"rule no-mgmt { deny any; to 10.9.0.0/16; }\n"
	"rule pingers { allow icmp; to 198.51.100.0/24; }\n"
	"rule v6ping { allow icmpv6; to 2001:db8:2::/48; }\n"
	"rule tunnels { allow any; to 203.0.113.0/24, 2001:db8:3::/48; }\n"
	"rule edges { allow udp 0-1, 65534-65535; allow tcp 1-1023; to 192.0.2.0/24; }\n"
	"rule web6 { allow tcp 80, 443; to 2001:db8:4::/48; }\n";

/*
 * The IPv4 fast path (dir16/dir8, bpf/fast4.h, docs/datapath.md §4):
 * prefixes on every level (/8, /24, /25, /32), every node kind (compact
 * and full /16 and /24 nodes), and a class with more port intervals than
 * the class holds inline (its TCP decision comes from the "ports" trie).
 * Run three times: dense (a small table: every node full), with the
 * compact kinds (as large tables), and with them and 16-bit leaves for
 * class index 0 only, so that the other leaves ask dst4 (SL_DIR4_TRIE, as
 * beyond 32,765 classes).
 */
static const char *RULES_FAST =
	"policy drop;\n"
	"rule many-ports {\n"
	"    allow tcp 1000, 1002, 1004, 1006, 1008, 1010, 1012, 1014, 1016, 1018,\n"
	"              1020, 1022, 1024, 1026, 1028, 1030, 1032, 1034, 1036, 1038;\n"
	"    allow udp 53;\n"
	"    to 192.0.2.0/24;\n"
	"}\n"
	"rule deep { allow udp 5000; to 198.51.100.128/25, 198.51.100.7/32; }\n"
	"rule mid { deny any; to 198.51.100.0/24; }\n"
	"rule wide { allow tcp 443; to 198.0.0.0/8; }\n"
	"rule hosts { allow udp 7000; to 203.0.113.1/32, 203.0.113.3/32, 203.0.113.5/32,\n"
	"    203.0.113.7/32, 203.0.113.9/32, 203.0.113.11/32, 203.0.113.13/32,\n"
	"    203.0.113.15/32, 203.0.113.17/32, 203.0.113.19/32; }\n"
	"rule stripes { allow udp 7100; to 198.18.1.0/24, 198.18.3.0/24, 198.18.5.0/24, 198.18.7.0/24,\n"
	"    198.18.9.0/24, 198.18.11.0/24, 198.18.13.0/24,\n"
	"    198.18.15.0/24, 198.18.17.0/24, 198.18.19.0/24,\n"
	"    198.18.21.0/24, 198.18.23.0/24, 198.18.25.0/24,\n"
	"    198.18.27.0/24, 198.18.29.0/24, 198.18.31.0/24,\n"
	"    198.18.33.0/24, 198.18.35.0/24, 198.18.37.0/24,\n"
	"    198.18.39.0/24, 198.18.41.0/24, 198.18.43.0/24,\n"
	"    198.18.45.0/24, 198.18.47.0/24, 198.18.49.0/24,\n"
	"    198.18.51.0/24, 198.18.53.0/24, 198.18.55.0/24,\n"
	"    198.18.57.0/24, 198.18.59.0/24, 198.18.61.0/24,\n"
	"    198.18.63.0/24, 198.18.65.0/24, 198.18.67.0/24,\n"
	"    198.18.69.0/24, 198.18.71.0/24, 198.18.73.0/24,\n"
	"    198.18.75.0/24, 198.18.77.0/24, 198.18.79.0/24,\n"
	"    198.18.81.0/24, 198.18.200.7/32; }\n"
	"rule stripe-hosts { allow udp 7200; to 198.18.3.77/32, 198.18.200.0/25, 198.18.5.1/32, 198.18.5.3/32, 198.18.5.5/32, 198.18.5.7/32,\n"
	"    198.18.5.9/32, 198.18.5.11/32, 198.18.5.13/32,\n"
	"    198.18.5.15/32, 198.18.5.17/32, 198.18.5.19/32,\n"
	"    198.18.5.21/32, 198.18.5.23/32, 198.18.5.25/32,\n"
	"    198.18.5.27/32, 198.18.5.29/32, 198.18.5.31/32,\n"
	"    198.18.5.33/32, 198.18.5.35/32, 198.18.5.37/32,\n"
	"    198.18.5.39/32, 198.18.5.41/32, 198.18.5.43/32,\n"
	"    198.18.5.45/32, 198.18.5.47/32, 198.18.5.49/32,\n"
	"    198.18.5.51/32, 198.18.5.53/32, 198.18.5.55/32,\n"
	"    198.18.5.57/32, 198.18.5.59/32, 198.18.5.61/32,\n"
	"    198.18.5.63/32, 198.18.5.65/32, 198.18.5.67/32; }\n"
	"rule tail { allow icmp; to 0.0.0.0/0; }\n";

static void cases_fast_run(void)
{
	struct pk_spec s;

	if (use_rules(sl_fast4_leaf_max != SL_DIR4_LEAF_MAX ? "rules fast (compact nodes, 16-bit "
		      "leaves of class 0 only: the others ask dst4)" : sl_fast4_dense_lines ?
		      "rules fast" : "rules fast (compact nodes)", RULES_FAST))
		return;
	s = P4("192.0.2.1", TCP, 1000);     check("fast: 20 tcp ports (trie): first", &s, 0, 'P', R_RULE, "many-ports");
	s = P4("192.0.2.1", TCP, 1001);     check("fast: 20 tcp ports (trie): gap", &s, 0, 'D', R_NEAR, "many-ports");
	s = P4("192.0.2.1", TCP, 1038);     check("fast: 20 tcp ports (trie): last", &s, 0, 'P', R_RULE, "many-ports");
	s = P4("192.0.2.1", TCP, 1039);     check("fast: 20 tcp ports (trie): past", &s, 0, 'D', R_NEAR, "many-ports");
	s = P4("192.0.2.255", UDP, 53);     check("fast: udp inline beside a trie tcp", &s, 0, 'P', R_RULE, "many-ports");
	s = P4("198.51.100.7", UDP, 5000);  check("fast: /32 in a third-level group", &s, 0, 'P', R_RULE, "deep");
	s = P4("198.51.100.6", UDP, 5000);  check("fast: /32's neighbour: /24 deny", &s, 0, 'D', R_RULE, "mid");
	s = P4("198.51.100.8", UDP, 5000);  check("fast: /32's other neighbour: /24 deny", &s, 0, 'D', R_RULE, "mid");
	s = P4("198.51.100.128", UDP, 5000); check("fast: /25 first address", &s, 0, 'P', R_RULE, "deep");
	s = P4("198.51.100.255", UDP, 5000); check("fast: /25 last address", &s, 0, 'P', R_RULE, "deep");
	s = P4("198.51.100.127", UDP, 5000); check("fast: below the /25: /24 deny", &s, 0, 'D', R_RULE, "mid");
	s = P4("198.51.100.200", TCP, 443); check("fast: /25 other port: /24 deny first", &s, 0, 'D', R_RULE, "mid");
	s = P4("198.51.101.1", TCP, 443);   check("fast: /8 beside the /24's group", &s, 0, 'P', R_RULE, "wide");
	s = P4("198.255.255.255", TCP, 443); check("fast: /8 last address", &s, 0, 'P', R_RULE, "wide");
	s = P4("199.0.0.0", TCP, 443);      check("fast: past the /8: /0 near miss", &s, 0, 'D', R_NEAR, "tail");
	s = P4("197.255.255.255", ICMP, 0); check("fast: /0 icmp", &s, 0, 'P', R_RULE, "tail");
	s = P4("0.0.0.0", ICMP, 0);         check("fast: 0.0.0.0 icmp", &s, 0, 'P', R_RULE, "tail");
	s = P4("255.255.255.255", ICMP, 0); check("fast: 255.255.255.255 icmp", &s, 0, 'P', R_RULE, "tail");
	s = P4("198.51.100.7", ICMP, 0);    check("fast: /32 icmp: /24 deny before /0", &s, 0, 'D', R_RULE, "mid");
	s = P4("203.0.113.1", UDP, 7000);   check("fast: 10 hosts (full third-level group): first", &s, 0, 'P', R_RULE, "hosts");
	s = P4("203.0.113.2", UDP, 7000);   check("fast: 10 hosts: between", &s, 0, 'D', R_NEAR, "tail");
	s = P4("203.0.113.19", UDP, 7000);  check("fast: 10 hosts: last", &s, 0, 'P', R_RULE, "hosts");
	s = P4("203.0.113.20", UDP, 7000);  check("fast: 10 hosts: past", &s, 0, 'D', R_NEAR, "tail");
	s = P4("198.18.1.0", UDP, 7100);    check("fast: full /16 node: first /24", &s, 0, 'P', R_RULE, "stripes");
	s = P4("198.18.2.255", UDP, 7100);  check("fast: full /16 node: between", &s, 0, 'D', R_NEAR, "wide");
	s = P4("198.18.17.255", UDP, 7100); check("fast: full /16 node: last /24", &s, 0, 'P', R_RULE, "stripes");
	s = P4("198.18.3.77", UDP, 7200);   check("fast: full /16 node -> /24 node: host", &s, 0, 'P', R_RULE, "stripe-hosts");
	s = P4("198.18.3.78", UDP, 7100);   check("fast: full /16 node -> /24 node: beside", &s, 0, 'P', R_RULE, "stripes");
	s = P4("198.18.200.7", UDP, 7100);  check("fast: /32 inside a /25 of another rule", &s, 0, 'P', R_RULE, "stripes");
	s = P4("198.18.200.8", UDP, 7200);  check("fast: the /25 beside it", &s, 0, 'P', R_RULE, "stripe-hosts");
	s = P4("198.18.200.128", UDP, 7200); check("fast: past the /25", &s, 0, 'D', R_NEAR, "wide");
	s = P4("198.18.81.9", UDP, 7100);   check("fast: 41 stripes (full /16 node when sparse): last", &s, 0, 'P', R_RULE, "stripes");
	s = P4("198.18.82.9", UDP, 7100);   check("fast: past the last stripe", &s, 0, 'D', R_NEAR, "wide");
	s = P4("198.18.5.67", UDP, 7200);   check("fast: 34 hosts in a /24 (full /24 node when sparse): last", &s, 0, 'P', R_RULE, "stripe-hosts");
	s = P4("198.18.5.68", UDP, 7200);   check("fast: 34 hosts: between", &s, 0, 'D', R_NEAR, "wide");
	s = P4("198.18.5.68", UDP, 7100);   check("fast: 34 hosts: the stripe between", &s, 0, 'P', R_RULE, "stripes");
}

static void cases_fast(void)
{
	cases_fast_run();               /* small: dense (every node full) */
	sl_fast4_dense_lines = 0;
	check_tag = " (compact nodes)";
	cases_fast_run();
	sl_fast4_leaf_max = 1;
	check_tag = " (compact nodes, dst4 leaves)";
	cases_fast_run();
	check_tag = "";
	sl_fast4_leaf_max = SL_DIR4_LEAF_MAX;
	sl_fast4_dense_lines = SL_FAST4_DENSE_LINES;
}

static void cases_main(void)
{
	struct pk_spec s;

	if (use_rules("rules main", RULES_MAIN))
		return;
	/* allow / deny by rule, port range edges */
	s = P4("3.7.35.1", TCP, 443);       check("v4 tcp allow zoom 443", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.127", TCP, 8801);    check("v4 tcp range lo edge 8801", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.0", TCP, 8802);      check("v4 tcp range hi edge 8802", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 8800);      check("v4 tcp below range: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", TCP, 8803);      check("v4 tcp above range: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", UDP, 3478);      check("v4 udp 3478 allow", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", UDP, 3479);      check("v4 udp 3479 allow", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", UDP, 3477);      check("v4 udp 3477 near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", UDP, 8810);      check("v4 udp 8810 allow", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", UDP, 8811);      check("v4 udp 8811 near-miss (zoom-media style)", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", TCP, 3478);      check("v4 udp port over tcp: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.5", ICMP, 0);        check("v4 icmp to zoom: near-miss (wrong proto)", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.5", GRE, 0);         check("v4 gre to zoom: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.128", TCP, 443);     check("v4 just outside zoom /25: policy", &s, 0, 'D', R_POL, NULL);
	s = P4("3.7.34.255", TCP, 443);     check("v4 just below zoom /25: policy", &s, 0, 'D', R_POL, NULL);
	s = P6("2407:30c0::1", TCP, 443);   check("v6 tcp allow zoom", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0:ffff:ffff:ffff:ffff:ffff:ffff", UDP, 8801);
	check("v6 udp allow zoom last address", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c1::1", TCP, 443);   check("v6 outside zoom: policy", &s, 0, 'D', R_POL, NULL);
	s = P6("2407:30c0::1", UDP, 9000);  check("v6 udp near-miss zoom", &s, 0, 'D', R_NEAR, "zoom");
	s = P6("2407:30c0::1", ICMP6, 0);   check("v6 icmpv6 near-miss zoom", &s, 0, 'D', R_NEAR, "zoom");

	/* first match across nested prefixes of different rules */
	s = P4("10.1.2.3", TCP, 443);       check("deny /24 inside allow /16: denied", &s, 0, 'D', R_RULE, "block-lab");
	s = P4("10.1.2.255", UDP, 53);      check("deny /24 inside allow /16: udp denied", &s, 0, 'D', R_RULE, "block-lab");
	s = P4("10.1.3.3", TCP, 443);       check("allow /16 outside the deny /24", &s, 0, 'P', R_RULE, "corp");
	s = P4("10.1.3.3", UDP, 53);        check("allow /16 udp 53", &s, 0, 'P', R_RULE, "corp");
	s = P4("10.1.3.3", UDP, 54);        check("allow /16 udp 54: near-miss", &s, 0, 'D', R_NEAR, "corp");
	s = P4("10.1.3.3", TCP, 0);         check("tcp without ports: port 0 allowed", &s, 0, 'P', R_RULE, "corp");
	s = P4("10.1.3.3", TCP, 65535);     check("tcp without ports: port 65535 allowed", &s, 0, 'P', R_RULE, "corp");
	s = P6("2001:db8:1:2::99", TCP, 22); check("v6 deny /64 inside allow /48", &s, 0, 'D', R_RULE, "block-lab");
	s = P6("2001:db8:1:3::99", TCP, 22); check("v6 allow /48 outside deny /64", &s, 0, 'P', R_RULE, "corp");
	s = P4("10.9.9.9", TCP, 22);        check("allow /24 inside deny /16: allowed", &s, 0, 'P', R_RULE, "ssh-bastion");
	s = P4("10.9.9.9", TCP, 23);        check("allow /24 inside deny /16: other port denied by /16", &s, 0, 'D', R_RULE, "no-mgmt");
	s = P4("10.9.8.9", TCP, 22);        check("deny /16 outside allow /24", &s, 0, 'D', R_RULE, "no-mgmt");

	/* protocols */
	s = P4("198.51.100.7", ICMP, 0);    check("icmp allow", &s, 0, 'P', R_RULE, "pingers");
	s.icmp_type = 0;                    check("icmp echo reply allow", &s, 0, 'P', R_RULE, "pingers");
	s = P4("198.51.100.7", TCP, 80);    check("tcp to icmp-only rule: near-miss", &s, 0, 'D', R_NEAR, "pingers");
	s = P4("198.51.100.7", ICMP6, 0);   check("icmpv6 over ipv4 to icmp rule: near-miss", &s, 0, 'D', R_NEAR, "pingers");
	s = P6("2001:db8:2::5", ICMP6, 0);  check("icmpv6 allow", &s, 0, 'P', R_RULE, "v6ping");
	s = P6("2001:db8:2::5", ICMP, 0);   check("icmp over ipv6 to icmpv6 rule: near-miss", &s, 0, 'D', R_NEAR, "v6ping");
	s = P6("2001:db8:2::5", UDP, 53);   check("udp to icmpv6-only rule: near-miss", &s, 0, 'D', R_NEAR, "v6ping");
	s = P4("203.0.113.9", GRE, 0);      check("gre allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P4("203.0.113.9", ESP, 0);      check("esp allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P4("203.0.113.9", SCTP, 0);     check("sctp allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P4("203.0.113.9", TCP, 12345);  check("tcp allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P4("203.0.113.9", ICMP, 0);     check("icmp allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P6("2001:db8:3::1", NONXT, 0);  s.payload = 0;
	check("v6 no-next-header allowed by any", &s, 0, 'P', R_RULE, "tunnels");
	s = P6("2001:db8:3::1", GRE, 0);    s.payload = 0;
	check("v6 gre with no payload bytes: not malformed", &s, 0, 'P', R_RULE, "tunnels");
	s = P4("10.1.3.3", GRE, 0);         check("gre to tcp/udp rule: near-miss", &s, 0, 'D', R_NEAR, "corp");
	s = P6("2001:db8:4::1", TCP, 80);   check("v6 web 80", &s, 0, 'P', R_RULE, "web6");
	s = P6("2001:db8:4::1", TCP, 81);   check("v6 web 81 near-miss", &s, 0, 'D', R_NEAR, "web6");

	/* port edges 0 / 65535 */
	s = P4("192.0.2.1", UDP, 0);        check("udp port 0 edge", &s, 0, 'P', R_RULE, "edges");
	s = P4("192.0.2.1", UDP, 1);        check("udp port 1 edge", &s, 0, 'P', R_RULE, "edges");
	s = P4("192.0.2.1", UDP, 2);        check("udp port 2 near-miss", &s, 0, 'D', R_NEAR, "edges");
	s = P4("192.0.2.1", UDP, 65533);    check("udp port 65533 near-miss", &s, 0, 'D', R_NEAR, "edges");
	s = P4("192.0.2.1", UDP, 65534);    check("udp port 65534 edge", &s, 0, 'P', R_RULE, "edges");
	s = P4("192.0.2.1", UDP, 65535);    check("udp port 65535 edge", &s, 0, 'P', R_RULE, "edges");
	s = P4("192.0.2.1", TCP, 0);        check("tcp port 0 below 1-1023", &s, 0, 'D', R_NEAR, "edges");
	s = P4("192.0.2.1", TCP, 1023);     check("tcp port 1023 edge", &s, 0, 'P', R_RULE, "edges");
	s = P4("192.0.2.1", TCP, 1024);     check("tcp port 1024 near-miss", &s, 0, 'D', R_NEAR, "edges");

	/* policy (no rule covers) */
	s = P4("8.8.8.8", UDP, 53);         check("policy drop v4", &s, 0, 'D', R_POL, NULL);
	s = P6("2001:db8:99::1", TCP, 443); check("policy drop v6", &s, 0, 'D', R_POL, NULL);

	/* non-first fragments: ports ignored, first rule matching dst+proto */
	s = P4("3.7.35.1", TCP, 1);         s.frag = PK_FRAG_LATER;
	check("v4 non-first fragment tcp to zoom: allowed", &s, 0, 'P', R_RULE, "zoom");
	s.frag = PK_FRAG_LAST;
	check("v4 last fragment (no MF) tcp to zoom: allowed", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", ICMP, 0);        s.frag = PK_FRAG_LATER;
	check("v4 non-first fragment icmp to zoom: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("10.9.9.9", UDP, 22);        s.frag = PK_FRAG_LATER;
	check("v4 non-first fragment udp: deny /16", &s, 0, 'D', R_RULE, "no-mgmt");
	s = P4("10.9.9.9", TCP, 23);        s.frag = PK_FRAG_LATER;
	check("v4 non-first fragment tcp: allow /24 ignoring ports", &s, 0, 'P', R_RULE, "ssh-bastion");
	s = P4("8.8.8.8", TCP, 23);         s.frag = PK_FRAG_LATER;
	check("v4 non-first fragment: policy", &s, 0, 'D', R_POL, NULL);
	s = P4("3.7.35.1", TCP, 8800);      s.frag = PK_FRAG_FIRST;
	check("v4 first fragment judged with ports: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", TCP, 443);       s.frag = PK_FRAG_FIRST;
	check("v4 first fragment judged with ports: allowed", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 443);       s.frag = PK_FRAG_LATER; s.payload = 0;
	check("v4 non-first fragment with no L4 bytes: not malformed", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", UDP, 1);     add_ext(&s, 44, 0, 185); s.frag = PK_FRAG_LATER;
	check("v6 non-first fragment udp to zoom: allowed", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", GRE, 0);     add_ext(&s, 44, 0, 185);
	check("v6 non-first fragment gre to zoom: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P6("2001:db8:1:2::1", TCP, 443); add_ext(&s, 0, 0, 0); add_ext(&s, 44, 0, 7);
	check("v6 non-first fragment after hop-by-hop: denied", &s, 0, 'D', R_RULE, "block-lab");
	s = P6("2407:30c0::1", TCP, 9999);  add_ext(&s, 44, 0, 0); s.frag = PK_FRAG_FIRST;
	check("v6 first fragment judged with ports: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P6("2407:30c0::1", TCP, 8802);  add_ext(&s, 44, 0, 0); s.frag = PK_FRAG_FIRST;
	check("v6 first fragment judged with ports: allowed", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", TCP, 443);   add_ext(&s, 44, 0, 100); s.payload = 0;
	check("v6 non-first fragment with no L4 bytes: not malformed", &s, 0, 'P', R_RULE, "zoom");
	/* fragment offset bits: lowest and highest, DF never makes a fragment */
	s = P4("10.9.9.9", UDP, 22);        s.frag = PK_FRAG_LATER; s.frag_offset = 1;
	check("v4 fragment offset 1 (lowest bit): non-first", &s, 0, 'D', R_RULE, "no-mgmt");
	s = P4("10.9.9.9", UDP, 22);        s.frag = PK_FRAG_LAST; s.frag_offset = 0x1000;
	check("v4 fragment offset 0x1000 (highest bit): non-first", &s, 0, 'D', R_RULE, "no-mgmt");
	s = P4("3.7.35.1", TCP, 443);       s.df = 1;
	check("v4 DF set, offset 0: not a fragment", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 8800);      s.df = 1;
	check("v4 DF set, offset 0: ports judged", &s, 0, 'D', R_NEAR, "zoom");
	s = P6("2001:db8:1:2::1", UDP, 53); add_ext(&s, 44, 0, 1);
	check("v6 fragment offset 1 (lowest bit): non-first", &s, 0, 'D', R_RULE, "block-lab");
	s = P6("2407:30c0::1", TCP, 1);     add_ext(&s, 44, 0, 8191);
	check("v6 fragment offset 8191: non-first, ports ignored", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", TCP, 1);     add_ext(&s, 44, 0, 0);
	check("v6 atomic fragment (offset 0, no M): judged with ports", &s, 0, 'D', R_NEAR, "zoom");
}

static void cases_headers(void)
{
	struct pk_spec s;
	struct pk_offs o;
	uint8_t frame[4096];
	char name[128];
	int i;

	if (use_rules("rules headers", RULES_MAIN))
		return;
	/* IPv4 options */
	for (i = 4; i <= 40; i += 12) {
		s = P4("3.7.35.1", TCP, 443); s.ip4_optlen = i;
		snprintf(name, sizeof(name), "v4 options %d bytes: parsed", i);
		check(name, &s, 0, 'P', R_RULE, "zoom");
	}
	s = P4("3.7.35.1", TCP, 8888); s.ip4_optlen = 40;
	check("v4 options 40 bytes: port read after options", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", TCP, 443); s.bad_ihl = 4;
	check("v4 ihl 4: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P4("3.7.35.1", TCP, 443); s.bad_ihl = 0;  s.bad_ihl = 1;
	check("v4 ihl 1: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P4("3.7.35.1", TCP, 443); s.bad_version = 6;
	check("v4 ethertype with version 6: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P6("2407:30c0::1", TCP, 443); s.bad_version = 4;
	check("v6 ethertype with version 4: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P4("3.7.35.1", TCP, 443); s.bad_ihl = 15; s.payload = 0;
	check("v4 ihl 15 past the end: malformed", &s, 0, 'D', R_MAL, NULL);

	/* IPv6 extension header chains */
	{
		static const uint8_t types[] = { 0, 43, 60, 51, 44 };

		for (i = 0; i < 5; i++) {
			s = P6("2407:30c0::1", TCP, 443); add_ext(&s, types[i], 1, 0);
			snprintf(name, sizeof(name), "v6 one ext header %u: walked", types[i]);
			check(name, &s, 0, 'P', R_RULE, "zoom");
			s.dport = 444;
			snprintf(name, sizeof(name), "v6 one ext header %u: port after it", types[i]);
			check(name, &s, 0, 'D', R_NEAR, "zoom");
		}
	}
	s = P6("2407:30c0::1", UDP, 8805); add_ext(&s, 51, 4, 0);
	check("v6 AH length (hdrlen+2)*4", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", UDP, 8805); add_ext(&s, 60, 5, 0);
	check("v6 dest-opts length (hdrlen+1)*8", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", TCP, 443);
	for (i = 0; i < 8; i++)
		add_ext(&s, (uint8_t[]){ 0, 60, 43, 51, 60, 44, 43, 60 }[i], i % 3, 0);
	check("v6 8 ext headers: walked", &s, 0, 'P', R_RULE, "zoom");
	s.dport = 1;
	check("v6 8 ext headers: port after them", &s, 0, 'D', R_NEAR, "zoom");
	add_ext(&s, 60, 0, 0);
	check("v6 9 ext headers: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P6("2407:30c0::1", UDP, 3478);
	for (i = 0; i < 7; i++)
		add_ext(&s, 60, 0, 0);
	add_ext(&s, 44, 0, 33);
	add_ext(&s, 60, 0, 0);      /* after a non-first fragment header: payload, not walked */
	/* the fragment header's next header (60) is the protocol: slot OTHER */
	check("v6 non-first fragment as 8th header: walk stops, proto = its next header", &s, 0, 'D', R_NEAR, "zoom");
	s.ext_type[8] = 0; s.nexts = 8;   /* nothing after it: next header = udp */
	check("v6 non-first fragment as 8th header: udp ignoring ports", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", TCP, 443); add_ext(&s, 60, 200, 0); s.payload = 0;
	s.cut = 14 + 40 + 100;
	check("v6 ext header longer than the packet: L4 missing, malformed", &s, 0, 'D', R_MAL, NULL);
	s = P6("2001:db8:3::1", NONXT, 0); add_ext(&s, 60, 200, 0); s.payload = 0;
	s.cut = 14 + 40 + 8;
	check("v6 ext header longer than the packet, then proto 59: not malformed", &s, 0, 'P', R_RULE, "tunnels");

	/* VLAN tags */
	s = P4("3.7.35.1", TCP, 443); s.nvlan = 1;
	check("1 vlan tag: judged", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 443); s.nvlan = 2;
	check("2 vlan tags (q-in-q): judged", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 443); s.nvlan = 2; s.vlan_tpid[0] = 0x88a8;
	check("2 vlan tags (802.1ad outer): judged", &s, 0, 'P', R_RULE, "zoom");
	s = P6("2407:30c0::1", UDP, 1); s.nvlan = 2;
	check("2 vlan tags v6: near-miss", &s, 0, 'D', R_NEAR, "zoom");
	s = P4("3.7.35.1", TCP, 443); s.nvlan = 3;
	check("3 vlan tags: malformed", &s, 0, 'D', R_MAL, NULL);
	s = P4("3.7.35.1", TCP, 443); s.nvlan = 3; s.vlan_tpid[2] = 0x88a8;
	check("3 vlan tags (88a8 inner): malformed", &s, 0, 'D', R_MAL, NULL);
	s = (struct pk_spec){ .ethertype = 0x0806, .nvlan = 1 };
	check("arp in a vlan: non-ip", &s, 0, 'P', R_NONIP, NULL);

	/* non-IP */
	s = (struct pk_spec){ .ethertype = 0x0806 };
	check("arp: non-ip passes", &s, 0, 'P', R_NONIP, NULL);
	s = (struct pk_spec){ .ethertype = 0x88cc };
	check("lldp: non-ip passes", &s, 0, 'P', R_NONIP, NULL);
	s = (struct pk_spec){ .ethertype = 0x0806, .cut = 14 };
	check("bare ethernet header, arp: non-ip", &s, 0, 'P', R_NONIP, NULL);

	/* every header cut short: malformed */
	{
		struct { const char *what; struct pk_spec s; } hs[8];
		int nh = 0;

		hs[nh].what = "v4 tcp"; hs[nh++].s = P4("3.7.35.1", TCP, 443);
		hs[nh].what = "v4 udp"; hs[nh++].s = P4("3.7.35.1", UDP, 3478);
		hs[nh].what = "v4 icmp"; hs[nh++].s = P4("198.51.100.7", ICMP, 0);
		hs[nh].what = "v4 opts tcp"; hs[nh].s = P4("3.7.35.1", TCP, 443); hs[nh++].s.ip4_optlen = 12;
		hs[nh].what = "v6 tcp"; hs[nh++].s = P6("2407:30c0::1", TCP, 443);
		hs[nh].what = "v6 icmpv6"; hs[nh++].s = P6("2001:db8:2::5", ICMP6, 0);
		hs[nh].what = "v6 ext udp"; hs[nh].s = P6("2407:30c0::1", UDP, 3478);
		add_ext(&hs[nh].s, 0, 0, 0); add_ext(&hs[nh].s, 51, 1, 0); add_ext(&hs[nh].s, 44, 0, 0);
		nh++;
		hs[nh].what = "vlan2 v4 udp"; hs[nh].s = P4("3.7.35.1", UDP, 3478); hs[nh++].s.nvlan = 2;

		for (int h = 0; h < nh; h++) {
			int full, cuts = 0, fails = 0, nxdp = 0;
			char first[600] = "";

			hs[h].s.payload = 0;
			full = (int)pk_build(&hs[h].s, frame, &o);
			/* every length from 14 (test_run's minimum) to one byte short of the L4 need */
			for (int cut = 14; cut < o.l4 + 4 && cut < full; cut++) {
				struct pk_spec c = hs[h].s;
				struct sl_result b, r;
				struct snap bef, aft, exp;
				char why[600];
				int rv, xdp, e;

				c.cut = cut;
				pk_build(&c, frame, NULL);
				cuts++;
				snap_read(&cur, &bef);
				/* test_run refuses skbs with a cut IP header: same core via XDP */
				xdp = tc_refuses(frame, cut);
				nxdp += xdp;
				e = xdp ? run_xdp(bpf_program__fd(cur.skel->progs.sluice_xdp),
						  bpf_map__fd(cur.skel->maps.last), frame, cut, &b, &rv)
					: run_prog(bpf_program__fd(cur.skel->progs.sluice_tc),
						   bpf_map__fd(cur.skel->maps.last), frame, cut, 0, &b, &rv);
				if (e) {
					if (!fails++)
						snprintf(first, sizeof(first), "cut at %d: test_run: %s", cut, strerror(-e));
					continue;
				}
				snap_read(&cur, &aft);
				memset(&r, 0, sizeof(r));
				sl_classify_frame(&cur.img, frame, cut, 0, &r);
				memset(&exp, 0, sizeof(exp));
				expect_add(&cur, &b, 1, cut, &exp);
				why[0] = 0;
				if (b.reason != SL_R_MALFORMED || b.verdict != SL_V_DROP ||
				    rv != (xdp ? XDP_DROP : TC_ACT_SHOT) ||
				    res_differ(&b, &r, 1) || snap_cmp(&cur, &bef, &aft, &exp, why, sizeof(why))) {
					char bs[160], os[160];

					if (!fails++) {
						res_str(&cur, &b, bs, sizeof(bs));
						res_str(&cur, &r, os, sizeof(os));
						snprintf(first, sizeof(first), "cut at %d (l3 %d l4 %d): bpf %s oracle %s rv %d%s",
							 cut, o.l3, o.l4, bs, os, rv, why);
					}
				}
			}
			snprintf(name, sizeof(name), "%s cut at each of %d lengths: malformed (%d via xdp)",
				 hs[h].what, cuts, nxdp);
			T_CHECK(name, fails == 0, "%d failures, first: %s", fails, first);
		}
	}
}

static const char *RULES_CONTROL_BASE =
	"rule anything-v6 { allow tcp 443; to ::/0; }\n"
	"rule mc { allow udp 9999; to 224.0.0.0/4, 127.0.0.0/8; }\n";

/*
 * Neighbour discovery (issue 20 item 2; include/sluice.h SL_ND_*): ICMPv6
 * 133-137 passes as control, counted as nd_pass, only where it can be ND
 * (hop limit 255, no extension header, link-local or multicast destination,
 * or NS/NA of a sane length to unicast); the rest is judged by the rules
 * (ruleset RULES_CONTROL_BASE: ::/0 allows tcp 443 only, so a near miss).
 */
static void nd_case(const char *dst, int type, int hop, int payload, int pass, int nd)
{
	struct pk_spec s = P6(dst, ICMP6, 0);
	char name[128];
	const char *what = pass ? (nd ? "nd_pass" : "control") : "judged";

	s.icmp_type = (uint8_t)type;
	s.hop_limit = hop;
	s.payload = payload;
	snprintf(name, sizeof(name), "nd: type %d to %s, hop %d, %d bytes: %s", type, dst, hop,
		 8 + payload, what);
	if (pass)
		check(name, &s, 0, 'P', R_CTL, NULL);
	else
		check(name, &s, 0, 'D', R_NEAR, "anything-v6");
	snprintf(name, sizeof(name), "nd: type %d to %s, hop %d, %d bytes: %s flag", type, dst, hop,
		 8 + payload, nd ? "SL_RF_ND" : "no SL_RF_ND");
	if (!!(check_last_flags & SL_RF_ND) == !!nd)
		T_PASS(name);
	else
		T_FAIL(name, "result flags 0x%x", check_last_flags);
}

static void cases_nd(void)
{
	for (int t = 133; t <= 137; t++) {
		int nsna = t == 135 || t == 136;

		nd_case("2001:db8:1::2", t, 64, 16, 0, 0);          /* hop 64: never ND */
		nd_case("2001:db8:1::2", t, 64, 1016, 0, 0);        /* the covert channel: 1 KB */
		nd_case("2001:db8:1::2", t, 255, 1016, 0, 0);       /* ... at hop 255 */
		nd_case("2001:db8:1::2", t, 255, 16, nsna, nsna);   /* NUD probe / solicited NA */
		nd_case("fe80::2", t, 255, 16, 1, 1);
		nd_case("fe80::2", t, 255, 1016, 1, 1);             /* a big RA on the link */
		nd_case("fe80::2", t, 64, 16, 0, 0);
		nd_case("ff02::1:ff00:2", t, 255, 16, 1, 1);
		nd_case("ff02::1:ff00:2", t, 64, 1016, 1, 0);       /* still link-local multicast */
		nd_case("ff05::2", t, 255, 16, 0, 0);
	}
	nd_case("2001:db8:1::2", 135, 255, 56, 1, 1);               /* 64 bytes: the limit */
	nd_case("2001:db8:1::2", 135, 255, 57, 0, 0);
	nd_case("2001:db8:1::2", 136, 255, 15, 0, 0);               /* 23 < 24 bytes */
	nd_case("fe80::2", 134, 255, 1232, 1, 1);                   /* 1240: the limit */
	nd_case("fe80::2", 134, 255, 1233, 0, 0);
	nd_case("fe80::2", 133, 255, 0, 1, 1);                      /* 8 bytes */
	nd_case("::1", 135, 255, 16, 1, 0);                         /* loopback: control */
}

static void cases_control(void)
{
	char text[1024];
	struct pk_spec s;

	snprintf(text, sizeof(text), "policy drop;\n%s", RULES_CONTROL_BASE);
	if (use_rules("rules control", text))
		return;
	s = P4("224.0.0.251", UDP, 5353);   check("control: 224.0.0.251 mdns passes", &s, 0, 'P', R_CTL, NULL);
	s = P4("224.0.0.0", UDP, 1);        check("control: 224.0.0.0 passes", &s, 0, 'P', R_CTL, NULL);
	s = P4("224.0.0.255", ESP, 0);      check("control: 224.0.0.255 passes", &s, 0, 'P', R_CTL, NULL);
	s = P4("224.0.1.1", UDP, 123);      check("224.0.1.1 is not control: near-miss", &s, 0, 'D', R_NEAR, "mc");
	s = P4("127.0.0.1", TCP, 80);       check("control: loopback 127.0.0.1", &s, 0, 'P', R_CTL, NULL);
	s = P4("127.255.255.254", TCP, 80); check("control: loopback 127/8", &s, 0, 'P', R_CTL, NULL);
	s = P4("128.0.0.1", TCP, 80);       check("128.0.0.1 is not loopback: policy", &s, 0, 'D', R_POL, NULL);
	s = P6("::1", TCP, 80);             check("control: ::1", &s, 0, 'P', R_CTL, NULL);
	s = P6("::2", TCP, 80);             check("::2 is not control: near-miss", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("ff02::fb", UDP, 5353);      check("control: ff02::fb", &s, 0, 'P', R_CTL, NULL);
	s = P6("ff02::1:ff00:1", ICMP6, 0); check("control: ff02::1:ff00:1", &s, 0, 'P', R_CTL, NULL);
	s = P6("ff05::1:3", UDP, 547);      check("ff05::1:3 is not control: near-miss", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("ff02::1", TCP, 80);         s.frag = 0; add_ext(&s, 44, 0, 20);
	check("control: non-first fragment to ff02::1", &s, 0, 'P', R_CTL, NULL);
	cases_nd();
	s = P6("2001:db8:9::1", ICMP6, 0); s.icmp_type = 132;
	check("icmpv6 type 132 is not control", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("2001:db8:9::1", ICMP6, 0); s.icmp_type = 138;
	check("icmpv6 type 138 is not control", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("2001:db8:9::1", ICMP6, 0); s.icmp_type = 135; add_ext(&s, 44, 0, 9);
	check("icmpv6 135 non-first fragment is not control", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("2001:db8:9::1", ICMP6, 0); s.icmp_type = 135; add_ext(&s, 0, 0, 0); s.hop_limit = 255;
	check("icmpv6 135 after hop-by-hop: not neighbour discovery", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P4("8.8.8.8", ICMP6, 0); s.icmp_type = 135;
	check("icmpv6 (proto 58) type 135 over IPv4 is not control", &s, 0, 'D', R_POL, NULL);
	s = P4("8.8.8.8", ICMP, 0); s.icmp_type = 135;
	check("icmp type 135 is not control", &s, 0, 'D', R_POL, NULL);

	snprintf(text, sizeof(text), "policy drop;\ncontrol filter;\n%s", RULES_CONTROL_BASE);
	if (use_rules("rules control filter", text))
		return;
	s = P4("224.0.0.251", UDP, 5353);   check("control filter: 224.0.0.251 near-miss", &s, 0, 'D', R_NEAR, "mc");
	s = P4("224.0.0.251", UDP, 9999);   check("control filter: 224.0.0.251 allowed by rule", &s, 0, 'P', R_RULE, "mc");
	s = P4("127.0.0.1", UDP, 9999);     check("control filter: loopback allowed by rule", &s, 0, 'P', R_RULE, "mc");
	s = P4("127.0.0.1", TCP, 80);       check("control filter: loopback near-miss", &s, 0, 'D', R_NEAR, "mc");
	s = P6("::1", TCP, 443);            check("control filter: ::1 allowed by ::/0", &s, 0, 'P', R_RULE, "anything-v6");
	s = P6("ff02::fb", UDP, 5353);      check("control filter: ff02::fb near-miss", &s, 0, 'D', R_NEAR, "anything-v6");
	s = P6("2001:db8:9::1", ICMP6, 0); s.icmp_type = 135; s.hop_limit = 255;
	check("control filter: neighbour solicitation judged", &s, 0, 'D', R_NEAR, "anything-v6");
	s = (struct pk_spec){ .ethertype = 0x0806 };
	check("control filter: arp still non-ip", &s, 0, 'P', R_NONIP, NULL);
}

static void cases_policy_mode_gso(void)
{
	struct pk_spec s;

	if (use_rules("rules policy allow",
		      "policy allow;\n"
		      "rule bad { deny tcp 25; deny udp 25; to 0.0.0.0/0; }\n"
		      "rule zoom { allow tcp 443; to 3.7.35.0/25; }\n"))
		return;
	s = P4("8.8.8.8", UDP, 53);     check("policy allow: near-miss of 0/0 passes", &s, 0, 'P', R_NEAR, "bad");
	s = P4("8.8.8.8", TCP, 25);     check("policy allow: deny rule drops", &s, 0, 'D', R_RULE, "bad");
	s = P4("3.7.35.1", TCP, 443);   check("policy allow: allow rule", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 25);    check("policy allow: deny 0/0 first in order", &s, 0, 'D', R_RULE, "bad");
	s = P4("3.7.35.1", UDP, 443);   check("policy allow: near-miss credited to first covering", &s, 0, 'P', R_NEAR, "bad");
	s = P6("2001:db8::1", TCP, 25); check("policy allow: no v6 rule: policy pass", &s, 0, 'P', R_POL, NULL);
	s = P4("8.8.8.8", TCP, 443);    check("policy allow gso 7: policy pass counts 7", &s, 7, 'P', R_NEAR, "bad");

	if (use_rules("rules gso",
		      "rule zoom { allow tcp 443; allow udp 8801-8810; to 3.7.35.0/25; }\n"
		      "rule deny-doc { deny any; to 192.0.2.0/24; }\n"))
		return;
	s = P4("3.7.35.1", TCP, 443);   s.payload = 1400;
	check("gso 44 segs: pass_packets +44, bytes = skb len", &s, 44, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", UDP, 8801);  s.payload = 1400;
	check("gso 1 seg", &s, 1, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 80);    s.payload = 1400;
	check("gso 5 near-miss drop counts 5", &s, 5, 'D', R_NEAR, "zoom");
	s = P4("192.0.2.9", TCP, 80);   s.payload = 1400;
	check("gso 3 deny rule counts 3", &s, 3, 'D', R_RULE, "deny-doc");
	s = P4("8.8.4.4", TCP, 80);     s.payload = 1400;
	check("gso 9 policy drop counts 9", &s, 9, 'D', R_POL, NULL);
	s = P6("2001:db8::1", TCP, 80); s.payload = 1400;
	check("gso 2 v6 policy drop counts 2", &s, 2, 'D', R_POL, NULL);
	s = P4("3.7.35.1", TCP, 443);   s.frag = PK_FRAG_LATER;
	check("gso 4 fragment: fragments counts 4", &s, 4, 'P', R_RULE, "zoom");

	if (use_rules("rules audit",
		      "policy drop;\nmode audit;\n"
		      "rule zoom { allow tcp 443; to 3.7.35.0/25; }\n"
		      "rule deny-doc { deny any; to 192.0.2.0/24; }\n"))
		return;
	s = P4("3.7.35.1", TCP, 443);   check("audit: allow passes", &s, 0, 'P', R_RULE, "zoom");
	s = P4("3.7.35.1", TCP, 80);    check("audit: near-miss passes, counted as drop + audit_pass", &s, 0, 'P', R_NEAR, "zoom");
	s = P4("192.0.2.1", TCP, 80);   check("audit: deny rule passes, counted as drop", &s, 0, 'P', R_RULE, "deny-doc");
	s = P4("8.8.8.8", TCP, 80);     check("audit: policy drop passes", &s, 0, 'P', R_POL, NULL);
	s = P4("8.8.8.8", TCP, 80);     s.bad_ihl = 3;
	check("audit: malformed passes, counted malformed + audit_pass", &s, 0, 'P', R_MAL, NULL);
	s = P4("192.0.2.1", TCP, 80);   check("audit gso 6: deny counted 6", &s, 6, 'P', R_RULE, "deny-doc");
	s = (struct pk_spec){ .ethertype = 0x0806 };
	check("audit: arp passes, no audit_pass", &s, 0, 'P', R_NONIP, NULL);

	if (use_rules("rules empty", "policy drop;\n"))
		return;
	s = P4("3.7.35.1", TCP, 443);   check("no rules: policy drop v4", &s, 0, 'D', R_POL, NULL);
	s = P6("2407:30c0::1", TCP, 443); check("no rules: policy drop v6", &s, 0, 'D', R_POL, NULL);
}

/* Real vendor ranges (documentation only: test_run, nothing is sent). */
static void cases_vendors(void)
{
	struct pk_spec s;

	if (use_rules("rules vendors",
		      "set zoom { 3.7.35.0/25, 3.21.137.128/25, 8.5.128.0/23, 2407:30c0::/32,\n"
		      "           2620:123:2000::/44 };\n"
		      "rule zoom-media {\n"
		      "    allow tcp 443, 8801-8802;\n"
		      "    allow udp 3478-3479, 8801-8810;\n"
		      "    to @zoom;\n"
		      "}\n"
		      "rule ms-teams { allow udp 3478-3481; allow tcp 80, 443; to 52.112.0.0/14, 52.122.0.0/15, 2603:1063::/38; }\n"
		      "rule block-rest-of-aws { deny any; to 3.0.0.0/9; }\n"))
		return;
	s = P4("3.7.35.100", UDP, 8810);    check("zoom 3.7.35.0/25 udp 8810", &s, 0, 'P', R_RULE, "zoom-media");
	s = P4("3.7.35.100", UDP, 8811);    check("zoom udp 8811: zoom misses, the later aws /9 deny matches", &s, 0, 'D', R_RULE, "block-rest-of-aws");
	s = P4("3.7.35.100", GRE, 0);       check("zoom gre: the later aws /9 deny matches", &s, 0, 'D', R_RULE, "block-rest-of-aws");
	s = P4("8.5.128.1", UDP, 8811);     check("zoom 8.5.128.0/23 udp 8811 near-miss", &s, 0, 'D', R_NEAR, "zoom-media");
	s = P4("3.7.35.200", UDP, 8810);    check("3.7.35.200: aws deny", &s, 0, 'D', R_RULE, "block-rest-of-aws");
	s = P4("3.21.137.255", TCP, 443);   check("zoom 3.21.137.128/25 last address", &s, 0, 'P', R_RULE, "zoom-media");
	s = P4("8.5.129.1", TCP, 8802);     check("zoom 8.5.128.0/23", &s, 0, 'P', R_RULE, "zoom-media");
	s = P4("52.113.1.1", UDP, 3481);    check("teams 52.112.0.0/14 udp 3481", &s, 0, 'P', R_RULE, "ms-teams");
	s = P4("52.123.255.255", TCP, 443); check("teams 52.122.0.0/15 last", &s, 0, 'P', R_RULE, "ms-teams");
	s = P4("52.124.0.0", TCP, 443);     check("just past teams 52.122.0.0/15", &s, 0, 'D', R_POL, NULL);
	s = P6("2620:123:200f::1", TCP, 443); check("zoom 2620:123:2000::/44", &s, 0, 'P', R_RULE, "zoom-media");
	s = P6("2620:123:2010::1", TCP, 443); check("just past zoom 2620:123:2000::/44", &s, 0, 'D', R_POL, NULL);
	s = P6("2603:1063:3ff:ffff::1", UDP, 3478); check("teams 2603:1063::/38", &s, 0, 'P', R_RULE, "ms-teams");
}

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
	int rv, e, xdp = tc_refuses(frame, len);

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

/* ------------------------------------------------------ verifier stats */

static void verifier_stats(void)
{
	static const char *progs[] = { "sluice_tc", "sluice_xdp", "sluice_cgroup" };

	for (int rec = 0; rec <= 1; rec++) {
		struct sluice_bpf *skel = sluice_bpf__open();
		static char logs[3][1 << 16];
		int e;

		if (!skel) {
			T_FAIL("verifier stats", "open: %s", strerror(errno));
			return;
		}
		skel->rodata->cfg.record = rec;
		skel->rodata->cfg.control_pass = 1;
		for (int i = 0; i < 3; i++) {
			struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, progs[i]);

			logs[i][0] = 0;
			bpf_program__set_log_buf(p, logs[i], sizeof(logs[i]));
			bpf_program__set_log_level(p, 4);       /* BPF_LOG_STATS */
		}
		e = sluice_bpf__load(skel);
		for (int i = 0; i < 3; i++) {
			char name[128];
			const char *st = strstr(logs[i], "processed ");
			char line[200] = "";

			if (st) {
				snprintf(line, sizeof(line), "%s", st);
				line[strcspn(line, "\n")] = 0;
			}
			snprintf(name, sizeof(name), "verifier: %s loads (record=%d): %s", progs[i], rec,
				 line[0] ? line : "no stats");
			T_CHECK(name, e == 0, "load failed: %s", strerror(-e));
		}
		sluice_bpf__destroy(skel);
	}
}

/* -b: ns per packet of the production program (record=0), test_run repeat. */
static void bench(void)
{
	struct sl_ruleset rs;
	struct sl_diags d = {0};
	struct sl_image img;
	struct sluice_bpf *skel;
	static const char *path = "rules/securevideo.rules";
	struct { const char *what; struct pk_spec s; } c[6];
	uint8_t frame[4096];

	if (sl_ruleset_load(path, &rs, &d) || sl_compile(&rs, NULL, 1, &img) ||
	    sl_bpf_load(&img, false, NULL, &skel)) {
		sl_diag_print(&d, stdout);
		printf("# bench: cannot load %s\n", path);
		return;
	}
	c[0].what = "v4 tcp allowed";     c[0].s = P4("3.7.35.1", TCP, 443);
	c[1].what = "v4 udp near-miss";   c[1].s = P4("3.7.35.1", UDP, 9999);
	c[2].what = "v4 policy drop";     c[2].s = P4("8.8.8.8", TCP, 443);
	c[3].what = "v6 tcp allowed";     c[3].s = P6("2407:30c0::1", TCP, 443);
	c[4].what = "v6 3 ext headers";   c[4].s = P6("2407:30c0::1", UDP, 8801);
	add_ext(&c[4].s, 0, 0, 0); add_ext(&c[4].s, 60, 1, 0); add_ext(&c[4].s, 43, 0, 0);
	c[5].what = "arp";                c[5].s = (struct pk_spec){ .ethertype = 0x0806 };
	for (int i = 0; i < 6; i++) {
		size_t len = pk_build(&c[i].s, frame, NULL);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .repeat = 1000000);

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_tc), &o))
			printf("# bench %-18s: test_run: %s\n", c[i].what, strerror(errno));
		else
			printf("# bench %-18s: %4u ns/packet (tc, test_run, verdict %d)\n", c[i].what,
			       o.duration, (int)o.retval);
	}
	sl_bpf_destroy(skel);
	sl_image_free(&img);
	sl_ruleset_free(&rs);
}

/* ----------------------------------------------------------------- main */

static int bpf_available(char *why, size_t cap)
{
	struct sluice_bpf *skel;
	int e;

	if (geteuid() != 0) {
		snprintf(why, cap, "not root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN)");
		return 0;
	}
	skel = sluice_bpf__open();
	if (!skel) {
		snprintf(why, cap, "cannot open the BPF object: %s", strerror(errno));
		return 0;
	}
	e = sluice_bpf__load(skel);
	sluice_bpf__destroy(skel);
	if (e == -EPERM || e == -EACCES || e == -ENOSYS || e == -EOPNOTSUPP) {
		snprintf(why, cap, "BPF unavailable: %s", strerror(-e));
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL);
	int nsets = 100, npkts = 1000, c, only_random = 0, do_bench = 0;
	char why[256];

	while ((c = getopt(argc, argv, "s:n:p:vrb")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': nsets = atoi(optarg); break;
		case 'p': npkts = atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'r': only_random = 1; break;
		case 'b': do_bench = 1; break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-n rulesets] [-p packets] [-v] [-r: random only] [-b: bench]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(silence_libbpf);
	if (!bpf_available(why, sizeof(why))) {
		T_SKIP("test_prog", "%s", why);
		return T_DONE();
	}
	if (do_bench) {
		bench();
		return T_DONE();
	}
	if (!only_random) {
		verifier_stats();
		cases_main();
		cases_fast();
		cases_headers();
		cases_control();
		cases_policy_mode_gso();
		cases_vendors();
		real_pack_diff(seed, 5000);
		if (cur_loaded)
			tset_close(&cur);
		T_CHECK("xdp wrapper agrees with tc on the crafted frames", n_xdp_bad == 0 && n_xdp_ok > 0,
			"%d of %d differ, first: %s", n_xdp_bad, n_xdp_ok + n_xdp_bad, xdp_first_bad);
		T_CHECK("cgroup_skb wrapper agrees with tc on the crafted IP frames",
			n_cg_bad == 0 && n_cg_ok > 0, "%d of %d differ, first: %s", n_cg_bad,
			n_cg_ok + n_cg_bad, cg_first_bad);
	}
	printf("# random differential seed %llu (rerun: %s -r -s %llu)\n", (unsigned long long)seed,
	       argv[0], (unsigned long long)seed);
	random_diff(seed, nsets, npkts);
	printf("# test_prog: %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
