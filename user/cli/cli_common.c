// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli_common.c - the one convention every command follows: common options, usage errors, root, rules files and their diagnostics, JSON helpers
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

bool cli_json;                 /* -j/--json: one JSON document on stdout */
bool cli_verbose;              /* -v/--verbose */
char **cli_argv;

/* Handle an option common to all commands; returns false if unknown. */
bool cli_common_opt(int ch, const struct cmd *c, const char **instance)
{
	switch (ch) {
	case 'j':
		cli_json = true;
		return true;
	case 'v':
		cli_verbose = true;
		sl_loader_verbose(true);
		return true;
	case 'i':
		*instance = optarg;
		return true;
	case 'h':
		cli_cmd_usage(c, stdout);
		exit(0);
	case ':':       /* optstrings start with ':' (opterr = 0): one message, ours */
		exit(cli_usage_error(c, "%s needs a value", cli_argv[optind - 1]));
	case '?':
		exit(cli_usage_error(c, "unknown option %s", cli_argv[optind - 1]));
	default:
		return false;
	}
}

int cli_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: sluice %s %s\n(see: sluice %s --help)\n", c->name, c->args, c->name);
	return EXIT_USAGE;
}

bool cli_need_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "sluice: this command needs root (CAP_BPF and CAP_NET_ADMIN); run it with sudo\n");
	return false;
}

/* Load a rules file and print its diagnostics on stderr (not with --json:
 * the caller puts them in the document); only errors if !warnings. */
static int load_rules(const char *path, struct sl_ruleset *rs, struct sl_diags *d, bool warnings,
		      struct sl_rcheck **check)
{
	int e;

	memset(rs, 0, sizeof(*rs));
	memset(d, 0, sizeof(*d));
	e = check ? sl_ruleset_load_unsettled(path, rs, d, check) : sl_ruleset_load(path, rs, d);
	if (cli_json)
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

int cli_load_rules_diag(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			bool warnings)
{
	return load_rules(path, rs, d, warnings, NULL);
}

int cli_load_rules(const char *path, struct sl_ruleset *rs, struct sl_diags *d)
{
	return load_rules(path, rs, d, true, NULL);
}

int cli_load_rules_unsettled(const char *path, struct sl_ruleset *rs, struct sl_diags *d,
			     struct sl_rcheck **check)
{
	return load_rules(path, rs, d, true, check);
}

static const char *sev_name(enum sl_sev s)
{
	return s == SL_SEV_ERROR ? "error" : s == SL_SEV_WARNING ? "warning" : "note";
}

void cli_json_diags(struct sl_json *j, const struct sl_diags *d)
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

size_t cli_count_hosts(const struct sl_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		n += rs->rules[i].nhosts;
	return n;
}

int cli_parse_hook(const char *s, enum sl_hook *h)
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

const char *cli_policy_name(int p) { return p == SL_POLICY_ALLOW ? "allow" : "drop"; }
const char *cli_mode_name(int m) { return m == SL_MODE_AUDIT ? "audit" : "enforce"; }

const char *cli_ipproto_name(int p, char *buf, size_t sz)
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
int cli_instance_meta_open(const char *inst, const char *hint, struct sl_instance *in,
			      struct sl_rule_meta **meta)
{
	int e;

	*meta = NULL;
	if (!cli_need_root())
		return EXIT_RUNTIME;
	e = sl_instance_open(inst, in);
	if (e == -ENOENT)
		fprintf(stderr, "sluice: instance '%s' is not loaded; %s\n", inst, hint);
	if (e)
		return EXIT_RUNTIME;
	*meta = calloc(SL_MAX_SLOTS, sizeof(**meta));
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
void cli_learn_ctrs(struct sl_json *j, const char *key, const struct sl_instance *in)
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
