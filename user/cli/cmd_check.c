// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_check.c - sluice check
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

int do_check(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { 0 } };
	const struct cmd *c = cli_find_cmd("check");
	const char *inst = NULL;
	struct sl_ruleset rs;
	struct sl_diags d;
	struct sl_image img = {0};
	int ch, e, rc = 0;

	while ((ch = getopt_long(argc, argv, ":jvhi:", opts, NULL)) != -1)
		if (!cli_common_opt(ch, c, &inst))
			return cli_usage_error(c, "unknown option");
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one rules file");
	e = cli_load_rules(argv[optind], &rs, &d);
	if (e == 0) {
		e = sl_compile(&rs, NULL, 0, &img);
		if (e) {
			fprintf(stderr, "sluice: %s: cannot compile: %s\n", argv[optind], strerror(-e));
			rc = EXIT_RUNTIME;
		}
	} else {
		rc = EXIT_USAGE;
	}
	if (cli_json) {
		struct sl_json j;

		sl_json_init(&j, stdout);
		sl_json_obj_open(&j);
		sl_json_kstr(&j, "file", argv[optind]);
		sl_json_kbool(&j, "ok", rc == 0);
		sl_json_ku64(&j, "errors", d.nerrors);
		sl_json_ku64(&j, "warnings", d.nwarnings);
		cli_json_diags(&j, &d);
		if (rc == 0) {
			sl_json_ku64(&j, "rules", rs.nrules);
			sl_json_ku64(&j, "prefixes4", img.ndst4);
			sl_json_ku64(&j, "prefixes6", img.ndst6);
			sl_json_ku64(&j, "classes", img.nclasses);
			sl_json_ku64(&j, "port_entries", img.nports);
			sl_json_ku64(&j, "host_names", cli_count_hosts(&rs));
			sl_json_ku64(&j, "requirements", rs.nreqs);
		}
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else if (rc == 0) {
		printf("%s: ok: %zu rules, %zu IPv4 and %zu IPv6 prefixes, %u policy classes, "
		       "%zu port entries; %zu warnings\n",
		       argv[optind], rs.nrules, img.ndst4, img.ndst6, img.nclasses, img.nports,
		       d.nwarnings);
		if (rs.nreqs)
			printf("%s: %zu requirement%s for sluice verify\n", argv[optind], rs.nreqs,
			       rs.nreqs == 1 ? "" : "s");
	} else if (e == -EINVAL) {
		fprintf(stderr, "%s: %zu error%s, %zu warning%s; nothing was loaded\n",
			argv[optind], d.nerrors, d.nerrors == 1 ? "" : "s", d.nwarnings,
			d.nwarnings == 1 ? "" : "s");
	}
	sl_image_free(&img);
	sl_ruleset_free(&rs);
	sl_diag_free(&d);
	return rc;
}
