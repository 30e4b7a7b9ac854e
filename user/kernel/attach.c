// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach.c - the per-hook attach interface (struct slk_hook_ops) and what the link-based hooks share
 */
#include "kernel/journal.h"

void slk_link_pin_name(char *buf, size_t sz, const struct sl_attach *a)
{
	if (a->hook == SL_HOOK_CGROUP)
		snprintf(buf, sz, "link-cgroup-%s%llu", a->dir == SL_DIR_IN ? "in-" : "",
			 (unsigned long long)a->cgroup_id);
	else if (a->netns[0])
		snprintf(buf, sz, "link-%s-%.*s@%.*s", sl_hook_name(a->hook), SL_IFNAME_LEN, a->ifname,
			 SL_IFNAME_LEN, a->netns);
	else
		snprintf(buf, sz, "link-%s-%.*s", sl_hook_name(a->hook), SL_IFNAME_LEN, a->ifname);
	/* bpffs refuses '.' in names: "eth0.100" is pinned as "eth0_100" */
	for (char *c = buf; *c; c++)
		if (*c == '.')
			*c = '_';
}

void slk_prog_pin_name(char *buf, size_t sz, const char *prefix, size_t k)
{
	snprintf(buf, sz, "%sprog-%zu", prefix, k);
}

/* bpf_link_info: type, id, prog_id, then (8-aligned) the per-type union; read
 * raw because Debian 12's uapi headers predate TCX. */
struct raw_link_info { __u32 type, id, prog_id, pad; __u32 u[28]; };

static int slk_link_info(int lfd, struct raw_link_info *li)
{
	__u32 len = sizeof(*li);

	memset(li, 0, sizeof(*li));
	return bpf_obj_get_info_by_fd(lfd, li, &len) ? -errno : 0;
}

#define SL_LINK_TYPE_CGROUP 3
#define SL_LINK_TYPE_XDP    6
#define SL_LINK_TYPE_TCX    11

/* A link-based attachment's link, by its pin. */
bool slk_link_alive(const struct sl_instance *in, const struct sl_attach *a)
{
	struct raw_link_info li;
	char name[96];
	bool alive;
	int fd;

	slk_link_pin_name(name, sizeof(name), a);
	fd = slk_obj_get(in->name, name);
	if (fd < 0)
		return false;
	alive = slk_link_info(fd, &li) == 0;
	/* A TCX or XDP link whose device went away reports ifindex 0; a cgroup
	 * link whose cgroup was removed reports cgroup id 0. */
	if (alive && (li.type == SL_LINK_TYPE_TCX || li.type == SL_LINK_TYPE_XDP))
		alive = li.u[0] != 0;
	if (alive && li.type == SL_LINK_TYPE_CGROUP)
		alive = li.u[0] != 0 || li.u[1] != 0;
	close(fd);
	return alive;
}

int slk_pin_link(const char *inst, int lfd, struct sl_attach *a)
{
	struct raw_link_info li;
	char name[96];
	int e;

	if (slk_link_info(lfd, &li) == 0)
		a->link_id = li.id;
	slk_link_pin_name(name, sizeof(name), a);
	e = slk_pin_fd(lfd, inst, name);
	close(lfd);             /* the pin holds the link */
	return e;
}

/* Point a link at @prog_fd, atomically. */
int slk_link_update(const char *inst, const struct sl_attach *a, int prog_fd)
{
	char name[96];
	int lfd, e = 0;

	slk_link_pin_name(name, sizeof(name), a);
	lfd = slk_obj_get(inst, name);
	if (lfd < 0) {
		e = -errno;
		slk_err("%s/%s/%s: link pin missing: %s", SL_PIN_ROOT, inst, name, strerror(-e));
		return e;
	}
	if (bpf_link_update(lfd, prog_fd, NULL)) {
		e = -errno;
		slk_err("%s: cannot switch the %s link to the new program: %s",
			a->hook == SL_HOOK_CGROUP ? a->cgroup : a->ifname, sl_hook_name(a->hook),
			strerror(-e));
	}
	close(lfd);
	return e;
}

/*
 * Detach the link first (BPF_LINK_DETACH: the program leaves the hook before
 * the call returns), then drop the pin.  Dropping the last reference alone
 * frees the link in the kernel's deferred work, later: traffic right after a
 * `sluice detach` or a CNI DEL was still judged (seen as a flaky e2e check).
 */
int slk_link_detach(const char *inst, const struct sl_attach *a)
{
	char name[96];
	int fd;

	slk_link_pin_name(name, sizeof(name), a);
	fd = slk_obj_get(inst, name);
	if (fd >= 0) {
		(void)bpf_link_detach(fd);      /* else the last reference below */
		close(fd);
	}
	slk_unpin(inst, name);      /* last reference: the link goes */
	return 0;
}

const struct slk_hook_ops *slk_hook_ops(enum sl_hook h)
{
	return h == SL_HOOK_XDP ? &slk_xdp_ops : h == SL_HOOK_CGROUP ? &slk_cgroup_ops : &slk_tc_ops;
}

/* Attach @prog_fd to the target @a names (a->ifname in a->netns, or o->cgroup); fills @a. */
int slk_attach(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a)
{
	return slk_hook_ops(a->hook)->attach(inst, prog_fd, o, a);
}

/* Point an existing attachment at @prog_fd, atomically. */
int slk_switch_attach(const char *inst, const struct sl_attach *a, int prog_fd)
{
	return slk_hook_ops(a->hook)->update(inst, a, prog_fd);
}

int slk_detach_one(const char *inst, const struct sl_attach *a)
{
	return slk_hook_ops(a->hook)->detach(inst, a);
}

bool sl_attach_alive(const struct sl_instance *in, const struct sl_attach *a)
{
	if (a->hook == SL_HOOK_NONE)
		return false;
	return slk_hook_ops(a->hook)->alive(in, a);
}

/* Forget attachment record @k: its program pin, record and counters. */
void slk_forget_record(const char *inst, int attach_fd, int att_ctr_fd, __u32 k)
{
	struct sl_attach z = {0};
	char name[32];

	slk_prog_pin_name(name, sizeof(name), "", k);
	slk_unpin(inst, name);
	bpf_map_update_elem(attach_fd, &k, &z, BPF_ANY);
	if (att_ctr_fd >= 0)
		slk_zero_percpu(att_ctr_fd, k, sizeof(struct sl_att_ctr));
}
