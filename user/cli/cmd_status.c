// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_status.c - sluice status and stats
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "cli/evsrc.h"

/* "tcx", "clsact", "xdp native", "xdp generic", "cgroup" */
static const char *att_mode(const struct sl_attach *a)
{
	if (a->kind == SL_ATT_XDP)
		return a->xdp_mode == SL_XDP_NATIVE ? "xdp-native" : "xdp-generic";
	return sl_att_kind_name(a->kind);
}

/* "eth0", "veth1@lab", "cgroup:containers/web" */
static void att_where(const struct sl_attach *a, char *buf, size_t sz)
{
	if (a->hook == SL_HOOK_CGROUP)
		snprintf(buf, sz, "%.64s", a->cgroup[0] ? a->cgroup : "/");
	else
		snprintf(buf, sz, "%.16s%s%.16s", a->ifname, a->netns[0] ? "@" : "", a->netns);
}

/* One attachment as JSON: where, how, and what it passed and dropped. */
/* What an attachment judges: "outbound" (destinations), "inbound" (sources);
 * the DNS learner judges nothing. */
static const char *att_dir(const struct sl_attach *a)
{
	if (a->hook == SL_HOOK_DNS)
		return "-";
	return a->dir == SL_DIR_IN ? "inbound" : "outbound";
}

static void json_attach(struct sl_json *j, const struct sl_instance *in, uint32_t k,
			const struct sl_attach *a, const struct sl_att_live *l, const struct sl_att_owner *own)
{
	struct sl_att_ctr ac;

	sl_read_att_ctr(in->att_ctr_fd, k, &ac);
	sl_json_obj_open(j);
	sl_json_kstr(j, "hook", sl_hook_name(a->hook));
	cli_att_owner_show(own, k, j);
	sl_json_kstr(j, "direction", att_dir(a));
	if (a->hook == SL_HOOK_CGROUP) {
		sl_json_kstr(j, "cgroup", a->cgroup);
		sl_json_ku64(j, "cgroup_id", a->cgroup_id);
	} else {
		sl_json_kstr(j, "dev", l ? l->dev : a->ifname);
		if (l && l->renamed)
			sl_json_kstr(j, "dev_recorded", a->ifname);
		if (l && l->moved) {
			sl_json_kstr(j, "netns", l->netns_now[0] ? l->netns_now : NULL);
			sl_json_kstr(j, "netns_recorded", a->netns[0] ? a->netns : NULL);
		} else {
			sl_json_kstr(j, "netns", a->netns[0] ? a->netns : NULL);
		}
		sl_json_ku64(j, "ifindex", a->ifindex);
	}
	sl_json_kstr(j, "mode", att_mode(a));
	if (l) {
		char since[32];
		time_t t = (time_t)a->since;

		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		sl_json_ku64(j, "prog_id", l->prog_id);
		if (a->kind == SL_ATT_CLSACT) {
			sl_json_ku64(j, "handle", a->handle);
			sl_json_ku64(j, "priority", a->priority);
		} else {
			sl_json_ku64(j, "link_id", a->link_id);
		}
		sl_json_kstr(j, "since", since);
		sl_json_kstr(j, "state", sl_att_state_name(l->state));
		sl_json_kbool(j, "alive", l->state == SL_ST_ENFORCING || l->state == SL_ST_BYPASSED);
		sl_json_ku64(j, "running_prog_id", l->running_id);
		sl_json_ku64(j, "position", l->position);
		sl_json_kstr(j, "why", l->why[0] ? l->why : NULL);
	}
	sl_json_ku64(j, "pass_packets", ac.pass_packets);
	sl_json_ku64(j, "pass_bytes", ac.pass_bytes);
	sl_json_ku64(j, "drop_packets", ac.drop_packets);
	sl_json_ku64(j, "drop_bytes", ac.drop_bytes);
	if (a->hook == SL_HOOK_DNS) {   /* the learner judges nothing: what it read and learned */
		uint64_t an = 0, le = 0;

		sl_learn_ctr_read(in->learn_ctr_fd, SL_L_ANSWERS, &an);
		sl_learn_ctr_read(in->learn_ctr_fd, SL_L_LEARNED, &le);
		sl_json_ku64(j, "dns_answers", an);
		sl_json_ku64(j, "dns_learned", le);
	}
	sl_json_obj_close(j);
}

/* stats --json: "attachments", each with its container if sluice-cni made it */
static void json_attachments(struct sl_json *j, const char *inst, const struct sl_instance *in,
			     const struct sl_attach *att)
{
	struct sl_att_owner *own = cli_att_owners(inst);

	sl_json_key(j, "attachments");
	sl_json_arr_open(j);
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++)
		if (att[k].hook != SL_HOOK_NONE)
			json_attach(j, in, k, &att[k], NULL, own);
	sl_json_arr_close(j);
	free(own);
}

/* What status says on stderr when an instance does not filter everywhere it should. */
static void report_states(const char *name, const size_t *nbad, int natt)
{
	if (natt == 0)
		fprintf(stderr, "sluice: instance %s has no attachment: it filters nothing; name one with "
			"sluice apply FILE --dev DEV (or --cgroup) --instance %s\n", name, name);
	if (nbad[SL_ST_BYPASSED])
		fprintf(stderr, "sluice: instance %s: %zu attachment%s BYPASSED: another program runs in "
			"sluice's place or before it and can pass traffic unfiltered; sluice apply (or sluice "
			"run) puts sluice first again (docs/operations.md, co-resident BPF programs)\n", name,
			nbad[SL_ST_BYPASSED], nbad[SL_ST_BYPASSED] == 1 ? " is" : "s are");
	if (nbad[SL_ST_GONE])
		fprintf(stderr, "sluice: instance %s: %zu attachment%s GONE: traffic there is not filtered; "
			"apply again with --dev/--cgroup once it is back (sluice run does it by itself)\n",
			name, nbad[SL_ST_GONE], nbad[SL_ST_GONE] == 1 ? " is" : "s are");
	if (nbad[SL_ST_UNATTACHED])
		fprintf(stderr, "sluice: instance %s: %zu requested attachment%s NOT ATTACHED (an apply was "
			"interrupted before it got there): traffic there is not filtered; apply again\n", name,
			nbad[SL_ST_UNATTACHED], nbad[SL_ST_UNATTACHED] == 1 ? " is" : "s are");
}

static int status_one(const char *name, struct sl_json *j)
{
	struct sl_instance in;
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_rule_meta *meta;
	struct sl_att_owner *own;
	static struct sl_att_live live[SL_MAX_ATTACH];
	size_t nrules = 0, natt = 0, shown = 0, nbad[SL_ST_UNATTACHED + 1] = {0};
	bool lapsed;
	struct sl_image img;
	int e, n;

	if ((e = sl_instance_open(name, &in)))
		return e;
	meta = calloc(SL_MAX_SLOTS, sizeof(*meta));
	n = meta ? sl_live_read(&in, att, live) : -ENOMEM;    /* what the kernel runs (live.c) */
	if (n == -ENOENT) {             /* detached meanwhile, on purpose */
		free(meta);
		sl_instance_close(&in);
		return -ENOENT;
	}
	if (n < 0 || sl_read_rule_meta(in.rules_fd, meta) || sl_image_from_maps(&in, &img)) {
		free(meta);
		sl_instance_close(&in);
		return -EIO;
	}
	for (size_t s = 0; s < SL_MAX_SLOTS; s++)
		nrules += meta[s].action != SL_ACT_NONE;
	if (j) {
		sl_json_obj_open(j);
		sl_json_kstr(j, "instance", name);
		sl_json_ku64(j, "generation", in.cfg.generation);
		sl_json_ku64(j, "layout", in.layout);
		sl_json_kstr(j, "policy", cli_policy_name(in.cfg.policy));
		sl_json_kstr(j, "mode", cli_mode_name(in.cfg.mode));
		sl_json_kbool(j, "control_pass", in.cfg.control_pass);
		sl_json_ku64(j, "rules", nrules);
		sl_json_ku64(j, "prefixes4", img.ndst4);
		sl_json_ku64(j, "prefixes6", img.ndst6);
		sl_json_ku64(j, "port_entries", img.nports);
		cli_owner_show(name, j);
		lapsed = cli_source_show(name, in.cfg.generation, j);
		sl_json_key(j, "attachments");
		sl_json_arr_open(j);
	} else {
		printf("instance %s: generation %u, policy %s, mode %s, %zu rules, %zu IPv4 + %zu IPv6 "
		       "prefixes, pin layout %u\n", name, in.cfg.generation, cli_policy_name(in.cfg.policy),
		       cli_mode_name(in.cfg.mode), nrules, img.ndst4, img.ndst6, in.layout);
		cli_owner_show(name, NULL);
		lapsed = cli_source_show(name, in.cfg.generation, NULL);
	}
	own = cli_att_owners(name);
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
		const struct sl_attach *a = &att[k];
		const struct sl_att_live *l = &live[k];

		if (a->hook == SL_HOOK_NONE)
			continue;
		natt++;
		nbad[l->state]++;
		if (j) {
			json_attach(j, &in, k, a, l, own);
		} else if (!cli_verbose && shown >= CLI_STATUS_ATT_LINES) {
			/* summed up below */
		} else {
			char where[96], since[32];
			time_t t = (time_t)a->since;
			struct sl_att_ctr ac;
			struct sl_attach now = *a;      /* where it is now (live.c) */

			snprintf(now.ifname, sizeof(now.ifname), "%s", l->dev);
			if (l->moved)
				snprintf(now.netns, sizeof(now.netns), "%s", l->netns_now);
			sl_read_att_ctr(in.att_ctr_fd, k, &ac);
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			att_where(&now, where, sizeof(where));
			printf("  %-10s %-24s %-8s %-11s prog %u ", sl_hook_name(a->hook), where,
			       att_dir(a), att_mode(a), l->prog_id);
			if (a->kind == SL_ATT_CLSACT)
				printf("handle 0x%x prio %u", a->handle, a->priority);
			else
				printf("link %u", a->link_id);
			if (a->hook == SL_HOOK_DNS) {
				/* the learner judges nothing: what it read and learned */
				uint64_t an = 0, le = 0;

				sl_learn_ctr_read(in.learn_ctr_fd, SL_L_ANSWERS, &an);
				sl_learn_ctr_read(in.learn_ctr_fd, SL_L_LEARNED, &le);
				printf("  since %s  answers read %llu, addresses learned %llu  %s", since,
				       (unsigned long long)an, (unsigned long long)le, sl_att_state_name(l->state));
			} else {
				printf("  since %s  passed %llu dropped %llu  %s", since,
				       (unsigned long long)ac.pass_packets, (unsigned long long)ac.drop_packets,
				       sl_att_state_name(l->state));
			}
			if (l->renamed)
				printf(" (renamed from %.16s)", a->ifname);
			if (l->moved)
				printf(" (moved from %.16s%s%.16s)", a->ifname, a->netns[0] ? "@" : "", a->netns);
			if (l->why[0])
				printf(": %s", l->why);
			cli_att_owner_show(own, k, NULL);
			printf("\n");
			shown++;
		}
	}
	if (!j && natt > shown)
		printf("  ... %zu attachments in all, %zu more not listed (sluice status -v --instance %s "
		       "lists every one; sluice stats --json has their counters)\n", natt, natt - shown, name);
	free(own);
	report_states(name, nbad, (int)natt);
	if (j) {
		sl_json_arr_close(j);
		sl_json_obj_close(j);
	}
	sl_image_free(&img);
	free(meta);
	sl_instance_close(&in);
	return natt == 0 || nbad[SL_ST_BYPASSED] || nbad[SL_ST_GONE] || nbad[SL_ST_UNATTACHED] ?
	       -ENOLINK : lapsed ? -ETIME : 0;
}

int do_status(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("status");
	const char *inst = NULL;
	char **names = NULL;
	size_t n = 0;
	struct sl_json j;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind != argc)
		return cli_usage_error(c, "no arguments expected");
	if (!cli_need_root())
		return EXIT_RUNTIME;
	if (inst) {
		names = malloc(sizeof(*names));
		if (!names)
			return EXIT_RUNTIME;
		names[0] = strdup(inst);
		n = 1;
	} else if (sl_instance_list(&names, &n)) {
		fprintf(stderr, "sluice: %s: cannot list instances\n", SL_PIN_ROOT);
		return EXIT_RUNTIME;
	}
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_key(&j, "instances");
		sl_json_arr_open(&j);
	} else if (n == 0) {
		printf("sluice: no instance is loaded (see: sluice apply --help)\n");
	}
	for (size_t i = 0; i < n; i++) {
		int e = status_one(names[i], cli_json ? &j : NULL);

		if (e == -ENOENT && !inst) {
			;       /* detached since the listing, on purpose */
		} else if (e == -ENOENT) {
			fprintf(stderr, "sluice: instance '%s' is not loaded\n", names[i]);
			rc = EXIT_RUNTIME;
		} else if (e) {
			rc = EXIT_RUNTIME;
		}
		free(names[i]);
	}
	free(names);
	if (cli_json)
		sl_json_arr_close(&j);
	cli_feeds_status(cli_json ? &j : NULL);        /* URL sets: cmd_fetch.c */
	if (cli_json) {
		sl_json_obj_close(&j);
		sl_json_end(&j);
	}
	return rc;
}

/* The end of stats: the learner's counters ("dns") and the events' ("events"). */
static void stats_tail(struct sl_json *j, const char *inst, const struct sl_instance *in)
{
	cli_learn_ctrs(j, j ? "dns" : NULL, in);
	sl_events_stats(inst, j);
}

/* "udp/8811"; "icmp" for protocols without ports (not "icmp/0"). */
static void last_miss(const struct sl_rule_ctr *r, char *buf, size_t sz)
{
	char pb[16];

	if (r->last_miss_proto == 6 || r->last_miss_proto == 17)
		snprintf(buf, sz, "%s/%u", cli_ipproto_name(r->last_miss_proto, pb, sizeof(pb)),
			 r->last_miss_port);
	else
		snprintf(buf, sz, "%s", cli_ipproto_name(r->last_miss_proto, pb, sizeof(pb)));
}

int do_stats(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { "format", required_argument, NULL, 'f' }, { 0 } };
	static const char *const gnames[SL_G_MAX] = {
		[SL_G_POLICY_PASS] = "policy_pass", [SL_G_POLICY_DROP] = "policy_drop",
		[SL_G_MALFORMED] = "malformed", [SL_G_NON_IP] = "non_ip",
		[SL_G_FRAGMENTS] = "fragments", [SL_G_CONTROL] = "control",
		[SL_G_AUDIT_PASS] = "audit_pass", [SL_G_UNKNOWN_IF] = "unknown_if",
		[SL_G_ND] = "nd_pass",
	};
	const struct cmd *c = cli_find_cmd("stats");
	const char *inst = NULL;
	bool prom = false;
	struct sl_instance in;
	struct sl_rule_meta *meta;
	struct sl_global_ctr g[SL_G_MAX];
	struct sl_attach att[SL_MAX_ATTACH];
	uint32_t order[SL_MAX_SLOTS];
	size_t n = 0;
	struct sl_json j;
	int ch, e;

	while ((ch = getopt_long(argc, argv, ":jvhi:f:", opts, NULL)) != -1) {
		if (ch == 'f' && (prom = !strcmp(optarg, "prometheus")))
			continue;
		if (ch == 'f' && strcmp(optarg, "text") && strcmp(optarg, "json"))
			return cli_usage_error(c, "--format takes text, json or prometheus");
		if (ch == 'f')
			cli_json = !strcmp(optarg, "json");
		else if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	}
	if (optind != argc)
		return cli_usage_error(c, "no arguments expected");
	if (prom && cli_json)
		return cli_usage_error(c, "--format prometheus and --json exclude each other");
	if (prom)
		return cli_need_root() ? cli_stats_prom(inst) : EXIT_RUNTIME;
	if (!inst)
		inst = "default";
	if ((e = cli_instance_meta_open(inst, "see: sluice status", &in, &meta)))
		return e;
	if (sl_read_attach(in.attach_fd, att)) {
		fprintf(stderr, "sluice: %s/%s/attachments: cannot read\n", SL_PIN_ROOT, inst);
		free(meta);
		sl_instance_close(&in);
		return EXIT_RUNTIME;
	}
	for (uint32_t i = 0; i < SL_G_MAX; i++)
		sl_read_global_ctr(in.globals_fd, i, &g[i]);
	/* rules in first-match order */
	for (uint32_t s = 0; s < SL_MAX_SLOTS; s++)
		if (meta[s].action != SL_ACT_NONE)
			order[n++] = s;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && meta[order[b - 1]].index > meta[order[b]].index; b--) {
			uint32_t t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "instance", inst);
		sl_json_ku64(&j, "generation", in.cfg.generation);
		sl_json_kstr(&j, "mode", cli_mode_name(in.cfg.mode));
		sl_json_key(&j, "rules");
		sl_json_arr_open(&j);
	} else {
		printf("instance %s, generation %u, policy %s, mode %s\n", inst, in.cfg.generation,
		       cli_policy_name(in.cfg.policy), cli_mode_name(in.cfg.mode));
		printf("%-24s %6s %14s %16s %14s %16s  %s\n", "RULE", "ACTION", "PASS PKTS", "PASS BYTES",
		       "DROP PKTS", "DROP BYTES", "NEAR MISSES");
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_rule_ctr r;
		char miss[64] = "";

		sl_read_rule_ctr(in.counters_fd, order[i], &r);
		if (r.near_miss_packets)
			last_miss(&r, miss, sizeof(miss));
		if (cli_json) {
			sl_json_obj_open(&j);
			sl_json_kstr(&j, "name", meta[order[i]].name);
			sl_json_kstr(&j, "action", meta[order[i]].action == SL_ACT_ALLOW ? "allow" : "deny");
			sl_json_ku64(&j, "slot", order[i]);
			sl_json_ku64(&j, "pass_packets", r.pass_packets);
			sl_json_ku64(&j, "pass_bytes", r.pass_bytes);
			sl_json_ku64(&j, "drop_packets", r.drop_packets);
			sl_json_ku64(&j, "drop_bytes", r.drop_bytes);
			sl_json_ku64(&j, "near_miss_packets", r.near_miss_packets);
			sl_json_ku64(&j, "near_miss_bytes", r.near_miss_bytes);
			sl_json_kstr(&j, "last_near_miss", miss[0] ? miss : NULL);
			sl_json_obj_close(&j);
		} else {
			printf("%-24.47s %6s %14llu %16llu %14llu %16llu",
			       meta[order[i]].name, meta[order[i]].action == SL_ACT_ALLOW ? "allow" : "deny",
			       r.pass_packets, r.pass_bytes, r.drop_packets, r.drop_bytes);
			if (r.near_miss_packets)
				printf("  %llu (last: %s not allowed)", (unsigned long long)r.near_miss_packets, miss);
			printf("\n");
		}
	}
	if (cli_json) {
		sl_json_arr_close(&j);
		sl_json_key(&j, "policy");
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "action", cli_policy_name(in.cfg.policy));
		sl_json_ku64(&j, "pass_packets", g[SL_G_POLICY_PASS].packets);
		sl_json_ku64(&j, "pass_bytes", g[SL_G_POLICY_PASS].bytes);
		sl_json_ku64(&j, "drop_packets", g[SL_G_POLICY_DROP].packets);
		sl_json_ku64(&j, "drop_bytes", g[SL_G_POLICY_DROP].bytes);
		sl_json_obj_close(&j);
		for (int i = SL_G_MALFORMED; i < SL_G_MAX; i++)
			sl_json_ku64(&j, gnames[i], g[i].packets);
		json_attachments(&j, inst, &in, att);
		stats_tail(&j, inst, &in);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("%-24s %6s %14llu %16llu %14llu %16llu\n",
		       "(policy)", cli_policy_name(in.cfg.policy), g[SL_G_POLICY_PASS].packets,
		       g[SL_G_POLICY_PASS].bytes, g[SL_G_POLICY_DROP].packets, g[SL_G_POLICY_DROP].bytes);
		for (int i = SL_G_MALFORMED; i < SL_G_MAX; i++)
			printf("%s %llu%s", gnames[i], (unsigned long long)g[i].packets, i + 1 < SL_G_MAX ? ", " : "\n");
		for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
			struct sl_att_ctr ac;
			char where[96];

			if (att[k].hook == SL_HOOK_NONE)
				continue;
			sl_read_att_ctr(in.att_ctr_fd, k, &ac);
			att_where(&att[k], where, sizeof(where));
			printf("attachment %-10s %-24s %-8s passed %llu packets (%llu bytes), dropped %llu (%llu bytes)\n",
			       sl_hook_name(att[k].hook), where, att_dir(&att[k]),
			       (unsigned long long)ac.pass_packets,
			       (unsigned long long)ac.pass_bytes, (unsigned long long)ac.drop_packets,
			       (unsigned long long)ac.drop_bytes);
		}
		stats_tail(NULL, inst, &in);
	}
	free(meta);
	sl_instance_close(&in);
	return 0;
}
