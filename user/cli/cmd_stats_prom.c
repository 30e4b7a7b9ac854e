// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_stats_prom.c - `sluice stats --format prometheus`: the text that
 * `sluice run --metrics` serves, printed once (for node_exporter's
 * textfile collector; README "Monitoring").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"
#include "kernel/kernel.h"
#include "util/prom.h"

int cli_stats_prom(const char *inst)
{
	struct sl_buf b = {0};
	int e = sl_prom_collect(inst, &b);

	if (e == -ENOENT)
		fprintf(stderr, "sluice: instance '%s' is not loaded; see: sluice status\n", inst);
	else if (e)
		fprintf(stderr, "sluice: %s/%s: cannot read the counters: %s\n", SL_PIN_ROOT,
			inst ? inst : "*", strerror(-e));
	if (!e && b.len && fwrite(b.p, 1, b.len, stdout) != b.len)
		e = -EIO;
	if (!e && fflush(stdout))
		e = -errno;
	sl_buf_free(&b);
	return e ? EXIT_RUNTIME : 0;
}
