// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_gc.c - `sluice gc`: remove the instances made for containers that
 * are gone (the CNI plugin's; kernel/owner.c says which: the recorded
 * network namespace no longer exists and none of the instance's
 * attachments is alive), and what killed processes left in /run/sluice
 * (kernel/lock.c, sl_run_dir_sweep).  Also the owner lines of `sluice status`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"

struct swept {
	struct sl_json *j;              /* NULL: text */
	bool dry;
	size_t n;
};

static void on_swept(const char *path, void *arg)
{
	struct swept *w = arg;

	w->n++;
	if (w->j)
		sl_json_str(w->j, path);
	else
		printf("%s %s (left by a process that was killed; nothing uses it)\n",
		       w->dry ? "would remove" : "removed", path);
}

int do_gc(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS, { "dry-run", no_argument, NULL, 'n' }, { 0 },
	};
	const struct cmd *c = cli_find_cmd("gc");
	const char *inst = NULL;
	bool dry = false;
	char **names = NULL;
	size_t n = 0, kept = 0, removed = 0;
	struct sl_json j;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, ":njvhi:", opts, NULL)) != -1) {
		if (ch == 'n')
			dry = true;
		else if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	}
	if (optind != argc)
		return cli_usage_error(c, "no arguments expected");
	if (inst)
		return cli_usage_error(c, "gc looks at every instance: no --instance");
	if (!cli_need_root())
		return EXIT_RUNTIME;
	if (sl_instance_list(&names, &n)) {
		fprintf(stderr, "sluice: %s: cannot list instances\n", SL_PIN_ROOT);
		return EXIT_RUNTIME;
	}
	if (cli_json) {
		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_key(&j, "removed");
		sl_json_arr_open(&j);
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_owner o;
		int e = sl_owner_stale(names[i], &o);

		if (e != 1) {
			kept++;
		} else if (!dry && (e = sl_owner_remove(names[i]))) {
			fprintf(stderr, "sluice: instance %s: cannot remove: %s (retry: sluice detach "
				"--all --instance %s)\n", names[i], strerror(-e), names[i]);
			rc = EXIT_RUNTIME;
		} else {
			removed++;
			if (cli_json) {
				sl_json_obj_open(&j);
				sl_json_kstr(&j, "instance", names[i]);
				sl_json_kstr(&j, "container", o.id);
				sl_json_kstr(&j, "network", o.network);
				sl_json_kstr(&j, "netns", o.netns);
				sl_json_obj_close(&j);
			} else {
				printf("%s %s (container %.12s, network %s: %s is gone)\n",
				       dry ? "would remove" : "removed", names[i], o.id, o.network,
				       o.netns);
			}
		}
		free(names[i]);
	}
	free(names);
	/* after the instances, so that the files of those just removed go too */
	{
		struct swept w = { cli_json ? &j : NULL, dry, 0 };
		int e;

		if (cli_json) {
			sl_json_arr_close(&j);
			sl_json_key(&j, "files");
			sl_json_arr_open(&j);
		}
		if ((e = sl_run_dir_sweep(dry, on_swept, &w)) < 0) {
			fprintf(stderr, "sluice: %s: cannot clean up: %s\n", SL_RUN_DIR, strerror(-e));
			rc = EXIT_RUNTIME;
		}
		if (cli_json) {
			sl_json_arr_close(&j);
			sl_json_ku64(&j, "kept", kept);
			sl_json_obj_close(&j);
			sl_json_end(&j);
		} else if (!removed && !w.n) {
			printf("sluice gc: nothing to remove (%zu instance%s kept)\n", kept,
			       kept == 1 ? "" : "s");
		}
	}
	return rc;
}

void cli_owner_show(const char *inst, struct sl_json *j)
{
	struct sl_owner o;
	char since[32];
	time_t t;

	if (sl_owner_get(inst, &o))
		return;
	t = (time_t)o.since;
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (j) {
		sl_json_key(j, "owner");
		sl_json_obj_open(j);
		sl_json_kstr(j, "kind", o.kind);
		sl_json_kstr(j, "container", o.id);
		sl_json_kstr(j, "network", o.network);
		sl_json_kstr(j, "ifname", o.ifname);
		sl_json_kstr(j, "netns", o.netns);
		sl_json_kstr(j, "rules", o.rules);
		sl_json_kbool(j, "netns_alive", sl_netns_alive(o.netns));
		sl_json_kstr(j, "since", since);
		sl_json_obj_close(j);
	} else {
		printf("  container %.12s  network %s  ifname %s  netns %s%s\n  rules %s  since %s\n",
		       o.id, o.network, o.ifname, o.netns,
		       sl_netns_alive(o.netns) ? "" : " (GONE: sluice gc removes this instance)",
		       o.rules, since);
	}
}
