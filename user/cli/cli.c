// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - the sluice command line: one table of commands, each with its own
 * options and --help.  Exit status: 0 ok, 1 runtime failure, 2 usage or
 * rule error.  -j/--json prints one JSON document (bpftool's convention).
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

#include <bpf/bpf.h>

#include "cli/cli.h"
#include "util/json.h"
#include "daemon/run.h"
#include "kernel/kernel.h"
#include "sl.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *summary;
	const char *help;       /* options, one per line */
};

static bool json;

/* Options every command takes. */
#define COMMON_OPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "instance", required_argument, NULL, 'i' }

static const struct cmd *find_cmd(const char *name);
static void cmd_usage(const struct cmd *c, FILE *out);

/* Handle an option common to all commands; returns false if unknown. */
static bool common_opt(int ch, const struct cmd *c, const char **instance)
{
	switch (ch) {
	case 'j':
		json = true;
		return true;
	case 'v':
		sl_loader_verbose(true);
		return true;
	case 'i':
		*instance = optarg;
		return true;
	case 'h':
		cmd_usage(c, stdout);
		exit(0);
	default:
		return false;
	}
}

static int usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: sluice %s %s\n(see: sluice %s --help)\n", c->name, c->args, c->name);
	return EXIT_USAGE;
}

static bool need_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "sluice: this command needs root (CAP_BPF and CAP_NET_ADMIN); run it with sudo\n");
	return false;
}

/* Load a rules file and print its diagnostics on stderr (not with --json:
 * the caller puts them in the document); only errors if !warnings. */
static int load_rules_diag(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			   bool warnings)
{
	int e;

	memset(rs, 0, sizeof(*rs));
	memset(d, 0, sizeof(*d));
	e = sl_ruleset_load(path, rs, d);
	if (json)
		return e;
	if (warnings) {
		sl_diag_print(d, stderr);
	} else if (d->nerrors) {
		struct sl_diags errs = { .v = calloc(d->n, sizeof(*d->v)) };

		for (size_t i = 0; errs.v && i < d->n; i++)
			if (d->v[i].sev == SL_SEV_ERROR)
				errs.v[errs.n++] = d->v[i];
		sl_diag_print(&errs, stderr);
		free(errs.v);
	}
	return e;
}

static int load_rules(const char *path, struct sl_ruleset *rs, struct sl_diags *d)
{
	return load_rules_diag(path, rs, d, true);
}

static const char *sev_name(enum sl_sev s)
{
	return s == SL_SEV_ERROR ? "error" : s == SL_SEV_WARNING ? "warning" : "note";
}

static void json_diags(struct sl_json *j, const struct sl_diags *d)
{
	sl_json_key(j, "diagnostics");
	sl_json_arr_open(j);
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_diag *g = &d->v[i];

		sl_json_obj_open(j);
		sl_json_kstr(j, "severity", sev_name(g->sev));
		sl_json_kstr(j, "file", g->pos.file);
		sl_json_ku64(j, "line", g->pos.line);
		sl_json_ku64(j, "column", g->pos.col);
		sl_json_kstr(j, "message", g->msg);
		sl_json_kstr(j, "hint", g->hint);
		sl_json_obj_close(j);
	}
	sl_json_arr_close(j);
}

static size_t count_hosts(const struct sl_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		n += rs->rules[i].nhosts;
	return n;
}

/* ------------------------------------------------------------ check */

static int do_check(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = find_cmd("check");
	const char *inst = NULL;
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_image img = {0};
	int ch, e, rc = 0;

	while ((ch = getopt_long(argc, argv, "jvhi:", opts, NULL)) != -1)
		if (!common_opt(ch, c, &inst))
			return usage_error(c, "unknown option");
	if (optind + 1 != argc)
		return usage_error(c, "expected one rules file");
	e = load_rules(argv[optind], &rs, &d);
	if (e == 0) {
		e = sl_compile(&rs, NULL, 0, &img);
		if (e) {
			fprintf(stderr, "sluice: %s: cannot compile: %s\n", argv[optind], strerror(-e));
			rc = EXIT_RUNTIME;
		}
	} else {
		rc = EXIT_USAGE;
	}
	if (json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "file", argv[optind]);
		sl_json_kbool(&j, "ok", rc == 0);
		sl_json_ku64(&j, "errors", d.nerrors);
		sl_json_ku64(&j, "warnings", d.nwarnings);
		json_diags(&j, &d);
		if (rc == 0) {
			sl_json_ku64(&j, "rules", rs.nrules);
			sl_json_ku64(&j, "prefixes4", img.ndst4);
			sl_json_ku64(&j, "prefixes6", img.ndst6);
			sl_json_ku64(&j, "classes", img.nclasses);
			sl_json_ku64(&j, "port_entries", img.nports);
			sl_json_ku64(&j, "host_names", count_hosts(&rs));
		}
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else if (rc == 0) {
		printf("%s: ok: %zu rules, %zu IPv4 and %zu IPv6 prefixes, %u policy classes, "
		       "%zu port entries; %zu warnings\n",
		       argv[optind], rs.nrules, img.ndst4, img.ndst6, img.nclasses, img.nports,
		       d.nwarnings);
	} else if (e == -EINVAL) {
		fprintf(stderr, "%s: %zu errors, %zu warnings; nothing was loaded\n",
			argv[optind], d.nerrors, d.nwarnings);
	}
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	return rc;
}

/* ------------------------------------------------------------ apply */

static int parse_hook(const char *s, enum sl_hook *h)
{
	static const enum sl_hook hooks[] = {
		SL_HOOK_TC_EGRESS, SL_HOOK_TC_INGRESS, SL_HOOK_XDP, SL_HOOK_CGROUP,
	};

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(s, sl_hook_name(hooks[i]))) {
			*h = hooks[i];
			return 0;
		}
	return -EINVAL;
}

#define APPLY_OPTS \
	COMMON_OPTS, \
	{ "dev", required_argument, NULL, 'd' }, \
	{ "hook", required_argument, NULL, 'H' }, \
	{ "tc-mode", required_argument, NULL, 'T' }, \
	{ "netns", required_argument, NULL, 'n' }, \
	{ "cgroup", required_argument, NULL, 'C' }, \
	{ "xdp-mode", required_argument, NULL, 'X' }, \
	{ "dns-floor", required_argument, NULL, 'F' }, \
	{ "dns-grace", required_argument, NULL, 'G' }

/* The options of apply (and run): 0, or the exit status of a usage error. */
static int apply_opts(const struct cmd *c, int argc, char **argv, struct sl_apply_opts *ao,
		      const char **devs)
{
	static const struct option opts[] = { APPLY_OPTS, { 0 } };
	int ch;

	*ao = (struct sl_apply_opts){ .instance = "default", .devs = devs, .hook = SL_HOOK_TC_EGRESS };
	while ((ch = getopt_long(argc, argv, "jvhi:d:n:", opts, NULL)) != -1) {
		if (common_opt(ch, c, &ao->instance))
			continue;
		switch (ch) {
		case 'n':
			ao->netns = optarg;
			break;
		case 'd':
			if (ao->ndevs == SL_MAX_DEVS)
				return usage_error(c, "at most %d --dev", SL_MAX_DEVS);
			devs[ao->ndevs++] = optarg;
			break;
		case 'C':
			ao->cgroup = optarg;
			break;
		case 'F':
		case 'G': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > 86400)
				return usage_error(c, "--dns-%s takes seconds, 1 to 86400",
						   ch == 'F' ? "floor" : "grace");
			if (ch == 'F')
				ao->dns_floor_s = v;
			else
				ao->dns_grace_s = v;
			break;
		}
		case 'H':
			if (parse_hook(optarg, &ao->hook))
				return usage_error(c, "unknown hook '%s' (tc-egress, tc-ingress, xdp, cgroup)",
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
				return usage_error(c, "--xdp-mode takes auto, native or generic");
			break;
		case 'T':
			if (!strcmp(optarg, "auto"))
				ao->tc_mode = SL_TC_AUTO;
			else if (!strcmp(optarg, "tcx"))
				ao->tc_mode = SL_TC_TCX;
			else if (!strcmp(optarg, "clsact"))
				ao->tc_mode = SL_TC_CLSACT;
			else
				return usage_error(c, "--tc-mode takes auto, tcx or clsact");
			break;
		default:
			return usage_error(c, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return usage_error(c, "expected one rules file");
	if (ao->cgroup && ao->hook != SL_HOOK_CGROUP)
		ao->hook = SL_HOOK_CGROUP;      /* --cgroup implies --hook cgroup */
	if (ao->hook == SL_HOOK_CGROUP && (ao->ndevs || ao->netns))
		return usage_error(c, "--hook cgroup takes --cgroup PATH, not --dev or --netns");
	if (ao->hook == SL_HOOK_CGROUP && !ao->cgroup)
		return usage_error(c, "--hook cgroup needs --cgroup PATH");
	return 0;
}

static int do_apply(int argc, char **argv)
{
	const struct cmd *c = find_cmd("apply");
	const char *devs[SL_MAX_DEVS];
	struct sl_apply_opts ao;
	struct sl_apply_report rep;
	struct sl_ruleset rs;
	struct sl_diags d;
	int e;

	if ((e = apply_opts(c, argc, argv, &ao, devs)))
		return e;
	e = load_rules(argv[optind], &rs, &d);
	if (e) {
		if (json) {
			struct sl_json j;
			sl_json_init(&j, stdout);
			sl_json_obj_open(&j);
			sl_json_kbool(&j, "ok", false);
			json_diags(&j, &d);
			sl_json_obj_close(&j);
			sl_json_end(&j);
		} else {
			fprintf(stderr, "%s: %zu errors; nothing was loaded, the running ruleset is unchanged\n",
				argv[optind], d.nerrors);
		}
		sl_diag_free(&d);
		return EXIT_USAGE;
	}
	if (!need_root()) {
		sl_ruleset_free(&rs);
		sl_diag_free(&d);
		return EXIT_RUNTIME;
	}
	if (ao.ndevs == 0 && !ao.cgroup) {
		struct sl_instance in;

		if (sl_instance_open(ao.instance, &in) != 0) {
			sl_ruleset_free(&rs);
			sl_diag_free(&d);
			return usage_error(c, "instance '%s' is not attached anywhere: name an interface with --dev",
					   ao.instance);
		}
		sl_instance_close(&in);
	}
	e = sl_apply(&rs, &ao, &rep);
	if (e == 0) {
		if (json) {
			struct sl_json j;
			sl_json_init(&j, stdout);
			sl_json_obj_open(&j);
			sl_json_kbool(&j, "ok", true);
			sl_json_kstr(&j, "instance", ao.instance);
			sl_json_ku64(&j, "generation", rep.generation);
			sl_json_ku64(&j, "rules", rs.nrules);
			sl_json_ku64(&j, "attachments", rep.nattached);
			sl_json_ku64(&j, "new_attachments", rep.nnew);
			sl_json_kdouble(&j, "load_ms", rep.load_ms);
			sl_json_kdouble(&j, "switch_ms", rep.switch_ms);
			json_diags(&j, &d);
			sl_json_obj_close(&j);
			sl_json_end(&j);
		} else {
			printf("sluice: instance %s: generation %u (%zu rules) running on %zu attachment%s "
			       "(%zu new); loaded in %.1f ms, switched in %.1f ms\n",
			       ao.instance, rep.generation, rs.nrules, rep.nattached,
			       rep.nattached == 1 ? "" : "s", rep.nnew, rep.load_ms, rep.switch_ms);
			if (count_hosts(&rs))
				printf("sluice: %zu host-name destinations are learned from DNS answers "
				       "(see: sluice learned)\n", count_hosts(&rs));
		}
	}
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	return e ? EXIT_RUNTIME : 0;
}

/* ------------------------------------------------------------ run */

static int do_run(int argc, char **argv)
{
	const struct cmd *c = find_cmd("run");
	const char *devs[SL_MAX_DEVS];
	struct sl_apply_opts ao;
	int e;

	if ((e = apply_opts(c, argc, argv, &ao, devs)))
		return e;
	if (json)
		return usage_error(c, "run logs to stderr; --json is not taken");
	if (!need_root())
		return EXIT_RUNTIME;
	if (ao.ndevs == 0 && !ao.cgroup) {
		struct sl_instance in;

		if (sl_instance_open(ao.instance, &in) != 0)
			return usage_error(c, "instance '%s' is not attached anywhere: name an interface with --dev",
					   ao.instance);
		sl_instance_close(&in);
	}
	return sl_run(argv[optind], &ao) ? EXIT_RUNTIME : 0;
}

/* ------------------------------------------------------------ detach */

static int do_detach(int argc, char **argv)
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
	const struct cmd *c = find_cmd("detach");
	const char *inst = "default";
	struct sl_detach_opts dopt = { .hook = SL_HOOK_NONE };
	int ch;

	while ((ch = getopt_long(argc, argv, "jvhi:d:an:", opts, NULL)) != -1) {
		if (common_opt(ch, c, &inst))
			continue;
		switch (ch) {
		case 'n': dopt.netns = optarg; break;
		case 'd': dopt.dev = optarg; break;
		case 'C': dopt.cgroup = optarg; break;
		case 'a': dopt.all = true; break;
		case 'H':
			if (parse_hook(optarg, &dopt.hook))
				return usage_error(c, "unknown hook '%s'", optarg);
			break;
		default: return usage_error(c, "unknown option");
		}
	}
	if (optind != argc || (!!dopt.dev + !!dopt.cgroup + dopt.all) != 1)
		return usage_error(c, "give one of --dev IFACE, --cgroup PATH or --all");
	if (!need_root())
		return EXIT_RUNTIME;
	if (sl_detach(inst, &dopt))
		return EXIT_RUNTIME;
	if (!json)
		printf("sluice: instance %s detached from %s\n", inst,
		       dopt.all ? "everything" : dopt.dev ? dopt.dev : dopt.cgroup);
	else
		printf("{\"ok\":true}\n");
	return 0;
}

/* ------------------------------------------------------------ status */

static const char *policy_name(int p) { return p == SL_POLICY_ALLOW ? "allow" : "drop"; }
static const char *mode_name(int m) { return m == SL_MODE_AUDIT ? "audit" : "enforce"; }

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
static void json_attach(struct sl_json *j, const struct sl_instance *in, uint32_t k,
			const struct sl_attach *a, bool detail)
{
	struct sl_att_ctr ac;

	sl_read_att_ctr(in->att_ctr_fd, k, &ac);
	sl_json_obj_open(j);
	sl_json_kstr(j, "hook", sl_hook_name(a->hook));
	if (a->hook == SL_HOOK_CGROUP) {
		sl_json_kstr(j, "cgroup", a->cgroup);
		sl_json_ku64(j, "cgroup_id", a->cgroup_id);
	} else {
		sl_json_kstr(j, "dev", a->ifname);
		sl_json_kstr(j, "netns", a->netns[0] ? a->netns : NULL);
		sl_json_ku64(j, "ifindex", a->ifindex);
	}
	sl_json_kstr(j, "mode", att_mode(a));
	if (detail) {
		char since[32];
		time_t t = (time_t)a->since;

		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		sl_json_ku64(j, "prog_id", sl_attach_prog_id(in, k));
		if (a->kind == SL_ATT_CLSACT) {
			sl_json_ku64(j, "handle", a->handle);
			sl_json_ku64(j, "priority", a->priority);
		} else {
			sl_json_ku64(j, "link_id", a->link_id);
		}
		sl_json_kstr(j, "since", since);
		sl_json_kbool(j, "alive", sl_attach_alive(in, a));
	}
	sl_json_ku64(j, "pass_packets", ac.pass_packets);
	sl_json_ku64(j, "pass_bytes", ac.pass_bytes);
	sl_json_ku64(j, "drop_packets", ac.drop_packets);
	sl_json_ku64(j, "drop_bytes", ac.drop_bytes);
	sl_json_obj_close(j);
}

static int status_one(const char *name, struct sl_json *j)
{
	struct sl_instance in;
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_rule_meta *meta;
	size_t nrules = 0;
	struct sl_image img;
	int e;

	if ((e = sl_instance_open(name, &in)))
		return e;
	meta = calloc(SL_MAX_RULES, sizeof(*meta));
	if (!meta || sl_read_rule_meta(in.rules_fd, meta) || sl_read_attach(in.attach_fd, att) ||
	    sl_image_from_maps(&in, &img)) {
		free(meta);
		sl_instance_close(&in);
		return -EIO;
	}
	for (size_t s = 0; s < SL_MAX_RULES; s++)
		nrules += meta[s].action != SL_ACT_NONE;
	if (j) {
		sl_json_obj_open(j);
		sl_json_kstr(j, "instance", name);
		sl_json_ku64(j, "generation", in.cfg.generation);
		sl_json_kstr(j, "policy", policy_name(in.cfg.policy));
		sl_json_kstr(j, "mode", mode_name(in.cfg.mode));
		sl_json_kbool(j, "control_pass", in.cfg.control_pass);
		sl_json_ku64(j, "rules", nrules);
		sl_json_ku64(j, "prefixes4", img.ndst4);
		sl_json_ku64(j, "prefixes6", img.ndst6);
		sl_json_ku64(j, "port_entries", img.nports);
		sl_json_key(j, "attachments");
		sl_json_arr_open(j);
	} else {
		printf("instance %s: generation %u, policy %s, mode %s, %zu rules, %zu IPv4 + %zu IPv6 "
		       "prefixes\n", name, in.cfg.generation, policy_name(in.cfg.policy),
		       mode_name(in.cfg.mode), nrules, img.ndst4, img.ndst6);
	}
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
		const struct sl_attach *a = &att[k];

		if (a->hook == SL_HOOK_NONE)
			continue;
		if (j) {
			json_attach(j, &in, k, a, true);
		} else {
			char where[96], since[32];
			time_t t = (time_t)a->since;
			struct sl_att_ctr ac;

			sl_read_att_ctr(in.att_ctr_fd, k, &ac);
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			att_where(a, where, sizeof(where));
			printf("  %-10s %-24s %-11s prog %u ", sl_hook_name(a->hook), where, att_mode(a),
			       sl_attach_prog_id(&in, k));
			if (a->kind == SL_ATT_CLSACT)
				printf("handle %u prio %u", a->handle, a->priority);
			else
				printf("link %u", a->link_id);
			printf("  since %s  passed %llu dropped %llu%s\n", since,
			       (unsigned long long)ac.pass_packets, (unsigned long long)ac.drop_packets,
			       sl_attach_alive(&in, a) ? "" : "  (GONE: interface, cgroup or link removed)");
		}
	}
	if (j) {
		sl_json_arr_close(j);
		sl_json_obj_close(j);
	}
	sl_image_free(&img);
	free(meta);
	sl_instance_close(&in);
	return 0;
}

static int do_status(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = find_cmd("status");
	const char *inst = NULL;
	char **names = NULL;
	size_t n = 0;
	struct sl_json j;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "jvhi:", opts, NULL)) != -1)
		if (!common_opt(ch, c, &inst))
			return usage_error(c, "unknown option");
	if (optind != argc)
		return usage_error(c, "no arguments expected");
	if (!need_root())
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
	if (json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_key(&j, "instances");
		sl_json_arr_open(&j);
	} else if (n == 0) {
		printf("sluice: no instance is loaded (see: sluice apply --help)\n");
	}
	for (size_t i = 0; i < n; i++) {
		int e = status_one(names[i], json ? &j : NULL);

		if (e == -ENOENT) {
			fprintf(stderr, "sluice: instance '%s' is not loaded\n", names[i]);
			rc = EXIT_RUNTIME;
		} else if (e) {
			rc = EXIT_RUNTIME;
		}
		free(names[i]);
	}
	free(names);
	if (json) {
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	}
	return rc;
}

/* ------------------------------------------------------------ stats */

static const char *ipproto_name(int p, char *buf, size_t sz)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmpv6";
	default:
		snprintf(buf, sz, "proto-%d", p);
		return buf;
	}
}

/*
 * Open a loaded instance (root) and read its rule metadata: what stats,
 * learned, lookup and dump start from.  Returns 0 or an exit status (the
 * reason printed; @hint says what to do when the instance is not loaded).
 */
static int instance_meta_open(const char *inst, const char *hint, struct sl_instance *in,
			      struct sl_rule_meta **meta)
{
	int e;

	*meta = NULL;
	if (!need_root())
		return EXIT_RUNTIME;
	e = sl_instance_open(inst, in);
	if (e == -ENOENT)
		fprintf(stderr, "sluice: instance '%s' is not loaded; %s\n", inst, hint);
	if (e)
		return EXIT_RUNTIME;
	*meta = calloc(SL_MAX_RULES, sizeof(**meta));
	if (!*meta || sl_read_rule_meta(in->rules_fd, *meta)) {
		fprintf(stderr, "sluice: %s/%s/rules: cannot read\n", SL_PIN_ROOT, inst);
		free(*meta);
		*meta = NULL;
		sl_instance_close(in);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* The DNS learner's counters: a JSON object under @key, or one text line. */
static void learn_ctrs(struct sl_json *j, const char *key, const struct sl_instance *in)
{
	if (in->learn_ctr_fd < 0)
		return;
	if (j) {
		sl_json_key(j, key);
		sl_json_obj_open(j);
	}
	for (uint32_t k = 0; k < SL_L_MAX; k++) {
		uint64_t v = 0;

		sl_learn_ctr_read(in->learn_ctr_fd, k, &v);
		if (j)
			sl_json_ku64(j, sl_learn_ctr_name(k), v);
		else
			printf("%s%s %llu", k ? ", " : "dns: ", sl_learn_ctr_name(k), (unsigned long long)v);
	}
	if (j)
		sl_json_obj_close(j);
	else
		printf("\n");
}

static int do_stats(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	static const char *const gnames[SL_G_MAX] = {
		[SL_G_POLICY_PASS] = "policy_pass", [SL_G_POLICY_DROP] = "policy_drop",
		[SL_G_MALFORMED] = "malformed", [SL_G_NON_IP] = "non_ip",
		[SL_G_FRAGMENTS] = "fragments", [SL_G_CONTROL] = "control",
		[SL_G_AUDIT_PASS] = "audit_pass",
	};
	const struct cmd *c = find_cmd("stats");
	const char *inst = "default";
	struct sl_instance in;
	struct sl_rule_meta *meta;
	struct sl_global_ctr g[SL_G_MAX];
	struct sl_attach att[SL_MAX_ATTACH];
	uint32_t order[SL_MAX_RULES];
	size_t n = 0;
	struct sl_json j;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jvhi:", opts, NULL)) != -1)
		if (!common_opt(ch, c, &inst))
			return usage_error(c, "unknown option");
	if (optind != argc)
		return usage_error(c, "no arguments expected");
	if ((e = instance_meta_open(inst, "see: sluice status", &in, &meta)))
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
	for (uint32_t s = 0; s < SL_MAX_RULES; s++)
		if (meta[s].action != SL_ACT_NONE)
			order[n++] = s;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && meta[order[b - 1]].index > meta[order[b]].index; b--) {
			uint32_t t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	if (json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "instance", inst);
		sl_json_ku64(&j, "generation", in.cfg.generation);
		sl_json_kstr(&j, "mode", mode_name(in.cfg.mode));
		sl_json_key(&j, "rules");
		sl_json_arr_open(&j);
	} else {
		printf("instance %s, generation %u, policy %s, mode %s\n", inst, in.cfg.generation,
		       policy_name(in.cfg.policy), mode_name(in.cfg.mode));
		printf("%-24s %6s %14s %16s %14s %16s  %s\n", "RULE", "ACTION", "PASS PKTS", "PASS BYTES",
		       "DROP PKTS", "DROP BYTES", "NEAR MISSES");
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_rule_ctr r;
		char pb[16], miss[64] = "";

		sl_read_rule_ctr(in.counters_fd, order[i], &r);
		if (r.near_miss_packets)
			snprintf(miss, sizeof(miss), "%s/%u", ipproto_name(r.last_miss_proto, pb, sizeof(pb)),
				 r.last_miss_port);
		if (json) {
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
	if (json) {
		sl_json_arr_close(&j);
		sl_json_key(&j, "policy");
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "action", policy_name(in.cfg.policy));
		sl_json_ku64(&j, "pass_packets", g[SL_G_POLICY_PASS].packets);
		sl_json_ku64(&j, "pass_bytes", g[SL_G_POLICY_PASS].bytes);
		sl_json_ku64(&j, "drop_packets", g[SL_G_POLICY_DROP].packets);
		sl_json_ku64(&j, "drop_bytes", g[SL_G_POLICY_DROP].bytes);
		sl_json_obj_close(&j);
		for (int i = SL_G_MALFORMED; i < SL_G_MAX; i++)
			sl_json_ku64(&j, gnames[i], g[i].packets);
		sl_json_key(&j, "attachments");
		sl_json_arr_open(&j);
		for (uint32_t k = 0; k < SL_MAX_ATTACH; k++)
			if (att[k].hook != SL_HOOK_NONE)
				json_attach(&j, &in, k, &att[k], false);
		sl_json_arr_close(&j);
		learn_ctrs(&j, "dns", &in);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("%-24s %6s %14llu %16llu %14llu %16llu\n",
		       "(policy)", policy_name(in.cfg.policy), g[SL_G_POLICY_PASS].packets,
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
			printf("attachment %-10s %-24s passed %llu packets (%llu bytes), dropped %llu (%llu bytes)\n",
			       sl_hook_name(att[k].hook), where, (unsigned long long)ac.pass_packets,
			       (unsigned long long)ac.pass_bytes, (unsigned long long)ac.drop_packets,
			       (unsigned long long)ac.drop_bytes);
		}
		learn_ctrs(NULL, NULL, &in);
	}
	free(meta);
	sl_instance_close(&in);
	return 0;
}

/*
 * The image a command reads: compiled from a rules file (no root), or read
 * back from the loaded maps of an instance.  Returns 0 or an exit status.
 */
struct image_src {
	struct sl_ruleset rs;
	struct sl_image img;
	struct sl_instance in;
	struct sl_rule_meta *meta;      /* loaded maps only */
	bool from_file;
};

static int image_open(struct image_src *src, const char *rules, const char *inst, const char *hint)
{
	struct sl_diags d;
	int e;

	memset(src, 0, sizeof(*src));
	src->in.config_fd = -1;
	src->from_file = rules != NULL;
	if (rules) {
		e = load_rules_diag(rules, &src->rs, &d, false);
		sl_diag_free(&d);
		if (e)
			return EXIT_USAGE;
		if ((e = sl_compile(&src->rs, NULL, 0, &src->img))) {
			fprintf(stderr, "sluice: %s: cannot compile: %s\n", rules, strerror(-e));
			sl_ruleset_free(&src->rs);
			return EXIT_RUNTIME;
		}
		return 0;
	}
	if ((e = instance_meta_open(inst, hint, &src->in, &src->meta)))
		return e;
	if (sl_image_from_maps(&src->in, &src->img)) {
		fprintf(stderr, "sluice: %s/%s: cannot read the loaded tables\n", SL_PIN_ROOT, inst);
		free(src->meta);
		sl_instance_close(&src->in);
		return EXIT_RUNTIME;
	}
	return 0;
}

static void image_close(struct image_src *src)
{
	free(src->meta);
	sl_image_free(&src->img);
	if (src->from_file)
		sl_ruleset_free(&src->rs);
	else
		sl_instance_close(&src->in);
}

/* ------------------------------------------------------------ lookup */

static int parse_proto(const char *s, uint8_t *proto)
{
	char *end;
	long v;

	if (!strcmp(s, "tcp")) *proto = 6;
	else if (!strcmp(s, "udp")) *proto = 17;
	else if (!strcmp(s, "icmp")) *proto = 1;
	else if (!strcmp(s, "icmpv6")) *proto = 58;
	else {
		v = strtol(s, &end, 10);
		if (*s == '\0' || *end || v < 0 || v > 255)
			return -EINVAL;
		*proto = v;
	}
	return 0;
}

static const char *slot_name(const struct sl_image *img, const struct sl_rule_meta *meta,
			     uint16_t slot)
{
	int r;

	if (slot == SL_NO_RULE)
		return NULL;
	if (img->rs) {
		r = sl_image_rule_of_slot(img, slot);
		return r >= 0 ? img->rs->rules[r].name : NULL;
	}
	if (meta && slot < SL_MAX_RULES && meta[slot].action != SL_ACT_NONE)
		return meta[slot].name;
	return NULL;
}

static int do_lookup(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "rules", required_argument, NULL, 'r' },
		{ "fragment", no_argument, NULL, 'f' },
		{ 0 }
	};
	const struct cmd *c = find_cmd("lookup");
	const char *inst = "default", *rules = NULL, *name;
	struct image_src src;
	const struct sl_image *img = &src.img;
	bool learned = false;
	struct sl_pkt p = {0};
	struct sl_result res, ref;
	char pbuf[16], addr[INET6_ADDRSTRLEN], detail[256];
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "jvhi:r:f", opts, NULL)) != -1) {
		if (common_opt(ch, c, &inst))
			continue;
		switch (ch) {
		case 'r': rules = optarg; break;
		case 'f': p.fragment = true; break;
		default: return usage_error(c, "unknown option");
		}
	}
	if (optind >= argc || argc - optind > 3)
		return usage_error(c, "expected ADDRESS [PROTO [PORT]]");
	if (inet_pton(AF_INET, argv[optind], p.dst) == 1) {
		p.family = AF_INET;
	} else if (inet_pton(AF_INET6, argv[optind], p.dst) == 1) {
		p.family = AF_INET6;
	} else {
		return usage_error(c, "'%s' is not an IPv4 or IPv6 address", argv[optind]);
	}
	p.kind = SL_PK_IP;
	p.proto = 6;
	p.port = 443;
	if (argc - optind >= 2 && parse_proto(argv[optind + 1], &p.proto))
		return usage_error(c, "'%s' is not a protocol (tcp, udp, icmp, icmpv6 or 0-255)",
				   argv[optind + 1]);
	if (argc - optind >= 2)
		p.port = 0;
	if (argc - optind == 3) {
		char *end;
		long v = strtol(argv[optind + 2], &end, 10);

		if (p.proto != 6 && p.proto != 17)
			return usage_error(c, "a port needs tcp or udp");
		if (!*argv[optind + 2] || *end || v < 0 || v > 65535)
			return usage_error(c, "'%s' is not a port (0-65535)", argv[optind + 2]);
		p.port = v;
	} else if (argc - optind == 2 && (p.proto == 6 || p.proto == 17)) {
		return usage_error(c, "give a port for %s", argv[optind + 1]);
	}
	if (p.fragment)
		p.port = 0;
	if ((rc = image_open(&src, rules, inst, "use --rules FILE to look up in a rules file")))
		return rc;
	sl_image_lookup(img, &p, &res);
	/* From the loaded maps: an address learned from DNS answers takes part
	 * in first match with its live name classes, as on the data path. */
	if (!src.from_file && src.in.learned_fd >= 0) {
		struct sl_addr_key ak = { .family = p.family == AF_INET ? 4 : 6 };
		struct sl_learned_val lv;
		uint32_t ncls[SL_LEARN_SLOTS];
		struct timespec ts;
		uint64_t now;
		size_t n = 0;

		memcpy(ak.addr, p.dst, p.family == AF_INET ? 4 : 16);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		if (bpf_map_lookup_elem(src.in.learned_fd, &ak, &lv) == 0)
			for (int i = 0; i < SL_LEARN_SLOTS; i++)
				if (lv.s[i].expires_ns > now)
					ncls[n++] = lv.s[i].ncls;
		if (n) {
			sl_image_lookup_learned(img, &p, ncls, n, &res);
			learned = true;
		}
	}
	if (src.from_file) {
		/* The compiled tables and the reference semantics must agree. */
		sl_classify_pkt(img, &p, 1, &ref);
		if (ref.verdict != res.verdict || ref.reason != res.reason || ref.rule != res.rule) {
			fprintf(stderr, "sluice: internal error: the compiled tables say %s/%s/%u but the "
				"reference classifier says %s/%s/%u; please report this with the rules file\n",
				res.verdict ? "pass" : "drop", sl_reason_name(res.reason), res.rule,
				ref.verdict ? "pass" : "drop", sl_reason_name(ref.reason), ref.rule);
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	name = slot_name(img, src.meta, res.rule);
	inet_ntop(p.family, p.dst, addr, sizeof(addr));
	{
		char what[32];

		if (p.proto == 6 || p.proto == 17)
			snprintf(what, sizeof(what), "%s/%u%s", ipproto_name(p.proto, pbuf, sizeof(pbuf)),
				 p.port, p.fragment ? " fragment" : "");
		else
			snprintf(what, sizeof(what), "%s", ipproto_name(p.proto, pbuf, sizeof(pbuf)));
		switch (res.reason) {
		case SL_R_RULE: {
			int ri = sl_image_rule_of_slot(img, res.rule);
			int act = img->rs && ri >= 0 ? (int)img->rs->rules[ri].action :
				  src.meta && res.rule < SL_MAX_RULES ? src.meta[res.rule].action : SL_ACT_NONE;

			snprintf(detail, sizeof(detail), "rule %s %s %s to %s%s", name ? name : "?",
				 act == SL_ACT_ALLOW ? "allows" : "denies", what, addr,
				 img->cfg.mode == SL_MODE_AUDIT && act == SL_ACT_DENY ? " (audit mode: passed)" : "");
			break;
		}
		case SL_R_NEAR_MISS:
			snprintf(detail, sizeof(detail), "the address matches rule %s but %s is not allowed "
				 "there; policy %s", name ? name : "?", what, policy_name(img->cfg.policy));
			break;
		case SL_R_POLICY:
			snprintf(detail, sizeof(detail), "no rule covers %s; policy %s", addr,
				 policy_name(img->cfg.policy));
			break;
		case SL_R_CONTROL:
			snprintf(detail, sizeof(detail), "link-local control traffic passes unjudged "
				 "(control pass)");
			break;
		default:
			snprintf(detail, sizeof(detail), "%s", sl_reason_name(res.reason));
		}
		if (learned)
			strncat(detail, " (the address was learned from DNS answers; see: sluice learned)",
				sizeof(detail) - strlen(detail) - 1);
	}
	if (json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "verdict", res.verdict == SL_V_PASS ? "allow" : "drop");
		sl_json_kstr(&j, "rule", name);
		sl_json_kstr(&j, "reason", sl_reason_name(res.reason));
		sl_json_kstr(&j, "detail", detail);
		sl_json_kstr(&j, "address", addr);
		sl_json_kstr(&j, "proto", ipproto_name(p.proto, pbuf, sizeof(pbuf)));
		sl_json_ku64(&j, "port", p.port);
		sl_json_kstr(&j, "mode", mode_name(img->cfg.mode));
		sl_json_kbool(&j, "learned", learned);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("%s: %s\n", res.verdict == SL_V_PASS ? "allow" : "drop", detail);
	}
out:
	image_close(&src);
	return rc;
}

/* ------------------------------------------------------------ dump */

static const char *pslot_name(int s)
{
	static const char *const n[SL_PSLOTS] = { "other", "tcp", "udp", "icmp", "icmpv6" };
	return s < SL_PSLOTS ? n[s] : "?";
}

static const char *action_name(int a)
{
	return a == SL_ACT_ALLOW ? "allow" : a == SL_ACT_DENY ? "deny" : "none";
}

static void dump_dst(struct sl_json *j, const struct sl_image *img, const struct sl_rule_meta *meta,
		     int family, const uint8_t *addr, uint32_t plen, const struct sl_dst_val *v)
{
	char a[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8];
	const char *near = slot_name(img, meta, v->near_rule);

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(pfx, sizeof(pfx), "%s/%u", a, plen);
	if (j) {
		sl_json_obj_open(j);
		sl_json_kstr(j, "prefix", pfx);
		sl_json_ku64(j, "class", v->class_id);
		sl_json_kstr(j, "near_rule", near);
		sl_json_key(j, "fragments");
		sl_json_obj_open(j);
		for (int s = 0; s < SL_PSLOTS; s++) {
			sl_json_key(j, pslot_name(s));
			if (v->frag[s].action == SL_ACT_NONE) {
				sl_json_null(j);
			} else {
				sl_json_obj_open(j);
				sl_json_kstr(j, "rule", slot_name(img, meta, v->frag[s].rule));
				sl_json_kstr(j, "action", action_name(v->frag[s].action));
				sl_json_obj_close(j);
			}
		}
		sl_json_obj_close(j);
		sl_json_obj_close(j);
	} else {
		printf("  %-43s class %-5u first rule %s\n", pfx, v->class_id, near ? near : "-");
	}
}

static int do_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "rules", required_argument, NULL, 'r' },
		{ 0 }
	};
	const struct cmd *c = find_cmd("dump");
	const char *inst = "default", *rules = NULL;
	struct image_src src;
	const struct sl_image *img = &src.img;
	const struct sl_rule_meta *meta;
	struct sl_json j, *jp = NULL;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jvhi:r:", opts, NULL)) != -1) {
		if (common_opt(ch, c, &inst))
			continue;
		if (ch == 'r')
			rules = optarg;
		else
			return usage_error(c, "unknown option");
	}
	if (optind < argc && !rules)
		rules = argv[optind++];
	if (optind != argc)
		return usage_error(c, "too many arguments");
	if ((e = image_open(&src, rules, inst, "give a rules file to dump its compiled image")))
		return e;
	meta = src.meta;
	if (json) {
		jp = &j;
		sl_json_init(jp, stdout);
		sl_json_obj_open(jp);
		sl_json_kstr(jp, "policy", policy_name(img->cfg.policy));
		sl_json_kstr(jp, "mode", mode_name(img->cfg.mode));
		sl_json_kbool(jp, "control_pass", img->cfg.control_pass);
		sl_json_ku64(jp, "generation", img->cfg.generation);
		sl_json_ku64(jp, "classes", img->nclasses);
		sl_json_key(jp, "rules");
		sl_json_arr_open(jp);
	} else {
		printf("policy %s, mode %s, control %s, %u classes\nrules (slot: name action):\n",
		       policy_name(img->cfg.policy), mode_name(img->cfg.mode),
		       img->cfg.control_pass ? "pass" : "filter", img->nclasses);
	}
	if (img->rs) {
		for (size_t i = 0; i < img->rs->nrules; i++) {
			const struct sl_rule *r = &img->rs->rules[i];
			if (jp) {
				sl_json_obj_open(jp);
				sl_json_kstr(jp, "name", r->name);
				sl_json_ku64(jp, "slot", img->slot[i]);
				sl_json_kstr(jp, "action", action_name(r->action));
				sl_json_ku64(jp, "destinations", r->ndsts);
				sl_json_ku64(jp, "host_names", r->nhosts);
				sl_json_obj_close(jp);
			} else {
				printf("  %4u: %s %s (%zu destinations%s)\n", img->slot[i], r->name,
				       action_name(r->action), r->ndsts, r->nhosts ? ", plus host names learned from DNS" : "");
			}
		}
	} else {
		for (uint32_t s = 0; s < SL_MAX_RULES; s++) {
			if (meta[s].action == SL_ACT_NONE)
				continue;
			if (jp) {
				sl_json_obj_open(jp);
				sl_json_kstr(jp, "name", meta[s].name);
				sl_json_ku64(jp, "slot", s);
				sl_json_kstr(jp, "action", action_name(meta[s].action));
				sl_json_obj_close(jp);
			} else {
				printf("  %4u: %s %s\n", s, meta[s].name, action_name(meta[s].action));
			}
		}
	}
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "dst4");
		sl_json_arr_open(jp);
	} else {
		printf("dst4 (%zu prefixes):\n", img->ndst4);
	}
	for (size_t i = 0; i < img->ndst4; i++)
		dump_dst(jp, img, meta, AF_INET, img->dst4[i].key.addr, img->dst4[i].key.prefixlen,
			 &img->dst4[i].val);
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "dst6");
		sl_json_arr_open(jp);
	} else {
		printf("dst6 (%zu prefixes):\n", img->ndst6);
	}
	for (size_t i = 0; i < img->ndst6; i++)
		dump_dst(jp, img, meta, AF_INET6, img->dst6[i].key.addr, img->dst6[i].key.prefixlen,
			 &img->dst6[i].val);
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_key(jp, "ports");
		sl_json_arr_open(jp);
	} else {
		printf("ports (%zu entries: class proto ports -> rule):\n", img->nports);
	}
	for (size_t i = 0; i < img->nports; i++) {
		const struct sl_port_entry *pe = &img->ports[i];
		uint32_t cls = (uint32_t)pe->key.class_be[0] << 24 | pe->key.class_be[1] << 16 |
			       pe->key.class_be[2] << 8 | pe->key.class_be[3];
		uint32_t bits = pe->key.prefixlen > SL_PORT_KEY_FIXED_BITS ?
				pe->key.prefixlen - SL_PORT_KEY_FIXED_BITS : 0;
		uint32_t lo = (uint32_t)pe->key.port_be[0] << 8 | pe->key.port_be[1];
		uint32_t hi = lo | (bits >= 16 ? 0 : (0xffffu >> bits));
		const char *rn = slot_name(img, meta, pe->val.rule);

		if (bits == 0)
			lo = 0, hi = 65535;
		if (jp) {
			sl_json_obj_open(jp);
			sl_json_ku64(jp, "class", cls);
			sl_json_kstr(jp, "proto", pslot_name(pe->key.pslot));
			sl_json_ku64(jp, "port_lo", lo);
			sl_json_ku64(jp, "port_hi", hi);
			sl_json_kstr(jp, "rule", rn);
			sl_json_kstr(jp, "action", action_name(pe->val.action));
			sl_json_obj_close(jp);
		} else {
			printf("  class %-5u %-6s %5u-%-5u -> %s %s\n", cls, pslot_name(pe->key.pslot), lo, hi,
			       action_name(pe->val.action), rn ? rn : "?");
		}
	}
	if (jp) {
		sl_json_arr_close(jp);
		sl_json_obj_close(jp);
		sl_json_end(jp);
	}
	image_close(&src);
	return 0;
}

/* ------------------------------------------------------------ learned */

struct pattern { uint32_t ncls; char name[260]; };

/* "zoom.us" from a lower-case wire-format name. */
static void wire_to_dotted(const struct sl_name_val *v, char *out, size_t sz, bool wild)
{
	size_t o = 0, i = 0;

	if (wild && sz > 2)
		out[o++] = '*', out[o++] = '.';
	while (i < v->wlen && i < sizeof(v->wire) && v->wire[i] && o + 1 < sz) {
		size_t n = v->wire[i++];

		for (size_t k = 0; k < n && i < v->wlen && o + 1 < sz; k++)
			out[o++] = (char)v->wire[i++];
		if (i < v->wlen && v->wire[i] && o + 1 < sz)
			out[o++] = '.';
	}
	out[o] = '\0';
}

/* Every host pattern of the loaded generation, by name class. */
static size_t read_patterns(const struct sl_instance *in, struct pattern **out)
{
	int fds[2] = { in->names_fd, in->wilds_fd };
	struct pattern *v = NULL;
	size_t n = 0;

	for (int w = 0; w < 2; w++) {
		__u64 key, next, *prev = NULL;
		struct sl_name_val nv;

		if (fds[w] < 0)
			continue;
		while (bpf_map_get_next_key(fds[w], prev, &next) == 0) {
			struct pattern *nvv;

			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(fds[w], &key, &nv))
				continue;
			nvv = realloc(v, (n + 1) * sizeof(*v));
			if (!nvv)
				break;
			v = nvv;
			v[n].ncls = nv.ncls;
			wire_to_dotted(&nv, v[n].name, sizeof(v[n].name), w == 1);
			n++;
		}
	}
	*out = v;
	return n;
}

static const char *pattern_of(const struct pattern *p, size_t n, uint32_t ncls)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].ncls == ncls)
			return p[i].name;
	return NULL;
}

/* The first rule of a name class (its near rule), by name. */
static const char *ncls_rule(const struct sl_instance *in, const struct sl_rule_meta *meta,
			     uint32_t ncls)
{
	struct sl_dst_val v;

	if (in->nclass_fd < 0 || bpf_map_lookup_elem(in->nclass_fd, &ncls, &v) ||
	    v.near_rule >= SL_MAX_RULES || meta[v.near_rule].action == SL_ACT_NONE)
		return NULL;
	return meta[v.near_rule].name;
}

static int do_learned(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = find_cmd("learned");
	const char *inst = "default";
	struct sl_instance in;
	struct sl_rule_meta *meta;
	struct sl_learned_row *rows = NULL;
	struct pattern *pats = NULL;
	size_t nrows = 0, npats;
	struct sl_json j;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jvhi:", opts, NULL)) != -1)
		if (!common_opt(ch, c, &inst))
			return usage_error(c, "unknown option");
	if (optind != argc)
		return usage_error(c, "no arguments expected");
	if ((e = instance_meta_open(inst, "see: sluice status", &in, &meta)))
		return e;
	if (in.learned_fd >= 0 && sl_learned_read(in.learned_fd, &rows, &nrows)) {
		fprintf(stderr, "sluice: %s/%s/learned: cannot read\n", SL_PIN_ROOT, inst);
		free(meta);
		sl_instance_close(&in);
		return EXIT_RUNTIME;
	}
	npats = read_patterns(&in, &pats);
	if (json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_key(&j, "learned");
		sl_json_arr_open(&j);
	} else {
		printf("%-40s %-30s %-20s %10s %8s\n", "ADDRESS", "NAME", "RULE", "LEFT (s)", "TTL");
	}
	for (size_t i = 0; i < nrows; i++) {
		char a[INET6_ADDRSTRLEN];
		const char *pn = pattern_of(pats, npats, rows[i].ncls);
		const char *rn = ncls_rule(&in, meta, rows[i].ncls);

		inet_ntop(rows[i].family, rows[i].addr, a, sizeof(a));
		if (json) {
			sl_json_obj_open(&j);
			sl_json_kstr(&j, "address", a);
			sl_json_kstr(&j, "name", pn);
			sl_json_key(&j, "rules");
			sl_json_arr_open(&j);
			if (rn)
				sl_json_str(&j, rn);
			sl_json_arr_close(&j);
			sl_json_key(&j, "remaining_ms");
			sl_json_i64(&j, rows[i].remaining_ms);
			sl_json_ku64(&j, "ttl", rows[i].ttl);
			sl_json_kbool(&j, "live", rows[i].remaining_ms > 0);
			sl_json_obj_close(&j);
		} else {
			printf("%-40s %-30s %-20s %10lld %8u%s\n", a, pn ? pn : "?", rn ? rn : "?",
			       (long long)(rows[i].remaining_ms / 1000), rows[i].ttl,
			       rows[i].remaining_ms > 0 ? "" : "  (expired)");
		}
	}
	if (json) {
		sl_json_arr_close(&j);
		learn_ctrs(&j, "counters", &in);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		learn_ctrs(NULL, NULL, &in);
	}
	free(rows);
	free(pats);
	free(meta);
	sl_instance_close(&in);
	return 0;
}

/* ------------------------------------------------------------ table */

static int do_help(int argc, char **argv);
static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("sluice %s\n", SLUICE_VERSION);
	return 0;
}

static const struct cmd cmds[] = {
	{ "check", do_check, "FILE [--json]",
	  "parse, resolve and compile a rules file; print errors and warnings (no root)",
	  "  -j, --json            print the result and every diagnostic as JSON\n" },
	{ "apply", do_apply, "FILE [--hook HOOK] --dev IFACE [--dev IFACE...] [--netns NAME] | --cgroup PATH "
	  "[--instance NAME]",
	  "load a rules file and attach it, or replace the running ruleset atomically",
	  "  -d, --dev IFACE       attach to IFACE (repeatable); without --dev or --cgroup,\n"
	  "                        replace the rules wherever the instance is attached\n"
	  "      --hook HOOK       tc-egress (default): an uplink's outbound traffic;\n"
	  "                        tc-ingress: a container veth's host side, a gateway's LAN side;\n"
	  "                        xdp: a gateway's LAN side, before an skb exists;\n"
	  "                        cgroup: cgroup_skb/egress of a cgroup v2 (with --cgroup)\n"
	  "      --cgroup PATH     the cgroup (absolute, or below the cgroup2 mount)\n"
	  "      --xdp-mode MODE   auto (native where the driver has it, else generic), native, generic\n"
	  "      --dns-floor SEC   host names: shortest TTL honoured (default 60)\n"
	  "      --dns-grace SEC   host names: kept this long past the TTL (default 120)\n"
	  "  -i, --instance NAME   instance (pins under " SL_PIN_ROOT "/NAME), default 'default'\n"

	  "      --tc-mode MODE    auto (TCX if the kernel has it, else clsact), tcx, clsact\n"
	  "  -n, --netns NAME      the interfaces are in network namespace NAME (as ip -n);\n"
	  "                        pins stay in the host's bpffs\n"
	  "  -j, --json            print the result as JSON\n" },
	{ "run", do_run, "FILE [the options of apply]",
	  "apply, then stay in the foreground: learn oversized DNS answers, resolve exact host names",
	  "  (every option of apply: --dev, --hook, --netns, --cgroup, --instance, --tc-mode,\n"
	  "   --xdp-mode, --dns-floor, --dns-grace)\n"
	  "                        applies FILE, then reads the learner's ring buffer (answers too\n"
	  "                        big for BPF) and resolves every exact host name of the ruleset\n"
	  "                        through the configured resolvers, again when its TTL (at least\n"
	  "                        --dns-floor) runs out; logs one line per event on stderr\n"
	  "                        SIGHUP: re-apply FILE (an error keeps the running ruleset)\n"
	  "                        SIGTERM, SIGINT: exit; the filter stays (sluice detach removes it)\n" },
	{ "detach", do_detach, "--dev IFACE [--netns NAME] [--hook HOOK] | --cgroup PATH | --all "
	  "[--instance NAME]",
	  "remove sluice from an interface (the instance goes with its last attachment)",
	  "  -d, --dev IFACE       detach from IFACE\n"
	  "  -a, --all             detach from everything and remove the instance's pins\n"
	  "  -n, --netns NAME      IFACE is in network namespace NAME\n"
	  "      --hook HOOK       only this hook on IFACE (default: every hook)\n"
	  "      --cgroup PATH     detach from a cgroup\n"
	  "  -i, --instance NAME   instance, default 'default'\n" },
	{ "status", do_status, "[--instance NAME] [--json]",
	  "list instances, their rulesets and attachments",
	  "  -i, --instance NAME   only this instance\n"
	  "  -j, --json            JSON output\n" },
	{ "stats", do_stats, "[--instance NAME] [--json]",
	  "per-rule pass/drop counters and the global counters",
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            JSON output\n" },
	{ "lookup", do_lookup, "[--rules FILE] ADDRESS [PROTO [PORT]] [--json]",
	  "which rule decides a destination, and why (PROTO defaults to tcp, PORT to 443)",
	  "  -r, --rules FILE      decide from a rules file (no root) instead of the loaded maps\n"
	  "  -f, --fragment        judge as a non-first fragment (ports ignored)\n"
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            {\"verdict\", \"rule\", \"reason\", ...}\n" },
	{ "dump", do_dump, "[--rules] [FILE] [--json]",
	  "print the compiled image: rules, prefixes with their classes, port tables",
	  "  -r, --rules FILE      compile FILE (no root); without it, read the loaded maps\n"
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            JSON output\n" },
	{ "learned", do_learned, "[--instance NAME] [--json]",
	  "addresses learned from DNS answers for host-name rules, and the learner's counters",
	  "  -i, --instance NAME   instance, default 'default'\n"
	  "  -j, --json            {\"learned\": [{\"address\", \"name\", \"rules\", \"remaining_ms\", \"ttl\"}],\n"
	  "                        \"counters\": {\"queries\", \"learned\", \"spoofed\", ...}}\n" },
	{ "help", do_help, "[COMMAND]", "show help", "" },
	{ "version", do_version, "", "print the version", "" },
};

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void cmd_usage(const struct cmd *c, FILE *out)
{
	fprintf(out, "usage: sluice %s %s\n%s\n", c->name, c->args, c->summary);
	if (c->help[0])
		fprintf(out, "options:\n%s", c->help);
	fprintf(out, "  -v, --verbose         show libbpf's messages (verifier log)\n"
		"exit status: 0 ok, 1 runtime failure, 2 usage or rule error\n");
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sluice COMMAND [OPTIONS]\n"
		"sluice compiles egress allowlists into BPF maps and enforces them in the kernel.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\n'sluice COMMAND --help' shows a command's options.\n");
}

static int do_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc > 1 && (c = find_cmd(argv[1]))) {
		cmd_usage(c, stdout);
		return 0;
	}
	usage(stdout);
	return 0;
}

int sl_cli_main(int argc, char **argv)
{
	const struct cmd *c;

	sl_loader_verbose(false);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return do_help(1, argv);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return do_version(1, argv);
	c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
