// SPDX-License-Identifier: GPL-2.0-only
/*
 * guard.c - `sluice run`'s look at what the kernel runs at its attachments,
 * once a second (guard.h).  Why it stops when the instance is detached from
 * outside, rather than attaching again, is argued in docs/operations.md.
 */
#include <errno.h>
#include <string.h>

#include "daemon/guard.h"
#include "daemon/run.h"

#define SL_GUARD_BACKOFF_MS 60000      /* a restore that did not help: try again after a minute */

enum sl_guard_verdict sl_guard_check(struct sl_guard *g, const char *inst, uint64_t now)
{
	static struct sl_attach att[SL_MAX_ATTACH];
	static struct sl_att_live live[SL_MAX_ATTACH];
	struct sl_instance in;
	size_t bypassed = 0;
	int n, e;

	if (g->broken_until && now < g->broken_until)
		return SL_GUARD_OK;
	if ((e = sl_instance_open(inst, &in)) == -ENOENT) {
		sl_run_log("instance %s was detached from outside sluice run (sluice detach --all?): "
			   "NOTHING IS FILTERED; sluice run stops with status 1 so that its service shows "
			   "failed (start it again to filter)", inst);
		return SL_GUARD_DETACHED;
	}
	if (e) {                        /* said by sl_instance_open: once a minute, not every second */
		g->broken_until = now + SL_GUARD_BACKOFF_MS;
		return SL_GUARD_OK;
	}
	g->broken_until = 0;
	n = sl_live_read(&in, att, live);
	sl_instance_close(&in);
	if (n == -ENOENT) {
		sl_run_log("instance %s was detached from outside sluice run (sluice detach --all?): "
			   "NOTHING IS FILTERED; sluice run stops with status 1", inst);
		return SL_GUARD_DETACHED;
	}
	if (n < 0)
		return SL_GUARD_OK;
	for (uint32_t k = 0; k < SL_MAX_ATTACH; k++) {
		uint8_t now_st = att[k].hook == SL_HOOK_NONE ? 0 : (uint8_t)(live[k].state + 1);

		if (now_st && now_st != g->prev[k] && (g->prev[k] || live[k].state != SL_ST_ENFORCING))
			sl_run_log("instance %s: %s on %.16s%s%.16s: %s%s%s", inst, sl_hook_name(att[k].hook),
				   att[k].hook == SL_HOOK_CGROUP ? att[k].cgroup : live[k].dev,
				   att[k].netns[0] ? "@" : "", att[k].netns, sl_att_state_name(live[k].state),
				   live[k].why[0] ? ": " : "", live[k].why);
		g->prev[k] = now_st;
		bypassed += now_st && live[k].state == SL_ST_BYPASSED;
	}
	if (!bypassed) {
		g->restoring = false;
		return SL_GUARD_OK;
	}
	if (g->restoring) {             /* the restore before did not help (clsact behind filters) */
		g->restoring = false;
		g->retry_ms = now + SL_GUARD_BACKOFF_MS;
		sl_run_log("instance %s: %zu attachment%s still BYPASSED after a re-apply; trying again "
			   "in %d s", inst, bypassed, bypassed == 1 ? "" : "s", SL_GUARD_BACKOFF_MS / 1000);
		return SL_GUARD_OK;
	}
	if (now < g->retry_ms)
		return SL_GUARD_OK;
	g->restoring = true;
	sl_run_log("instance %s: %zu attachment%s BYPASSED: applying again to put sluice first", inst,
		   bypassed, bypassed == 1 ? "" : "s");
	return SL_GUARD_RESTORE;
}
