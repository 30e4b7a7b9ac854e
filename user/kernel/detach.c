// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach.c - sl_detach: remove an instance from a target, the pins with the last one
 */
#include "kernel/internal.h"

int sl_detach(const char *inst, const struct sl_detach_opts *o)
{
	struct sl_instance in;
	struct sl_attach att[SL_MAX_ATTACH], t;
	struct slk_lock lk = { -1 };
	size_t removed = 0, left = 0;
	int e;

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
	e = sl_instance_open(inst, &in);
	if (e == -ENOENT) {
		slk_err("%s/%s: no such instance (see: sluice status)", SL_PIN_ROOT, inst);
		return e;
	}
	if (e == -EIO && o->all) {
		slk_remove_instance(inst);
		return 0;
	}
	if (e)
		return e;
	if ((e = slk_lock_instance(inst, &lk)))
		goto out;
	if ((e = sl_read_attach(in.attach_fd, att)))
		goto out;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		bool match;

		if (att[k].hook == SL_HOOK_NONE)
			continue;
		if (o->cgroup)
			match = att[k].hook == SL_HOOK_CGROUP &&
				strncmp(att[k].cgroup, t.cgroup, SL_CGPATH_LEN) == 0;
		else
			match = o->dev && att[k].hook != SL_HOOK_CGROUP &&
				strncmp(att[k].ifname, o->dev, SL_IFNAME_LEN) == 0 &&
				strncmp(att[k].netns, o->netns ? o->netns : "", SL_IFNAME_LEN) == 0 &&
				(o->hook == SL_HOOK_NONE || att[k].hook == o->hook);
		if (o->all || match) {
			if ((e = slk_detach_one(inst, &att[k])))
				goto out;
			slk_forget_record(inst, in.attach_fd, in.att_ctr_fd, k);
			removed++;
		} else {
			left++;
		}
	}
	if (!o->all && !removed) {
		slk_err("%s: instance '%s' is not attached there (see: sluice status)",
		    o->cgroup ? o->cgroup : o->dev, inst);
		e = -ENOENT;
		goto out;
	}
	if (left == 0) {
		sl_instance_close(&in);
		slk_remove_instance(inst);
	}
	e = 0;
out:
	sl_instance_close(&in);
	slk_unlock_instance(&lk);
	return e;
}
