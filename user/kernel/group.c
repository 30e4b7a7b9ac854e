// SPDX-License-Identifier: GPL-2.0-only
/*
 * group.c - attachments that share one program: an apply loads one program
 * per hook, direction, flags and network namespace (a "group") instead of
 * one per attachment, and tells a group's attachments apart at run time by
 * the packet's interface (att_ifx: (group, ifindex) -> record; ifindexes
 * are per network namespace, hence one group per namespace).  A group of
 * one keeps its record as a constant (no lookup per packet).  cgroup
 * attachments are one group each: a cgroup_skb program sees the socket's
 * cgroup, which may be any descendant of the attached one, so there is no
 * cheap run-time key.  The DNS learners are one group: sluice_learn counts
 * nothing per attachment.  docs/operations.md section 4.
 */
#include "kernel/internal.h"

static bool same_group(const struct sl_attach *x, __u32 fx, const struct sl_attach *y, __u32 fy)
{
	if (x->hook != y->hook)
		return false;
	if (x->hook == SL_HOOK_DNS)
		return true;
	if (x->hook == SL_HOOK_CGROUP)
		return false;
	return x->dir == y->dir && fx == fy && strncmp(x->netns, y->netns, SL_IFNAME_LEN) == 0;
}

void slk_group_records(const struct sl_attach *att, const __u32 *flags, struct slk_groups *g)
{
	memset(g, 0, sizeof(*g));
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		__u32 n;

		if (att[k].hook == SL_HOOK_NONE)
			continue;
		for (n = 0; n < g->ngrp; n++)
			if (same_group(&att[g->first[n]], flags[g->first[n]], &att[k], flags[k]))
				break;
		if (n == g->ngrp)
			g->first[g->ngrp++] = k;
		g->of[k] = n + 1;
		g->size[n]++;
	}
}

__u32 slk_group_index(const struct slk_groups *g, const struct sl_attach *att, __u32 k)
{
	if (!g->of[k] || att[k].hook == SL_HOOK_DNS || g->size[g->of[k] - 1] < 2)
		return k;
	return SL_ATT_BY_IFINDEX;
}

/* The interface index of @a now (0 if there is none), without messages. */
static __u32 dev_index(const struct sl_attach *a)
{
	char p[PATH_MAX];
	__u32 ifindex;
	int saved = -1;

	if (a->netns[0]) {
		snprintf(p, sizeof(p), "/run/netns/%.*s", SL_IFNAME_LEN, a->netns);
		if (sl_netns_enter_path(p, &saved))
			return 0;
	}
	ifindex = if_nametoindex(a->ifname);
	sl_netns_leave(saved);
	return ifindex;
}

int slk_ifx_set(int fd, __u32 group, __u32 ifindex, __u32 k)
{
	struct sl_ifx_key key = { .group = group, .ifindex = ifindex };

	return bpf_map_update_elem(fd, &key, &k, BPF_ANY) ? -errno : 0;
}

int slk_ifx_fill(int fd, const struct sl_attach *att, struct slk_groups *g)
{
	int e;

	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		__u32 n = g->of[k] - 1;

		if (!g->of[k] || g->size[n] < 2 || att[k].hook == SL_HOOK_DNS)
			continue;
		/* a new record has no ifindex until its attach: the entry goes in first */
		g->ifindex[k] = att[k].ifindex ? att[k].ifindex : dev_index(&att[k]);
		if ((e = slk_ifx_set(fd, n, g->ifindex[k], k))) {
			slk_err("map att_ifx: cannot add %s: %s", att[k].ifname, strerror(-e));
			return e;
		}
	}
	return 0;
}

/* After the attach of new record @k: its interface, if it was made again meanwhile. */
int slk_ifx_attached(int fd, const struct sl_attach *att, const struct slk_groups *g, __u32 k)
{
	struct sl_ifx_key key = { .group = g->of[k] - 1, .ifindex = g->ifindex[k] };
	__u32 n = g->of[k] - 1;

	if (!g->of[k] || g->size[n] < 2 || att[k].hook == SL_HOOK_DNS || att[k].ifindex == g->ifindex[k])
		return 0;
	bpf_map_delete_elem(fd, &key);
	return slk_ifx_set(fd, n, att[k].ifindex, k);
}
