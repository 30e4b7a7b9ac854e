// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_tc.c - TC hooks: TCX links, clsact filters on kernels without TCX
 */
#include "kernel/journal.h"

static bool slk_hook_ingress(enum sl_hook h)
{
	return h == SL_HOOK_TC_INGRESS || h == SL_HOOK_DNS;
}

static enum bpf_tc_attach_point slk_tc_point(enum sl_hook h)
{
	return slk_hook_ingress(h) ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

/* TC: TCX first (as the first program of the hook: nothing before sluice can
 * pass traffic around it), clsact on kernels without TCX. */
static int slk_attach_tc_here(const char *inst, int prog_fd, const char *dev, enum sl_tc_mode mode,
			  struct sl_attach *a)
{
	int e;

	if (mode != SL_TC_CLSACT) {
		int type = slk_hook_ingress(a->hook) ? SL_BPF_TCX_INGRESS : SL_BPF_TCX_EGRESS;
		DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = SL_BPF_F_BEFORE);
		int lfd;

		a->kind = SL_ATT_TCX;
		slk_note_record(a);
		lfd = bpf_link_create(prog_fd, a->ifindex, type, &lo);

		if (lfd >= 0) {
			a->kind = SL_ATT_TCX;
			return slk_pin_link(inst, lfd, a);
		}
		e = -errno;
		if (mode == SL_TC_TCX || (e != -EINVAL && e != -EOPNOTSUPP && e != -SL_ENOTSUPP)) {
			slk_err("%s: cannot attach a TCX %s link: %s", dev, sl_hook_name(a->hook), strerror(-e));
			return e;
		}
	}
	{
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = slk_tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = prog_fd);

		e = bpf_tc_hook_create(&th);
		if (e && e != -EEXIST) {
			slk_err("%s: cannot create a clsact qdisc: %s", dev, strerror(-e));
			return e;
		}
		a->qdisc_created = e == 0;
		/* First in line: priority 1 (the lowest number runs first) with
		 * the instance's own handle; if another filter holds priority 1,
		 * the next of 1..SL_TC_PRIO_MAX, and say that others may run
		 * before.  The record names handle and priority before each try,
		 * so that a kill after the attach leaves nothing sluice cannot
		 * find (docs/operations.md section 3). */
		a->kind = SL_ATT_CLSACT;
		a->handle = slk_tc_handle(inst);
		e = -EEXIST;
		for (a->priority = 1; a->priority <= SL_TC_PRIO_MAX; a->priority++) {
			to.priority = a->priority;
			to.handle = a->handle;
			to.prog_id = 0;
			slk_note_record(a);
			e = bpf_tc_attach(&th, &to);
			if (e != -EEXIST && e != -EINVAL && e != -EBUSY)
				break;
		}
		if (!e && a->priority > 1)
			fprintf(stderr, "sluice: %s: warning: clsact priority 1 is taken; sluice's filter "
				"runs after the filters before it (priority %u)\n", dev, a->priority);
		if (e) {
			slk_err("%s: cannot attach a clsact %s filter: %s", dev, sl_hook_name(a->hook), strerror(-e));
			if (a->qdisc_created) {
				th.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				bpf_tc_hook_destroy(&th);
			}
			return e;
		}
		a->kind = SL_ATT_CLSACT;
		a->handle = to.handle;
		a->priority = to.priority;
	}
	return 0;
}

static int tc_attach(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a)
{
	int saved, e;

	if ((e = slk_dev_enter(a->ifname, a, &saved)))
		return e;
	e = slk_attach_tc_here(inst, prog_fd, a->ifname, o->tc_mode, a);
	sl_netns_leave(saved);
	return e;
}

static int tc_update(const char *inst, const struct sl_attach *a, int prog_fd)
{
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = slk_tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE,
				    .handle = a->handle, .priority = a->priority);
		int saved, e = slk_netns_enter(a->netns, &saved);

		if (e)
			return e;
		e = bpf_tc_attach(&th, &to);
		sl_netns_leave(saved);
		if (e)
			slk_err("%s: cannot replace the clsact filter (handle %u, prio %u): %s",
				a->ifname, a->handle, a->priority, strerror(-e));
		return e;
	}
	return slk_link_update(inst, a, prog_fd);
}

/* Whether the program of a filter at sluice's handle is provably sluice's:
 * pinned by the instance, or a sluice program no instance pins (what a lost
 * pin directory leaves). */
static bool tc_prog_ours(const char *inst, uint32_t id, char *name, size_t sz)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(name, sz, "?");
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(name, sz, "%.*s", (int)sizeof(info.name), info.name);
	if (fd >= 0)
		close(fd);
	if (slk_prog_ours(inst, id))
		return true;
	return !strncmp(name, "sluice_", 7) && !slk_prog_ours(NULL, id);
}

static int tc_detach(const char *inst, const struct sl_attach *a)
{
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, th, .ifindex = a->ifindex, .attach_point = slk_tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .handle = a->handle, .priority = a->priority);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = a->handle, .priority = a->priority);
		int saved, e = slk_netns_enter(a->netns, &saved);
		char pn[24];

		if (e)
			return e;
		if (a->ifindex && bpf_tc_query(&th, &q) == 0 && !tc_prog_ours(inst, q.prog_id, pn, sizeof(pn))) {
			/* someone replaced sluice's filter: theirs now, not ours to remove */
			sl_netns_leave(saved);
			fprintf(stderr, "sluice: %s: the clsact filter at sluice's handle 0x%x priority %u runs "
				"program %u (%s), not sluice's: left in place\n", a->ifname, a->handle,
				a->priority, q.prog_id, pn);
			return 0;
		}
		e = bpf_tc_detach(&th, &to);
		sl_netns_leave(saved);
		if (e && e != -ENOENT && e != -ENODEV && e != -EINVAL) {
			slk_err("%s: cannot remove the clsact filter (handle %u, prio %u): %s",
				a->ifname, a->handle, a->priority, strerror(-e));
			return e;
		}
		/* The qdisc stays: other filters may have joined it since. */
		return 0;
	}
	return slk_link_detach(inst, a);
}

static bool tc_alive(const struct sl_instance *in, const struct sl_attach *a)
{
	if (a->kind == SL_ATT_CLSACT) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = slk_tc_point(a->hook));
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->handle, .priority = a->priority);
		bool alive;
		int saved;

		if (slk_netns_enter(a->netns, &saved))
			return false;
		alive = bpf_tc_query(&hook, &opts) == 0;
		sl_netns_leave(saved);
		return alive;
	}
	return slk_link_alive(in, a);
}

/* TC egress, TC ingress and the DNS learner (TC ingress). */
const struct slk_hook_ops slk_tc_ops = {
	.attach = tc_attach, .update = tc_update, .detach = tc_detach, .alive = tc_alive,
};

/*
 * First place again for a TCX attachment that something was put in front
 * of: a new link to @prog_fd before every other program, pinned over the
 * old link's pin, which drops the old link.  The new link runs before the
 * old one goes, so there is no moment without sluice on the hook.
 */
int slk_tcx_restore(const char *inst, struct sl_attach *a, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = SL_BPF_F_BEFORE);
	int saved, lfd, e;

	if ((e = slk_netns_enter(a->netns, &saved)))
		return e;
	lfd = bpf_link_create(prog_fd, a->ifindex,
			      slk_hook_ingress(a->hook) ? SL_BPF_TCX_INGRESS : SL_BPF_TCX_EGRESS, &lo);
	e = lfd < 0 ? -errno : 0;
	sl_netns_leave(saved);
	if (e) {
		slk_err("%s: cannot attach a TCX %s link in first place: %s", a->ifname,
			sl_hook_name(a->hook), strerror(-e));
		return e;
	}
	return slk_pin_link(inst, lfd, a);
}
