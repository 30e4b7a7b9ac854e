// SPDX-License-Identifier: GPL-2.0-only
/*
 * reattach.c - sl_target_lost: whether a target `sluice run` was given
 * exists now but has no live attachment of the instance (an interface
 * deleted and created again with the same name: a new ifindex; a cgroup
 * removed and made again: a new id).  docs/operations.md section 6.
 */
#include "kernel/journal.h"

static bool same(const struct sl_attach *a, enum sl_hook hook, const char *dev, const char *netns,
		 const char *cgroup)
{
	if (a->hook != hook)
		return false;
	if (hook == SL_HOOK_CGROUP)
		return strstr(cgroup, a->cgroup) != NULL;
	return strncmp(a->ifname, dev, SL_IFNAME_LEN) == 0 &&
	       strncmp(a->netns, netns ? netns : "", SL_IFNAME_LEN) == 0;
}

bool sl_target_lost(const char *inst, const struct sl_apply_opts *ao, char *what, size_t sz)
{
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_instance in = { .name = "" };
	char p[PATH_MAX];
	bool lost = false;
	int afd;

	snprintf(in.name, sizeof(in.name), "%s", inst);
	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/attachments", inst);
	afd = bpf_obj_get(p);
	if (afd < 0)
		return false;           /* detached on purpose: nothing to keep */
	if (sl_read_attach(afd, att)) {
		close(afd);
		return false;
	}
	close(afd);
	for (size_t d = 0; d < (ao->hook == SL_HOOK_CGROUP ? 1 : ao->ndevs) && !lost; d++) {
		bool live = false, exists;

		for (size_t k = 0; k < SL_MAX_ATTACH && !live; k++)
			live = att[k].hook != SL_HOOK_NONE &&
			       same(&att[k], ao->hook, ao->hook == SL_HOOK_CGROUP ? NULL : ao->devs[d],
				    ao->netns, ao->cgroup) && sl_attach_alive(&in, &att[k]);
		if (live)
			continue;
		if (ao->hook == SL_HOOK_CGROUP) {
			char mnt[PATH_MAX], abs[PATH_MAX * 2];
			struct stat st;

			if (ao->cgroup[0] == '/')
				snprintf(abs, sizeof(abs), "%s", ao->cgroup);
			else if (sl_cgroup2_mount(mnt, sizeof(mnt)) == 0)
				snprintf(abs, sizeof(abs), "%s/%s", mnt, ao->cgroup);
			else
				continue;
			exists = stat(abs, &st) == 0;
			snprintf(what, sz, "cgroup %s", ao->cgroup);
		} else {
			int saved;

			if (slk_netns_enter(ao->netns, &saved))
				continue;
			exists = if_nametoindex(ao->devs[d]) != 0;
			sl_netns_leave(saved);
			snprintf(what, sz, "%s%s%s", ao->devs[d], ao->netns ? "@" : "",
				 ao->netns ? ao->netns : "");
		}
		lost = exists;
	}
	return lost;
}
