// SPDX-License-Identifier: GPL-2.0-only
/*
 * rollback.c - `sluice run` performs a rollback whose deadline passed
 * (apply --confirm; kernel/confirm.c): the watchdog apply left normally does
 * it, but it can be killed, and a lapsed window must not leave the
 * unconfirmed rules in force for as long as nobody looks.
 */
#include <string.h>

#include "daemon/run.h"

void sl_run_rollback_check(const char *inst)
{
	static int last_err;
	uint32_t gen;
	int r = sl_rollback_due(inst, &gen);

	if (r < 0 && r == last_err)
		return;                 /* said once; tried again every second */
	last_err = r < 0 ? r : 0;
	if (r > 0)
		sl_run_log("instance %s: a confirmation window lapsed unconfirmed: %s", inst,
			   gen ? "rolled back to the previous rules" : "detached (nothing ran before it)");
	else if (r < 0)
		sl_run_log("instance %s: a confirmation window lapsed but the rollback failed: %s; "
			   "the unconfirmed rules stay in force", inst, strerror(-r));
}
