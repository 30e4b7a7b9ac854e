/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tset.h - the harness of the data path's prog tests (test_prog.c: crafted
 * cases; test_prog_diff.c: differential runs; test_packs.c: the SecureVideo
 * document's probes, which use its running and loading checks): a ruleset
 * loaded as `sluice apply` loads it (struct tset), the counters before and
 * after a packet and what docs/datapath.md §3 says they must become,
 * test_run of the TC, XDP and cgroup programs on one frame, and the result
 * compared with the reference classifier's.
 */
#ifndef SL_TEST_TSET_H
#define SL_TEST_TSET_H
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

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

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

/* ----------------------------------------------------------------- main */

/*
 * Whether the programs can be loaded and run here: 1, or 0 with why in
 * @why.  Not root, or the BPF object not there, is a 0; so is a load
 * refused for want of privilege or kernel support (EPERM, EACCES, ENOSYS,
 * EOPNOTSUPP).  Any other load error (the verifier's) is a 1: the test's
 * own load reports it as a failure, never as a skip.
 */
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

#endif
