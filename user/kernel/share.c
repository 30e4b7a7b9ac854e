// SPDX-License-Identifier: GPL-2.0-only
/*
 * share.c - sl_attach_join: one more interface for a running instance whose
 * programs find their attachment by interface (an apply with
 * sl_apply_opts.join: a full att_ifx table per group, group.c), without a
 * new generation and without a verifier run: the new record takes a free
 * slot of its group's table and the group's loaded program is attached to
 * the interface.  sluice-cni's ADD of a container whose rules an instance
 * already runs (docs/operations.md section 10).
 *
 * The journal is apply's (intent.c): the program is pinned as
 * next-prog-<k> before the record is written and the attach is made, and
 * renamed to prog-<k> when it is done; a join cut short leaves a next-* pin
 * without next-config, which recovery undoes (the record without prog-<k>
 * is detached and forgotten).
 */
#include "kernel/journal.h"

/* The per-program constants of a loaded sluice program (its .rodata). */
static int prog_rodata(int pfd, struct sluice_bpf__rodata *ro, int *ifx_fd)
{
	struct bpf_prog_info pi = { 0 };
	__u32 ids[64], len = sizeof(pi), k = 0;
	int e = -ENOENT;

	*ifx_fd = -1;
	pi.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len))
		return -errno;
	for (__u32 i = 0; i < pi.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			close(fd);
			continue;
		}
		if (!strcmp(mi.name, "att_ifx") && *ifx_fd < 0) {
			*ifx_fd = fd;
			continue;
		}
		if (strstr(mi.name, ".rodata") && mi.value_size == sizeof(*ro) && e)
			e = bpf_map_lookup_elem(fd, &k, ro) ? -errno : 0;
		close(fd);
	}
	if (!e && *ifx_fd < 0)
		e = -ENOENT;
	return e;
}

struct join {
	const char *inst;
	const struct sl_apply_opts *o;
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_attach t;
	struct sluice_bpf__rodata ro;
	int afd, actr, pfd, ifx;
	__u32 k, slot;
};

#define SL_JOIN_PROGS 8         /* programs of one kind looked at (a group and its partitions) */

/* Whether @slot of att_ifx @ifx is free for @ifindex: unused, its own, or
 * naming a record that is gone or now names another interface. */
static bool slot_free(const struct join *j, int ifx, __u32 slot, __u32 ifindex)
{
	struct sl_ifx_val v;

	if (bpf_map_lookup_elem(ifx, &slot, &v))
		return false;
	return !v.ifindex || v.ifindex == ifindex || v.att >= SL_MAX_ATTACH ||
	       j->att[v.att].hook == SL_HOOK_NONE || j->att[v.att].ifindex != v.ifindex;
}

/* A program the new target can join: of a record of the same hook,
 * direction and namespace, looking records up by interface, with a free
 * slot for the target's (group.c: a group may have partitions, each its
 * program).  Sets j->pfd, ifx, ro, slot; -EAGAIN if none (the caller applies). */
static int find_group(struct join *j, __u32 ifindex)
{
	__u32 seen[SL_JOIN_PROGS], nseen = 0;
	char name[64];

	for (__u32 k = 0; k < SL_MAX_ATTACH && nseen < SL_JOIN_PROGS; k++) {
		struct bpf_prog_info pi = { 0 };
		__u32 len = sizeof(pi), i;
		int pfd, ifx;

		if (j->att[k].hook != j->t.hook || j->att[k].dir != j->t.dir ||
		    strncmp(j->att[k].netns, j->t.netns, SL_IFNAME_LEN))
			continue;
		slk_prog_pin_name(name, sizeof(name), "", k);
		if ((pfd = slk_obj_get(j->inst, name)) < 0)
			continue;
		if (bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
			close(pfd);
			continue;
		}
		for (i = 0; i < nseen && seen[i] != pi.id; i++)
			;
		if (i < nseen) {
			close(pfd);
			continue;
		}
		seen[nseen++] = pi.id;
		if (prog_rodata(pfd, &j->ro, &ifx) == 0 && j->ro.att_index == SL_ATT_BY_IFINDEX) {
			__u32 slot = j->ro.att_ifx_base + (ifindex & j->ro.att_ifx_mask);

			if (slot_free(j, ifx, slot, ifindex)) {
				j->pfd = pfd;
				j->ifx = ifx;
				j->slot = slot;
				return 0;
			}
		}
		if (ifx >= 0)
			close(ifx);
		close(pfd);
	}
	return -EAGAIN;         /* nothing to join, or no free slot: an apply regroups */
}

/* The target's record and program: free ones, or -EAGAIN. */
static int plan_join(struct join *j)
{
	int saved, e;
	__u32 k;

	if ((e = slk_dev_enter(j->t.ifname, &j->t, &saved)))
		return e;
	sl_netns_leave(saved);
	for (k = 0; k < SL_MAX_ATTACH && j->att[k].hook != SL_HOOK_NONE; k++)
		;
	if (k == SL_MAX_ATTACH) {
		slk_err("instance %s already has %d attachments", j->inst, SL_MAX_ATTACH);
		return -ENOSPC;
	}
	j->k = k;
	return find_group(j, j->t.ifindex);
}

/* The attach of record k, journaled (the header comment). */
static int do_join(struct join *j)
{
	struct sl_ifx_val v = { 0 };
	char name[64];
	int e;

	slk_prog_pin_name(name, sizeof(name), "next-", j->k);
	if ((e = slk_pin_fd(j->pfd, j->inst, name)))
		return e;
	slk_zero_percpu(j->actr, j->k, sizeof(struct sl_att_ctr));
	j->t.since = time(NULL);
	slk_record_to(j->afd, j->k);
	slk_note_record(&j->t);
	sl_fault("join-recorded");
	/* the slot before the attach: the first packet finds its record */
	v.ifindex = j->t.ifindex;
	v.att = j->k;
	if (bpf_map_update_elem(j->ifx, &j->slot, &v, BPF_ANY)) {
		e = -errno;
		slk_err("map att_ifx: cannot add %s: %s", j->t.ifname, strerror(-e));
	} else {
		e = slk_attach(j->inst, j->pfd, j->o, &j->t);
	}
	slk_record_to(-1, 0);
	if (!e && v.ifindex != j->t.ifindex) {
		slk_err("%s: the interface was created again during the attach; try again", j->t.ifname);
		slk_detach_one(j->inst, &j->t);
		e = -EAGAIN;
	}
	if (!e && bpf_map_update_elem(j->afd, &j->k, &j->t, BPF_ANY)) {
		e = -errno;
		slk_detach_one(j->inst, &j->t);
	}
	if (e) {
		slk_forget_record(j->inst, j->afd, j->actr, j->k);
		slk_unpin(j->inst, name);
		return e;
	}
	sl_fault("join-attached");
	return slk_rename_pin(j->inst, name, name + 5);
}

static int join_locked(struct join *j)
{
	char who[128];
	int e;

	if (!slk_pin_exists(j->inst, "config"))
		return -ENOENT;
	j->afd = slk_obj_get(j->inst, "attachments");
	j->actr = slk_obj_get(j->inst, "att_counters");
	if (j->afd < 0 || j->actr < 0)
		return -ENOENT;
	if ((e = sl_read_attach(j->afd, j->att)))
		return e;
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++)
		if (j->att[k].hook == j->t.hook && !strncmp(j->att[k].ifname, j->t.ifname, SL_IFNAME_LEN) &&
		    !strncmp(j->att[k].netns, j->t.netns, SL_IFNAME_LEN))
			return -EAGAIN;         /* there already (alive or not): apply sorts it out */
	if (!j->o->allow_stack && slk_hook_taken(j->inst, &j->t, who, sizeof(who))) {
		slk_err("%s: %s already filters %s here; detach it first (sluice detach --instance ...)",
			j->t.ifname, who, sl_hook_name(j->t.hook));
		return -EEXIST;
	}
	if ((e = plan_join(j)))
		return e;
	return do_join(j);
}

int sl_attach_join(const struct sl_apply_opts *o, uint32_t *rec)
{
	struct join *j = calloc(1, sizeof(*j));
	struct slk_lock lk = { -1 };
	int e;

	if (!j)
		return -ENOMEM;
	j->inst = o->instance ? o->instance : "default";
	j->o = o;
	j->afd = j->actr = j->pfd = j->ifx = -1;
	j->t.hook = o->hook;
	j->t.dir = o->dir;
	e = -EINVAL;
	if (o->ndevs != 1 || o->hook == SL_HOOK_CGROUP || !slk_valid_instance(j->inst) ||
	    strlen(o->devs[0]) >= SL_IFNAME_LEN || (o->netns && strlen(o->netns) >= SL_IFNAME_LEN))
		goto out;
	snprintf(j->t.ifname, sizeof(j->t.ifname), "%s", o->devs[0]);
	snprintf(j->t.netns, sizeof(j->t.netns), "%s", o->netns ? o->netns : "");
	if ((e = slk_lock_instance(j->inst, &lk)))
		goto out;
	if ((e = slk_recover(j->inst)) == 0)
		e = join_locked(j);
	slk_unlock_instance(&lk);
	if (!e && rec)
		*rec = j->k;
out:
	if (j->afd >= 0)
		close(j->afd);
	if (j->actr >= 0)
		close(j->actr);
	if (j->pfd >= 0)
		close(j->pfd);
	if (j->ifx >= 0)
		close(j->ifx);
	free(j);
	return e;
}

int sl_attach_record(const char *inst, enum sl_hook hook, const char *dev, uint32_t *rec)
{
	struct sl_attach *att = calloc(SL_MAX_ATTACH, sizeof(*att));
	int afd = slk_obj_get(inst, "attachments"), e = -ENOENT;

	if (att && afd >= 0 && sl_read_attach(afd, att) == 0)
		for (__u32 k = 0; k < SL_MAX_ATTACH && e; k++)
			if (att[k].hook == hook && !strncmp(att[k].ifname, dev, SL_IFNAME_LEN)) {
				*rec = k;
				e = 0;
			}
	if (afd >= 0)
		close(afd);
	free(att);
	return e;
}

int sl_prune(const char *inst)
{
	struct sl_attach *att = calloc(SL_MAX_ATTACH, sizeof(*att));
	struct slk_lock lk = { -1 };
	struct sl_instance in;
	size_t left = 0;
	int e, afd = -1, actr = -1;

	if (!att)
		return -ENOMEM;
	if ((e = slk_lock_instance(inst, &lk))) {
		free(att);
		return e;
	}
	slk_recover(inst);
	if (!slk_pin_exists(inst, "config")) {
		e = 0;
		goto out;
	}
	afd = slk_obj_get(inst, "attachments");
	actr = slk_obj_get(inst, "att_counters");
	if (afd < 0 || (e = sl_read_attach(afd, att)))
		goto out;
	slk_instance_init(&in);
	snprintf(in.name, sizeof(in.name), "%s", inst);
	for (__u32 k = 0; k < SL_MAX_ATTACH; k++) {
		if (att[k].hook == SL_HOOK_NONE)
			continue;
		if (sl_attach_alive(&in, &att[k])) {
			left++;
			continue;
		}
		slk_detach_one(inst, &att[k]);
		slk_forget_record(inst, afd, actr, k);
	}
	if (left == 0) {
		slk_unpin(inst, "config");      /* uncommit first, as sl_detach does */
		e = slk_remove_all(inst);
		e = e < 0 ? e : 0;
	}
out:
	if (afd >= 0)
		close(afd);
	if (actr >= 0)
		close(actr);
	if (!slk_pin_exists(inst, "config") && !slk_pin_exists(inst, "owner"))
		slk_lock_unlink(inst);          /* the instance is gone (lock.c) */
	slk_unlock_instance(&lk);
	free(att);
	return e;
}
