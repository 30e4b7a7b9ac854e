// SPDX-License-Identifier: GPL-2.0-only
/*
 * group.c - attachments that share one program: an apply loads one program
 * per hook, direction, flags and network namespace (a "group") instead of
 * one per attachment, and tells a group's attachments apart at run time by
 * the packet's interface: each shared group has a table in att_ifx, a
 * power of two of slots chosen so that its interfaces' ifindexes differ in
 * the low bits (ifindex & mask), each slot naming its ifindex and record;
 * a packet whose slot names another ifindex is dropped (fail closed).
 * ifindexes are per network namespace, hence one group per namespace.
 * A group of one keeps its record as a constant (no lookup per packet), and
 * so does a group whose interfaces find no collision-free table (split into
 * groups of one).  cgroup attachments are one group each: a cgroup_skb
 * program sees the socket's cgroup, which may be any descendant of the
 * attached one, so there is no cheap run-time key.  The DNS learners are
 * one group: sluice_learn counts nothing per attachment.  docs/operations.md
 * section 10.
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

/* Whether group @n looks its records up by interface (a group of one too
 * when the apply asked for joinable groups, sl_apply_opts.join). */
static bool shared(const struct slk_groups *g, const struct sl_attach *att, __u32 n)
{
	enum sl_hook h = att[g->first[n]].hook;

	if (g->join && g->size[n] == 1 && !g->split[n])
		return h == SL_HOOK_TC_INGRESS || h == SL_HOOK_TC_EGRESS || h == SL_HOOK_XDP;
	return g->size[n] > 1 && h != SL_HOOK_DNS;
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

/* The smallest table (mask + 1) in which group @n's interfaces have slots
 * of their own, if it fits beside the tables before it; false if none. */
static bool distinct(const struct slk_groups *g, __u32 n, __u32 mask)
{
	for (__u32 j = 0; j < SL_MAX_ATTACH; j++) {
		if (g->of[j] != n + 1)
			continue;
		if (!g->ifindex[j])
			return false;   /* no such interface: its attach fails anyway */
		for (__u32 k = j + 1; k < SL_MAX_ATTACH; k++)
			if (g->of[k] == n + 1 && (g->ifindex[j] & mask) == (g->ifindex[k] & mask))
				return false;
	}
	return true;
}

static bool size_table(struct slk_groups *g, __u32 n, __u32 used)
{
	/* joinable: the largest table, so that interfaces added later by
	 * sl_attach_join (share.c) find a free slot without a new program */
	for (__u32 sz = g->join ? SL_IFX_GROUP_MAX : 2; sz <= SL_IFX_GROUP_MAX && used + sz <= SL_IFX_SLOTS;
	     sz *= 2)
		if (distinct(g, n, sz - 1)) {
			g->base[n] = used;
			g->mask[n] = sz - 1;
			return true;
		}
	return false;
}

/* Group @n's records but its first in groups of one each. */
static void split(struct slk_groups *g, __u32 n)
{
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (g->of[k] == n + 1 && k != g->first[n]) {
			g->first[g->ngrp] = k;
			g->size[g->ngrp] = 1;
			g->split[g->ngrp] = true;
			g->of[k] = ++g->ngrp;
			g->size[n]--;
		}
	g->split[n] = true;
}

/*
 * Joinable groups (sl_apply_opts.join) whose interfaces collide in a full
 * table: the records whose slot is taken move to a new group of the same
 * kind, a program with a table of its own (a few programs in all, not one
 * per attachment).  False if an interface is missing (split instead).
 */
static bool partition(struct slk_groups *g, __u32 n)
{
	static bool taken[SL_IFX_GROUP_MAX];
	__u32 m = g->ngrp;

	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (g->of[k] == n + 1 && !g->ifindex[k])
			return false;
	memset(taken, 0, sizeof(taken));
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		__u32 s = g->ifindex[k] & (SL_IFX_GROUP_MAX - 1);

		if (g->of[k] != n + 1)
			continue;
		if (!taken[s]) {
			taken[s] = true;
			continue;
		}
		if (m == g->ngrp) {
			g->first[m] = k;
			g->size[m] = 0;
			g->split[m] = false;
			g->ngrp++;
		}
		g->of[k] = m + 1;
		g->size[m]++;
		g->size[n]--;
	}
	return true;            /* (group n keeps its first record: the first slot is free) */
}

void slk_group_records(const struct sl_attach *att, const __u32 *flags, bool join, struct slk_groups *g)
{
	__u32 used = 0, ngrp;

	memset(g, 0, sizeof(*g));
	g->join = join;
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
	/* a new record has no ifindex until its attach: resolved now, its slot filled before */
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (g->of[k] && shared(g, att, g->of[k] - 1))
			g->ifindex[k] = att[k].ifindex ? att[k].ifindex : dev_index(&att[k]);
	ngrp = g->ngrp;
	/* (joinable groups' partitions are groups after ngrp, sized in turn) */
	for (__u32 n = 0; n < (join ? g->ngrp : ngrp); n++) {
		if (!shared(g, att, n))
			continue;
		if (size_table(g, n, used))
			used += g->mask[n] + 1;
		else if (join && used + SL_IFX_GROUP_MAX <= SL_IFX_SLOTS && partition(g, n) &&
			 size_table(g, n, used))
			used += g->mask[n] + 1;
		else
			split(g, n);
	}
}

__u32 slk_group_index(const struct slk_groups *g, const struct sl_attach *att, __u32 n)
{
	return shared(g, att, n) ? SL_ATT_BY_IFINDEX : g->first[n];
}

static int set_slot(int fd, __u32 slot, __u32 ifindex, __u32 k)
{
	struct sl_ifx_val v = { .ifindex = ifindex, .att = k };

	return bpf_map_update_elem(fd, &slot, &v, BPF_ANY) ? -errno : 0;
}

int slk_ifx_fill(int fd, const struct sl_attach *att, const struct slk_groups *g)
{
	int e;

	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		__u32 n = g->of[k] - 1;

		if (!g->of[k] || !shared(g, att, n))
			continue;
		if ((e = set_slot(fd, g->base[n] + (g->ifindex[k] & g->mask[n]), g->ifindex[k], k))) {
			slk_err("map att_ifx: cannot add %s: %s", att[k].ifname, strerror(-e));
			return e;
		}
	}
	return 0;
}

int slk_ifx_attached(int fd, const struct sl_attach *att, const struct slk_groups *g, __u32 k)
{
	__u32 n = g->of[k] - 1, old, slot;
	struct sl_ifx_val v;

	if (!g->of[k] || !shared(g, att, n) || att[k].ifindex == g->ifindex[k])
		return 0;
	/* the interface was made again between the plan and the attach */
	old = g->base[n] + (g->ifindex[k] & g->mask[n]);
	slot = g->base[n] + (att[k].ifindex & g->mask[n]);
	if (slot != old && bpf_map_lookup_elem(fd, &slot, &v) == 0 && v.ifindex) {
		slk_err("%s: the interface was created again during the apply (ifindex %u, was %u); "
			"run the apply again", att[k].ifname, att[k].ifindex, g->ifindex[k]);
		return -EAGAIN;
	}
	set_slot(fd, old, 0, 0);
	return set_slot(fd, slot, att[k].ifindex, k);
}
