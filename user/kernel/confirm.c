// SPDX-License-Identifier: GPL-2.0-only
/*
 * confirm.c - `apply --confirm D` and `sluice confirm` (docs/operations.md
 * "Apply with a way back").  The deadline lives in the running generation's
 * source record (source.c), so it survives the process that applied it:
 * whoever comes after the deadline (the watchdog the CLI forks, `sluice
 * run`, a late `sluice confirm`) rolls back.  The rollback is an ordinary
 * apply of the recorded previous ruleset (atomic, counters kept by name)
 * that sl_apply refuses unless the unconfirmed generation still runs and is
 * still unconfirmed (rollback_of), so a confirm or another apply that got
 * the instance lock first wins.
 */
#include <time.h>

#include "kernel/journal.h"

int sl_confirm(const char *inst, struct sl_source *h)
{
	struct slk_lock lk = { -1 };
	int e;

	if (!slk_valid_instance(inst))
		return -EINVAL;
	if ((e = slk_lock_instance(inst, &lk)))
		return e;
	e = slk_source_read_raw(inst, false, h, NULL);
	if (e == 0 && !h->confirm_deadline)
		e = -ENOENT;
	else if (e == 0 && (uint64_t)time(NULL) >= h->confirm_deadline)
		e = -ETIME;
	else if (e == 0 && (e = slk_source_set_deadline(inst, 0)) == 0)
		slk_unpin(inst, "prev-source");
	slk_unlock_instance(&lk);
	return e;
}

/* Detach the records the unconfirmed apply added (not in h->confirm_keep). */
static void detach_added(const char *inst, const struct sl_source *h)
{
	struct sl_attach att[SL_MAX_ATTACH];
	int fd = slk_obj_get(inst, "attachments");

	if (fd < 0)
		return;
	if (sl_read_attach(fd, att)) {
		close(fd);
		return;
	}
	close(fd);
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		struct sl_detach_opts d = { .hook = att[k].hook };
		bool shared = false;

		if (att[k].hook == SL_HOOK_NONE || (h->confirm_keep & (1ull << k)))
			continue;
		for (__u32 j = 0; j < SL_MAX_ATTACH && att[k].hook != SL_HOOK_CGROUP; j++)
			shared |= (h->confirm_keep & (1ull << j)) && att[j].hook != SL_HOOK_NONE &&
				  !strncmp(att[j].ifname, att[k].ifname, SL_IFNAME_LEN) &&
				  !strncmp(att[j].netns, att[k].netns, SL_IFNAME_LEN);
		if (att[k].hook == SL_HOOK_CGROUP) {
			d.cgroup = att[k].cgroup;
		} else {
			d.dev = att[k].ifname;
			d.netns = att[k].netns[0] ? att[k].netns : NULL;
			if (!shared)
				d.hook = SL_HOOK_NONE;  /* the device and its DNS learner */
		}
		fprintf(stderr, "sluice: %s: rollback: detaching %s %s, attached by the unconfirmed "
			"generation %u\n", inst, sl_hook_name(att[k].hook),
			att[k].hook == SL_HOOK_CGROUP ? att[k].cgroup : att[k].ifname, h->generation);
		sl_detach(inst, &d);
	}
}

int sl_rollback_due(const char *inst, uint32_t *gen)
{
	struct sl_apply_opts ao = { .instance = inst, .hook = SL_HOOK_TC_EGRESS };
	struct sl_apply_report rep;
	struct sl_ruleset rs;
	struct sl_source h, p;
	int e;

	*gen = 0;
	if ((e = sl_source_read(inst, false, &h, NULL)))
		return e == -ENOENT ? 0 : e;
	if (!h.confirm_deadline || (uint64_t)time(NULL) < h.confirm_deadline)
		return 0;
	if (!h.confirm_have_prev) {
		struct sl_detach_opts d = { .all = true };

		fprintf(stderr, "sluice: %s: generation %u was not confirmed by its deadline and "
			"nothing ran before it: detaching the instance\n", inst, h.generation);
		/* recheck under sl_detach's lock is not possible: read once more, just before */
		if (sl_source_read(inst, false, &p, NULL) || p.generation != h.generation ||
		    !p.confirm_deadline)
			return 0;
		return (e = sl_detach(inst, &d)) ? e : 1;
	}
	if ((e = sl_source_read(inst, true, &p, &rs))) {
		slk_err("%s/%s/prev-source: cannot read the previous ruleset to roll back to: %s; "
			"generation %u stays (apply the old rules by hand)", SL_PIN_ROOT, inst,
			strerror(-e), h.generation);
		return e;
	}
	ao.rules_path = p.path[0] ? p.path : NULL;
	ao.rollback_of = h.generation;
	ao.allow_empty = true;          /* what ran before, even if it had no rule */
	e = sl_apply(&rs, &ao, &rep);
	sl_ruleset_free(&rs);
	if (e == -ESTALE)
		return 0;       /* confirmed, or replaced, meanwhile */
	if (e) {
		slk_err("%s: rollback of unconfirmed generation %u failed: %s; it stays in force",
			inst, h.generation, strerror(-e));
		return e;
	}
	detach_added(inst, &h);
	fprintf(stderr, "sluice: %s: generation %u was not confirmed by its deadline: rolled back "
		"to the previous rules%s%s (now generation %u)\n", inst, h.generation,
		p.path[0] ? " from " : "", p.path, rep.generation);
	*gen = rep.generation;
	return 1;
}
