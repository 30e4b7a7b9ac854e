// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_verify.c - sluice verify PACK: every requirement of PACK (`require`
 * statements, docs/rules.md) sampled into flows (user/verify/) and run
 * through the program each attachment of the instance actually runs
 * (BPF_PROG_TEST_RUN, kernel/testrun.c); the deciding rule named from the
 * loaded tables.  Never judged from the file's rules.  Exit 0 every
 * requirement passes, 1 one is blocked (or would be, in audit mode), 2 usage
 * error or a pack without requirements.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "verify/verify.h"

/* A record to test: its program and its network namespace. */
struct vtarget {
	uint32_t k;
	const struct sl_attach *a;
	int fd;
	uint32_t prog_id;
};

struct vctx {
	struct sl_instance in;
	struct sl_rule_meta *meta;
	struct sl_image img;
	struct sl_attach att[SL_MAX_ATTACH];
	struct vtarget t[SL_MAX_ATTACH];
	size_t nt;
};

/* What blocked a flow, in words, from the loaded tables' lookup. */
static void why_blocked(const struct vctx *v, const struct sl_result *res, bool prog_pass,
			char *rule, size_t rsz, char *why, size_t wsz)
{
	const char *rn = res->rule < SL_MAX_SLOTS && v->meta[res->rule].action != SL_ACT_NONE ?
			 v->meta[res->rule].name : NULL;

	snprintf(rule, rsz, "%s", rn && res->reason == SL_R_RULE ? rn : "");
	switch (res->reason) {
	case SL_R_RULE:
		snprintf(why, wsz, "rule %s (%s)", rn ? rn : "?",
			 rn && v->meta[res->rule].action == SL_ACT_DENY ? "deny" : "allow");
		break;
	case SL_R_NEAR_MISS:
		snprintf(why, wsz, "policy %s: rule %s covers the address but not this protocol/port",
			 cli_policy_name(v->img.cfg.policy), rn ? rn : "?");
		if (rn)
			snprintf(rule, rsz, "%s", rn);
		break;
	case SL_R_POLICY:
		snprintf(why, wsz, "policy %s: no rule covers the address", cli_policy_name(v->img.cfg.policy));
		break;
	default:
		snprintf(why, wsz, "%s", sl_reason_name(res->reason));
		break;
	}
	if (!prog_pass && res->verdict == SL_V_PASS)
		snprintf(why + strlen(why), wsz - strlen(why), " (the program dropped it although its "
			 "tables allow it: report this)");
}

/* Would the tables drop it in enforce mode (audit passes everything)? */
static bool would_drop(const struct vctx *v, const struct sl_result *res)
{
	if (res->verdict == SL_V_DROP)
		return true;
	if (v->img.cfg.mode != SL_MODE_AUDIT)
		return false;
	if (res->reason == SL_R_RULE)
		return res->rule < SL_MAX_SLOTS && v->meta[res->rule].action == SL_ACT_DENY;
	return (res->reason == SL_R_POLICY || res->reason == SL_R_NEAR_MISS) &&
	       v->img.cfg.policy == SL_POLICY_DROP;
}

static void vendor_of(const struct sl_rule *r, char *buf, size_t sz)
{
	const char *f = r->pos.file ? r->pos.file : "?", *b = strrchr(f, '/');
	size_t n;

	b = b ? b + 1 : f;
	n = strlen(b);
	if (n > 6 && !strcmp(b + n - 6, ".rules"))
		n -= 6;
	snprintf(buf, sz, "%.*s", (int)n, b);
}

struct vres {
	size_t flows, blocked;
	bool audit_only;                /* blocked only by audit mode's would-drop */
	char flow[96], where[48], rule[SL_NAME_LEN], why[200];
};

/* One flow through every target; 0 or -errno. */
static int run_flow(struct vctx *v, const struct sl_vsample *s, struct vres *r)
{
	for (size_t i = 0; i < v->nt; i++) {
		const struct vtarget *t = &v->t[i];
		bool inbound = t->a->dir == SL_DIR_IN, pass;
		uint8_t fr[SL_VFRAME_MAX], eth[SL_VFRAME_MAX];
		/* BPF_PROG_TEST_RUN takes an Ethernet frame for every skb program (cgroup_skb
		 * too: the kernel pulls the header and the program sees the IP packet) */
		size_t n = sl_verify_frame(s, inbound, true, fr), ne;
		struct sl_result res;
		struct sl_pkt p;
		int saved = -1, e;

		if (t->a->netns[0]) {
			char path[64];

			snprintf(path, sizeof(path), "/run/netns/%.16s", t->a->netns);
			if (sl_netns_enter_path(path, &saved))
				saved = -1;
		}
		e = sl_prog_verdict(t->fd, t->a, fr, n, &pass);
		sl_netns_leave(saved);
		if (e)
			return e;
		ne = sl_verify_frame(s, inbound, true, eth);
		sl_pkt_parse(eth, ne, &p);
		p.inbound = inbound;
		sl_image_lookup(&v->img, &p, &res);
		r->flows++;
		if (pass && !would_drop(v, &res))
			continue;
		if (r->blocked++)
			continue;
		r->audit_only = pass;
		sl_verify_sample_str(s, r->flow, sizeof(r->flow));
		snprintf(r->where, sizeof(r->where), "%s %.16s", sl_hook_name(t->a->hook),
			 t->a->hook == SL_HOOK_CGROUP ? t->a->cgroup : t->a->ifname);
		why_blocked(v, &res, pass, r->rule, sizeof(r->rule), r->why, sizeof(r->why));
	}
	return 0;
}

static int open_targets(struct vctx *v, const char *inst)
{
	int e;

	if ((e = cli_instance_meta_open(inst, "apply a ruleset first (sluice apply --help)", &v->in, &v->meta)))
		return e;
	if (sl_read_attach(v->in.attach_fd, v->att) || sl_image_from_maps(&v->in, &v->img)) {
		fprintf(stderr, "sluice: %s/%s: cannot read the loaded instance\n", SL_PIN_ROOT, inst);
		return EXIT_RUNTIME;
	}
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
		struct vtarget *t = &v->t[v->nt];
		enum sl_hook h = v->att[k].hook;

		if (h != SL_HOOK_TC_EGRESS && h != SL_HOOK_TC_INGRESS && h != SL_HOOK_XDP && h != SL_HOOK_CGROUP)
			continue;
		if (!sl_attach_alive(&v->in, &v->att[k]))
			continue;
		t->k = k;
		t->a = &v->att[k];
		t->fd = sl_record_prog_fd(&v->in, k, &v->att[k], &t->prog_id);
		if (t->fd < 0) {
			fprintf(stderr, "sluice: %s: cannot open the program of attachment %u: %s\n", inst, k,
				strerror(-t->fd));
			return EXIT_RUNTIME;
		}
		v->nt++;
	}
	if (!v->nt) {
		fprintf(stderr, "sluice: instance %s has no live attachment whose program could be run\n", inst);
		return EXIT_RUNTIME;
	}
	return 0;
}

static void close_targets(struct vctx *v)
{
	for (size_t i = 0; i < v->nt; i++)
		close(v->t[i].fd);
	sl_image_free(&v->img);
	free(v->meta);
	sl_instance_close(&v->in);
}

static void report(const struct sl_rule *q, const struct vres *r, struct sl_json *j)
{
	char vendor[64];

	vendor_of(q, vendor, sizeof(vendor));
	if (j) {
		sl_json_obj_open(j);
		sl_json_kstr(j, "vendor", vendor);
		sl_json_kstr(j, "requirement", q->name);
		sl_json_kstr(j, "result", !r->blocked ? "pass" : r->audit_only ? "blocked-in-enforce" : "blocked");
		sl_json_ku64(j, "flows", r->flows);
		sl_json_ku64(j, "blocked_flows", r->blocked);
		sl_json_ku64(j, "host_names_skipped", q->nhosts);
		sl_json_key(j, "blocked_by");
		if (r->blocked) {
			sl_json_obj_open(j);
			sl_json_kstr(j, "flow", r->flow);
			sl_json_kstr(j, "attachment", r->where);
			sl_json_kstr(j, "rule", r->rule[0] ? r->rule : NULL);
			sl_json_kstr(j, "reason", r->why);
			sl_json_obj_close(j);
		} else {
			sl_json_null(j);
		}
		sl_json_obj_close(j);
		return;
	}
	if (!r->blocked)
		printf("  %-12s %-28s pass (%zu flows)%s\n", vendor, q->name, r->flows,
		       q->nhosts ? "; host names not tested" : "");
	else
		printf("  %-12s %-28s %s: %zu of %zu flows, first %s on %s: %s\n", vendor, q->name,
		       r->audit_only ? "BLOCKED IN ENFORCE (audit mode passes it now)" : "BLOCKED",
		       r->blocked, r->flows, r->flow, r->where, r->why);
}

int do_verify(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("verify");
	const char *inst = "default";
	struct vctx *v = NULL;
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_json j;
	size_t nblocked = 0;
	int ch, rc = 0, e;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one pack (a rules file with require statements)");
	if (cli_load_rules_diag(argv[optind], &rs, &d, false)) {
		sl_diag_free(&d);
		return EXIT_USAGE;
	}
	sl_diag_free(&d);
	if (!rs.nreqs) {
		fprintf(stderr, "sluice: %s has no requirements (require NAME { allow ...; to ...; }, "
			"docs/rules.md): nothing to verify\n", argv[optind]);
		sl_ruleset_free(&rs);
		return EXIT_USAGE;
	}
	v = calloc(1, sizeof(*v));
	if (!v || (rc = open_targets(v, inst)))
		goto out;
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "instance", inst);
		sl_json_kstr(&j, "pack", argv[optind]);
		sl_json_ku64(&j, "generation", v->in.cfg.generation);
		sl_json_kstr(&j, "mode", cli_mode_name(v->in.cfg.mode));
		sl_json_ku64(&j, "attachments", v->nt);
		sl_json_key(&j, "requirements");
		sl_json_arr_open(&j);
	} else {
		printf("instance %s: generation %u, mode %s; %zu requirements of %s through the program%s of "
		       "%zu attachment%s (BPF_PROG_TEST_RUN, nothing sent)\n", inst, v->in.cfg.generation,
		       cli_mode_name(v->in.cfg.mode), rs.nreqs, argv[optind], v->nt == 1 ? "" : "s", v->nt,
		       v->nt == 1 ? "" : "s");
	}
	for (size_t i = 0; i < rs.nreqs; i++) {
		struct vres r = { 0 };
		struct sl_vsample *s = NULL;
		size_t n = 0;

		if ((e = sl_verify_samples(&rs.reqs[i], &s, &n))) {
			rc = EXIT_RUNTIME;
			break;
		}
		for (size_t f = 0; f < n && !e; f++)
			e = run_flow(v, &s[f], &r);
		free(s);
		if (e) {
			fprintf(stderr, "sluice: %s: BPF_PROG_TEST_RUN failed: %s\n", inst, strerror(-e));
			rc = EXIT_RUNTIME;
			break;
		}
		nblocked += r.blocked != 0;
		report(&rs.reqs[i], &r, cli_json ? &j : NULL);
	}
	if (cli_json) {
		sl_json_arr_close(&j);
		sl_json_ku64(&j, "passed", rs.nreqs - nblocked);
		sl_json_ku64(&j, "blocked", nblocked);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else if (!rc) {
		printf("verify: %zu of %zu requirements pass%s\n", rs.nreqs - nblocked, rs.nreqs,
		       nblocked ? "; the blocked ones name the rule or policy that stops them" : "");
	}
	if (!rc && nblocked)
		rc = EXIT_RUNTIME;
	close_targets(v);
out:
	free(v);
	sl_ruleset_free(&rs);
	return rc;
}
