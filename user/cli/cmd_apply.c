// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_apply.c - sluice apply, run (the glue to sl_run) and detach
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
#include "daemon/metrics.h"

#define APPLY_OPTS \
	COMMON_OPTS, \
	{ "dev", required_argument, NULL, 'd' }, \
	{ "hook", required_argument, NULL, 'H' }, \
	{ "tc-mode", required_argument, NULL, 'T' }, \
	{ "netns", required_argument, NULL, 'n' }, \
	{ "cgroup", required_argument, NULL, 'C' }, \
	{ "xdp-mode", required_argument, NULL, 'X' }, \
	{ "dns-floor", required_argument, NULL, 'F' }, \
	{ "dns-grace", required_argument, NULL, 'G' }, \
	{ "metrics", required_argument, NULL, 'M' }, \
	{ "direction", required_argument, NULL, 'D' }, \
	{ "allow-stack", no_argument, NULL, 'S' }, \
	{ "allow-empty", no_argument, NULL, 'E' }, \
	{ "confirm", required_argument, NULL, 'K' }

/* The options of apply (and run): 0, or the exit status of a usage error. */
static int apply_opts(const struct cmd *c, int argc, char **argv, struct sl_apply_opts *ao,
		      const char **devs)
{
	static const struct option opts[] = { APPLY_OPTS, { 0 } };
	int ch;

	*ao = (struct sl_apply_opts){ .instance = "default", .devs = devs, .hook = SL_HOOK_TC_EGRESS };
	while ((ch = getopt_long(argc, argv, ":jvhi:d:n:", opts, NULL)) != -1) {
		if (cli_common_opt(ch, c, &ao->instance))
			continue;
		switch (ch) {
		case 'n':
			ao->netns = optarg;
			break;
		case 'd':
			if (ao->ndevs == SL_MAX_DEVS)
				return cli_usage_error(c, "at most %d --dev", SL_MAX_DEVS);
			devs[ao->ndevs++] = optarg;
			break;
		case 'C':
			ao->cgroup = optarg;
			break;
		case 'M':
			if (strcmp(c->name, "run"))
				return cli_usage_error(c, "--metrics is an option of sluice run");
			if (sl_metrics_set(optarg))
				return cli_usage_error(c, "--metrics takes ADDR:PORT, [ADDR6]:PORT or PORT "
						       "(127.0.0.1), not '%s'", optarg);
			break;
		case 'S':
			ao->allow_stack = true;
			break;
		case 'E':
			ao->allow_empty = true;
			break;
		case 'K':
			if (strcmp(c->name, "apply"))
				return cli_usage_error(c, "--confirm is an option of sluice apply");
			if (!(ao->confirm_s = cli_duration(optarg)))
				return cli_usage_error(c, "--confirm takes a duration such as 90s, 5m or 1h "
						       "(at most 24h), not '%s'", optarg);
			break;
		case 'F':
		case 'G': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > 86400)
				return cli_usage_error(c, "--dns-%s takes seconds, 1 to 86400",
						   ch == 'F' ? "floor" : "grace");
			if (ch == 'F')
				ao->dns_floor_s = v;
			else
				ao->dns_grace_s = v;
			break;
		}
		case 'D':
			if (!strcmp(optarg, "outbound"))
				ao->dir = SL_DIR_OUT;
			else if (!strcmp(optarg, "inbound"))
				ao->dir = SL_DIR_IN;
			else
				return cli_usage_error(c, "--direction takes outbound or inbound");
			break;
		case 'H':
			if (cli_parse_hook(optarg, &ao->hook))
				return cli_usage_error(c, "unknown hook '%s' (tc-egress, tc-ingress, xdp, cgroup)",
						   optarg);
			break;
		case 'X':
			if (!strcmp(optarg, "auto"))
				ao->xdp_mode = SL_XDP_AUTO;
			else if (!strcmp(optarg, "native"))
				ao->xdp_mode = SL_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				ao->xdp_mode = SL_XDP_GENERIC;
			else
				return cli_usage_error(c, "--xdp-mode takes auto, native or generic");
			break;
		case 'T':
			if (!strcmp(optarg, "auto"))
				ao->tc_mode = SL_TC_AUTO;
			else if (!strcmp(optarg, "tcx"))
				ao->tc_mode = SL_TC_TCX;
			else if (!strcmp(optarg, "clsact"))
				ao->tc_mode = SL_TC_CLSACT;
			else
				return cli_usage_error(c, "--tc-mode takes auto, tcx or clsact");
			break;
		default:
			return cli_usage_error(c, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return argc - optind == 2 && argv[optind + 1][0] != '-' ?
		       cli_usage_error(c, "unexpected argument '%s': name interfaces with --dev (sluice %s %s "
				       "--dev %s)", argv[optind + 1], c->name, argv[optind], argv[optind + 1]) :
		       cli_usage_error(c, "expected one rules file");
	if (ao->cgroup && ao->hook != SL_HOOK_CGROUP)
		ao->hook = SL_HOOK_CGROUP;      /* --cgroup implies --hook cgroup */
	if (ao->hook == SL_HOOK_CGROUP && (ao->ndevs || ao->netns))
		return cli_usage_error(c, "--hook cgroup takes --cgroup PATH, not --dev or --netns");
	if (ao->hook == SL_HOOK_CGROUP && !ao->cgroup)
		return cli_usage_error(c, "--hook cgroup needs --cgroup PATH");
	if (ao->dir == SL_DIR_IN && ao->hook == SL_HOOK_TC_EGRESS)
		return cli_usage_error(c, "--direction inbound judges arriving traffic: use --hook "
				       "tc-ingress, xdp or cgroup");
	return 0;
}

/* The rules file did not load: its errors (JSON or a summary line on stderr). */
static int load_failed(const char *file, struct sl_diags *d)
{
	if (cli_json) {
		struct sl_json j;
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kbool(&j, "ok", false);
		cli_json_diags(&j, d);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		fprintf(stderr, "%s: %zu error%s; nothing was loaded, the running ruleset is unchanged\n",
			file, d->nerrors, d->nerrors == 1 ? "" : "s");
	}
	sl_diag_free(d);
	return EXIT_USAGE;
}

int do_apply(int argc, char **argv)
{
	struct sl_settle st = { NULL, false };
	const struct cmd *c = cli_find_cmd("apply");
	const char *devs[SL_MAX_DEVS];
	struct sl_apply_opts ao;
	struct sl_apply_report rep;
	struct sl_ruleset rs, old;
	struct sl_source h;
	struct sl_diags d;
	char *path;
	bool have_old;
	int e;

	if ((e = apply_opts(c, argc, argv, &ao, devs)))
		return e;
	/* the files' settle wait (front/files.h) runs beside the load: checked
	 * before anything is attached; if a file changed, read and apply again */
	e = cli_load_rules_unsettled(argv[optind], &rs, &d, &st.check);
reload:
	if (e)
		return load_failed(argv[optind], &d);
	if (!cli_need_root()) {
		sl_rcheck_free(st.check);
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
		return EXIT_RUNTIME;
	}
	if (ao.ndevs == 0 && !ao.cgroup) {
		struct sl_instance in;

		if ((e = sl_instance_open(ao.instance, &in)) != 0) {
			sl_rcheck_free(st.check);
			sl_ruleset_free(&rs);
			sl_diag_free(&d);
			if (e != -ENOENT)       /* it said why (the lock, the pins, a layout it must not touch) */
				return EXIT_RUNTIME;
			return cli_usage_error(c, "instance '%s' is not attached anywhere: name an interface with --dev",
					   ao.instance);
		}
		sl_instance_close(&in);
	}
	have_old = cli_loaded_source(ao.instance, &h, &old);    /* for the summary */
	path = realpath(argv[optind], NULL);
	ao.rules_path = path;
	e = sl_apply_settled(&rs, &ao, &rep, &st);
	free(path);
	if (e == -ESTALE && st.changed) {
		fprintf(stderr, "sluice: %s changed while it was applied (nothing was attached or "
			"switched); reading it again\n", argv[optind]);
		if (have_old)
			sl_ruleset_free(&old);
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
		st.changed = false;
		e = cli_load_rules(argv[optind], &rs, &d);
		goto reload;
	}
	if (e == 0 && ao.confirm_s) {
		int pid = -1;

		if (sl_source_read(ao.instance, false, &h, NULL) || !h.confirm_deadline ||
		    (pid = cli_confirm_watchdog(ao.instance, rep.generation, h.confirm_deadline)) < 0)
			fprintf(stderr, "sluice: warning: cannot start the rollback watchdog: sluice run, or "
				"sluice confirm after the deadline, rolls back\n");
		else
			fprintf(stderr, "sluice: rollback watchdog: pid %d (log: /run/sluice/%s.confirm.log, "
				"syslog)\n", pid, ao.instance);
	}
	if (e == 0) {
		bool known = have_old || rep.generation == 1;

		if (cli_json) {
			struct sl_json j;
			sl_json_init(&j, stdout);
			sl_json_obj_open(&j);
			sl_json_kbool(&j, "ok", true);
			if (known)
				cli_apply_changes(have_old ? &old : NULL, &rs, &j);
			if (ao.confirm_s) {
				char dl[32];
				time_t t = (time_t)h.confirm_deadline;

				strftime(dl, sizeof(dl), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
				sl_json_kstr(&j, "pending_confirm", dl);
			} else {
				sl_json_kstr(&j, "pending_confirm", NULL);
			}
			sl_json_kstr(&j, "instance", ao.instance);
			sl_json_ku64(&j, "generation", rep.generation);
			sl_json_ku64(&j, "rules", rs.nrules);
			sl_json_ku64(&j, "attachments", rep.nattached);
			sl_json_ku64(&j, "new_attachments", rep.nnew);
			sl_json_ku64(&j, "restored_attachments", rep.nrestored);
			sl_json_ku64(&j, "bypassed_attachments", rep.nbypassed);
			sl_json_kdouble(&j, "load_ms", rep.load_ms);
			sl_json_kdouble(&j, "switch_ms", rep.switch_ms);
			cli_json_diags(&j, &d);
			sl_json_obj_close(&j);
			sl_json_end(&j);
		} else {
			printf("sluice: instance %s: generation %u (%zu rules) running on %zu attachment%s "
			       "(%zu new); loaded in %.1f ms, switched in %.1f ms\n",
			       ao.instance, rep.generation, rs.nrules, rep.nattached,
			       rep.nattached == 1 ? "" : "s", rep.nnew, rep.load_ms, rep.switch_ms);
			if (cli_count_hosts(&rs))
				printf("sluice: %zu host-name destinations are learned from DNS answers "
				       "(see: sluice learned)\n", cli_count_hosts(&rs));
			if (known)
				cli_apply_changes(have_old ? &old : NULL, &rs, NULL);
			else
				printf("sluice: changes: not known (the previous generation recorded no source)\n");
			if (ao.confirm_s) {
				char dl[32];
				time_t t = (time_t)h.confirm_deadline;

				strftime(dl, sizeof(dl), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
				printf("sluice: PENDING CONFIRMATION: generation %u rolls back at %s (in %us) "
				       "unless `sluice confirm%s%s` runs first\n", rep.generation, dl, ao.confirm_s,
				       strcmp(ao.instance, "default") ? " --instance " : "",
				       strcmp(ao.instance, "default") ? ao.instance : "");
			}
		}
		if (rep.nrestored && !cli_json)
			printf("sluice: %zu attachment%s had another program in front of sluice or in its "
			       "place: sluice runs first again\n", rep.nrestored, rep.nrestored == 1 ? "" : "s");
		if (rep.nbypassed) {
			fprintf(stderr, "sluice: instance %s: %zu attachment%s still BYPASSED (see above): "
				"traffic there can pass unfiltered\n", ao.instance, rep.nbypassed,
				rep.nbypassed == 1 ? " is" : "s are");
			e = -ENOLINK;
		}
		if (rep.nattached == 0) {
			fprintf(stderr, "sluice: warning: instance %s filters nothing: it has no attachment "
				"left (its interfaces or cgroups are gone); name one with --dev or --cgroup\n",
				ao.instance);
			e = -ENODEV;
		}
	}
	if (have_old)
		sl_ruleset_free(&old);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	return e == -ENODATA ? EXIT_USAGE : e ? EXIT_RUNTIME : 0;
}

/* Take run's --log-file FILE and --syslog out of argv before apply's options are parsed;
 * 0, or EXIT_USAGE (message printed). */
static int run_opts(int *argc, char **argv, struct sl_run_opts *ro)
{
	int o = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--syslog")) {
			ro->syslog = true;
		} else if (!strcmp(argv[i], "--log-file") || !strncmp(argv[i], "--log-file=", 11)) {
			if (argv[i][10] == '=') {
				ro->log_file = argv[i] + 11;
			} else if (i + 1 < *argc) {
				ro->log_file = argv[++i];
			} else {
				fprintf(stderr, "sluice: --log-file takes a file name\n");
				return EXIT_USAGE;
			}
			if (!*ro->log_file) {
				fprintf(stderr, "sluice: --log-file takes a file name\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		} else {
			argv[o++] = argv[i];
		}
	}
	argv[o] = NULL;
	*argc = o;
	return 0;
}

int do_run(int argc, char **argv)
{
	const struct cmd *c = cli_find_cmd("run");
	const char *devs[SL_MAX_DEVS];
	struct sl_apply_opts ao;
	struct sl_run_opts ro = { 0 };
	int e;

	if ((e = run_opts(&argc, argv, &ro)))           /* --log-file, --syslog */
		return e;
	if ((e = apply_opts(c, argc, argv, &ao, devs)))
		return e;
	if (cli_json)
		return cli_usage_error(c, "run logs to stderr; --json is not taken");
	if (!cli_need_root())
		return EXIT_RUNTIME;
	if (ao.ndevs == 0 && !ao.cgroup) {
		struct sl_instance in;

		int oe = sl_instance_open(ao.instance, &in);

		if (oe == -EPROTO)              /* a layout this sluice must not touch: said why */
			return EXIT_RUNTIME;
		if (oe != 0)
			return cli_usage_error(c, "instance '%s' is not attached anywhere: name an interface with --dev",
					   ao.instance);
		sl_instance_close(&in);
	}
	return sl_run(argv[optind], &ao, &ro);  /* its exit status: 2 for a rule error, as apply */
}

int do_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "dev", required_argument, NULL, 'd' },
		{ "all", no_argument, NULL, 'a' },
		{ "hook", required_argument, NULL, 'H' },
		{ "netns", required_argument, NULL, 'n' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ 0 }
	};
	const struct cmd *c = cli_find_cmd("detach");
	const char *inst = "default";
	struct sl_detach_opts dopt = { .hook = SL_HOOK_NONE };
	int ch;

	while ((ch = getopt_long(argc, argv, ":jvhi:d:an:", opts, NULL)) != -1) {
		if (cli_common_opt(ch, c, &inst))
			continue;
		switch (ch) {
		case 'n': dopt.netns = optarg; break;
		case 'd': dopt.dev = optarg; break;
		case 'C': dopt.cgroup = optarg; break;
		case 'a': dopt.all = true; break;
		case 'H':
			if (cli_parse_hook(optarg, &dopt.hook))
				return cli_usage_error(c, "unknown hook '%s'", optarg);
			break;
		default: return cli_usage_error(c, "unknown option");
		}
	}
	if (optind != argc || (!!dopt.dev + !!dopt.cgroup + dopt.all) != 1)
		return cli_usage_error(c, "give one of --dev IFACE, --cgroup PATH or --all");
	if (!cli_need_root())
		return EXIT_RUNTIME;
	if (sl_detach(inst, &dopt))
		return EXIT_RUNTIME;
	if (!cli_json)
		printf("sluice: instance %s detached from %s\n", inst,
		       dopt.all ? "everything" : dopt.dev ? dopt.dev : dopt.cgroup);
	else
		printf("{\"ok\":true}\n");
	return 0;
}
