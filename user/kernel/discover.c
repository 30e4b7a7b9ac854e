// SPDX-License-Identifier: GPL-2.0-only
/*
 * discover.c - sluice's own filters on a hook, found without the pins
 * (docs/operations.md section 3).  Links (TCX, XDP, cgroup) die with their
 * last pin or fd, so only clsact filters can outlive what sluice knows:
 * they carry a handle derived from the instance name at a priority of
 * 1..SL_TC_PRIO_MAX, and a program named sluice_*.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/journal.h"

#define SL_TC_HANDLE_HI 0x51c30000u

uint32_t slk_tc_handle(const char *inst)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)inst; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ (h >> 16)) & 0xffff;
	return SL_TC_HANDLE_HI | (h ? h : 1);
}

static bool prog_is_sluice(uint32_t id)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ok;

	if (fd < 0)
		return false;
	ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strncmp(info.name, "sluice_", 7);
	close(fd);
	return ok;
}

/* In the current network namespace: the filters with @handle on every interface. */
static int sweep_here(uint32_t handle, bool remove)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	if (!ifs)
		return 0;
	for (i = ifs; i->if_index; i++)
		for (int dir = 0; dir < 2; dir++)
			for (uint32_t prio = 1; prio <= SL_TC_PRIO_MAX; prio++) {
				DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = i->if_index,
						    .attach_point = dir ? BPF_TC_INGRESS : BPF_TC_EGRESS);
				DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .handle = handle, .priority = prio);

				if (bpf_tc_query(&th, &to) || !prog_is_sluice(to.prog_id))
					continue;
				if (remove) {
					DECLARE_LIBBPF_OPTS(bpf_tc_opts, d, .handle = handle, .priority = prio);
					if (bpf_tc_detach(&th, &d))
						continue;
				}
				n++;
			}
	if_freenameindex(ifs);
	return n;
}

int slk_clsact_sweep(const char *inst, bool remove)
{
	uint32_t handle = slk_tc_handle(inst);
	struct dirent *de;
	DIR *d;
	int n = sweep_here(handle, remove);

	d = opendir("/run/netns");
	if (!d)
		return n;
	while ((de = readdir(d))) {
		int saved;

		if (de->d_name[0] == '.')
			continue;
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "/run/netns/%s", de->d_name);
		if (sl_netns_enter_path(p, &saved))
			continue;
		n += sweep_here(handle, remove);
		sl_netns_leave(saved);
	}
	closedir(d);
	return n;
}

static bool same_place(const struct sl_attach *a, const struct sl_attach *t)
{
	bool ingress_a = a->hook == SL_HOOK_TC_INGRESS || a->hook == SL_HOOK_DNS;
	bool ingress_t = t->hook == SL_HOOK_TC_INGRESS || t->hook == SL_HOOK_DNS;

	if (a->hook == SL_HOOK_CGROUP || t->hook == SL_HOOK_CGROUP)
		return a->hook == t->hook && strncmp(a->cgroup, t->cgroup, SL_CGPATH_LEN) == 0;
	if (a->hook == SL_HOOK_DNS || t->hook == SL_HOOK_DNS)
		return false;   /* the learner only reads; it may share the hook */
	if (a->hook != t->hook && !(ingress_a && ingress_t))
		return false;
	return strncmp(a->ifname, t->ifname, SL_IFNAME_LEN) == 0 &&
	       strncmp(a->netns, t->netns, SL_IFNAME_LEN) == 0;
}

int slk_hook_taken(const char *inst, const struct sl_attach *t, char *who, size_t sz)
{
	char **names = NULL;
	size_t n = 0;
	int found = 0;

	if (t->hook == SL_HOOK_DNS)
		return 0;
	if (sl_instance_list(&names, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct sl_attach att[SL_MAX_ATTACH];
		int afd;

		if (!found && strcmp(names[i], inst) && (afd = slk_obj_get(names[i], "attachments")) >= 0) {
			if (sl_read_attach(afd, att) == 0)
				for (size_t k = 0; k < SL_MAX_ATTACH && !found; k++)
					if (att[k].hook != SL_HOOK_NONE && same_place(&att[k], t)) {
						snprintf(who, sz, "instance '%s' (%s %s)", names[i],
							 sl_hook_name(att[k].hook), sl_att_kind_name(att[k].kind));
						found = 1;
					}
			close(afd);
		}
		free(names[i]);
	}
	free(names);
	return found;
}
