// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach.c - sl_detach: remove an instance from a target, everything with the last one
 */
#include "kernel/journal.h"

static bool detach_match(const struct sl_attach *a, const struct sl_detach_opts *o,
			 const struct sl_attach *t)
{
	if (o->all)
		return true;
	if (o->cgroup)
		return a->hook == SL_HOOK_CGROUP && strncmp(a->cgroup, t->cgroup, SL_CGPATH_LEN) == 0;
	return o->dev && a->hook != SL_HOOK_CGROUP &&
	       strncmp(a->ifname, o->dev, SL_IFNAME_LEN) == 0 &&
	       strncmp(a->netns, o->netns ? o->netns : "", SL_IFNAME_LEN) == 0 &&
	       (o->hook == SL_HOOK_NONE || a->hook == o->hook ||
		(o->hook == SL_HOOK_TC_EGRESS && a->hook == SL_HOOK_DNS));
}

/*
 * Works from the attachment records alone (not the generation's pins, any
 * of which may be lost), under the exclusive lock, after recovery; with
 * --all, or when the last attachment goes, everything of the instance goes,
 * clsact filters that no record names included (docs/operations.md).
 */
int sl_detach(const char *inst, const struct sl_detach_opts *o)
{
	struct sl_attach att[SL_MAX_ATTACH], t;
	struct slk_lock lk = { -1 };
	size_t removed = 0, left = 0;
	char dir[PATH_MAX];
	bool existed;
	int e, afd = -1, actr = -1;

	inst = inst ? inst : "default";
	memset(&t, 0, sizeof(t));
	if (!slk_valid_instance(inst)) {
		slk_err("'%s' is not an instance name", inst);
		return -EINVAL;
	}
	if (o->cgroup) {
		char abs[PATH_MAX];

		if ((e = slk_cgroup_resolve(o->cgroup, abs, sizeof(abs), t.cgroup, sizeof(t.cgroup))))
			return e;
	}
	if ((e = slk_lock_instance(inst, &lk)))
		return e;
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	existed = access(dir, F_OK) == 0;
	if (existed && (e = slk_layout_check(inst, NULL)))
		goto out;
	if (existed)
		slk_recover(inst);
	if (access(dir, F_OK)) {
		int swept = o->all ? slk_clsact_sweep(inst, true) : 0;

		if (existed && o->all) {
			e = 0;          /* recovery removed what an interrupted apply left */
		} else if (swept > 0) {
			fprintf(stderr, "sluice: %s: removed %d clsact filter%s of an instance without pins\n",
				inst, swept, swept == 1 ? "" : "s");
			e = 0;
		} else {
			slk_err("%s: no such instance (see: sluice status)", dir);
			e = -ENOENT;
		}
		goto out;
	}
	afd = slk_obj_get(inst, "attachments");
	actr = slk_obj_get(inst, "att_counters");
	if (afd < 0 || (e = sl_read_attach(afd, att))) {
		if (!o->all) {
			slk_err("%s/attachments: the attachment records are lost; remove the instance with: "
			    "sluice detach --all --instance %s", dir, inst);
			e = -EIO;
			goto out;
		}
		e = slk_remove_all(inst);
		e = e < 0 ? e : 0;
		goto out;
	}
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (att[k].hook != SL_HOOK_NONE)
			detach_match(&att[k], o, &t) ? removed++ : left++;
	if (!o->all && !removed) {
		slk_err("%s: instance '%s' is not attached there (see: sluice status)",
		    o->cgroup ? o->cgroup : o->dev, inst);
		e = -ENOENT;
		goto out;
	}
	if (left == 0) {
		/* uncommit first, as the detach's intent ("detaching"): if this is cut
		 * short, recovery removes the rest (and only then: a config pin lost
		 * otherwise removes nothing) */
		if (slk_rename_pin(inst, "config", "detaching"))
			slk_unpin(inst, "config");
		close(afd);
		afd = -1;
		e = slk_remove_all(inst);
		e = e < 0 ? e : 0;
		goto out;
	}
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (att[k].hook == SL_HOOK_NONE || !detach_match(&att[k], o, &t))
			continue;
		if ((e = slk_detach_one(inst, &att[k])))
			goto out;
		slk_forget_record(inst, afd, actr, k);
		sl_fault("detach-one");
	}
	e = 0;
out:
	if (afd >= 0)
		close(afd);
	if (actr >= 0)
		close(actr);
	if (access(dir, F_OK))
		slk_lock_unlink(inst);          /* the instance is gone: its lock too (lock.c) */
	slk_unlock_instance(&lk);
	return e;
}
