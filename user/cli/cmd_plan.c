// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_plan.c - sluice plan: what `apply FILE` would change against the
 * loaded ruleset (its recorded source, kernel/source.c), through user/plan/.
 * Changes nothing.  Exit 0 no change, 3 changes, 1 runtime error, 2 usage
 * or rule error (the CLI contract; terraform plan -detailed-exitcode).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"
#include "plan/plan.h"

#define EXIT_CHANGES 3

bool cli_loaded_source(const char *inst, struct sl_source *h, struct sl_ruleset *old)
{
	struct sl_instance in;
	bool ok;

	if (sl_source_read(inst, false, h, old))
		return false;
	ok = sl_instance_open(inst, &in) == 0 && in.cfg.generation == h->generation;
	if (ok)
		sl_instance_close(&in);
	else
		sl_ruleset_free(old);
	return ok;
}

int cli_plan_old(const char *inst, struct sl_source *h, struct sl_ruleset *old, bool *have)
{
	struct sl_instance in;
	int e;

	*have = false;
	e = sl_source_read(inst, false, h, old);
	if (e == 0 && sl_instance_open(inst, &in) == 0) {
		uint32_t gen = in.cfg.generation;

		sl_instance_close(&in);
		if (gen == h->generation) {
			*have = true;
			return 0;
		}
		/* an older sluice applied over it: its record is stale */
		sl_ruleset_free(old);
		fprintf(stderr, "sluice: instance %s runs generation %u but its recorded source is of "
			"generation %u (applied by an older sluice?): apply it once with this sluice, "
			"then plan\n", inst, gen, h->generation);
		return -ESTALE;
	}
	if (e == 0) {
		sl_ruleset_free(old);
		return 0;       /* gone meanwhile: nothing loaded */
	}
	if (e != -ENOENT) {
		fprintf(stderr, "sluice: %s/%s/source: cannot read the loaded ruleset's record: %s\n",
			SL_PIN_ROOT, inst, e == -EPROTO ? "written by another version of sluice" : strerror(-e));
		return e;
	}
	if (sl_instance_open(inst, &in) == 0) {
		sl_instance_close(&in);
		fprintf(stderr, "sluice: instance %s runs a generation that recorded no source (applied by "
			"an older sluice or by sluice-cni): apply it once with this sluice, then plan\n", inst);
		return -ENOENT;
	}
	return 0;       /* nothing loaded: everything is added */
}

int do_plan(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("plan");
	const char *inst = "default";
	struct sl_ruleset rs, old;
	struct sl_source h;
	struct sl_diags d;
	struct sl_plan p;
	bool have;
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one rules file");
	if (cli_load_rules_diag(argv[optind], &rs, &d, false)) {
		fprintf(stderr, "%s: %zu error%s; no plan\n", argv[optind], d.nerrors,
			d.nerrors == 1 ? "" : "s");
		sl_diag_free(&d);
		return EXIT_USAGE;
	}
	sl_diag_free(&d);
	if (!cli_need_root() || cli_plan_old(inst, &h, &old, &have)) {
		sl_ruleset_free(&rs);
		return EXIT_RUNTIME;
	}
	if ((e = sl_plan_diff(have ? &old : NULL, &rs, &p))) {
		fprintf(stderr, "sluice: plan: %s\n", strerror(-e));
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = p.changes ? EXIT_CHANGES : 0;
	if (cli_json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "instance", inst);
		sl_json_kstr(&j, "file", argv[optind]);
		sl_json_key(&j, "loaded_generation");
		have ? sl_json_u64(&j, h.generation) : sl_json_null(&j);
		sl_json_kstr(&j, "loaded_rules_file", have && h.path[0] ? h.path : NULL);
		sl_plan_json(&p, &j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		if (have)
			printf("instance %s: generation %u from %s\n", inst, h.generation,
			       h.path[0] ? h.path : "(no file recorded)");
		sl_plan_print(&p, stdout, cli_verbose ? 0 : 20);
	}
	sl_plan_free(&p);
out:
	if (have)
		sl_ruleset_free(&old);
	sl_ruleset_free(&rs);
	return rc;
}
