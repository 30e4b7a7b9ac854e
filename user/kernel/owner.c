// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner.c - who an instance belongs to: the container attachment a CNI
 * plugin made it for (container id, network, interface, netns path, rules
 * file, digest of the compiled rules).  Kept in the instance's own pin
 * directory as a one-entry array map "owner", so it goes with the
 * instance's other pins (sluice detach --all, a reboot) and never outlives
 * it.  `sluice status` shows it, `sluice gc` and the plugin's DEL/CHECK/GC
 * read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kernel/internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int sl_owner_set(const char *inst, const struct sl_owner *o)
{
	__u32 k = 0;
	int fd, e;

	/* the owner may come first: an instance that is being made is
	 * already someone's (sluice gc keeps it while its netns lives) */
	if (!slk_valid_instance(inst)) {
		slk_err("'%s' is not an instance name", inst);
		return -EINVAL;
	}
	if ((e = slk_ensure_bpffs()) || (e = slk_mkdir_instance(inst)))
		return e;
	fd = slk_obj_get(inst, "owner");
	if (fd >= 0) {
		e = bpf_map_update_elem(fd, &k, o, BPF_ANY) ? -errno : 0;
	} else {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_owner", sizeof(k), sizeof(*o), 1, NULL);
		if (fd < 0)
			e = -errno;
		else if (bpf_map_update_elem(fd, &k, o, BPF_ANY))
			e = -errno;
		else
			e = slk_pin_fd(fd, inst, "owner");
	}
	if (e)
		slk_err("%s/%s/owner: cannot write the owner record: %s", SL_PIN_ROOT, inst,
			strerror(-e));
	if (fd >= 0)
		close(fd);
	return e;
}

int sl_owner_get(const char *inst, struct sl_owner *o)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), k = 0;
	int fd, e = 0;

	memset(o, 0, sizeof(*o));
	fd = slk_obj_get(inst, "owner");
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size != sizeof(*o))
		e = -EPROTO;    /* written by another version of sluice */
	else if (bpf_map_lookup_elem(fd, &k, o))
		e = -errno;
	close(fd);
	o->kind[sizeof(o->kind) - 1] = o->id[sizeof(o->id) - 1] = 0;
	o->network[sizeof(o->network) - 1] = o->ifname[sizeof(o->ifname) - 1] = 0;
	o->netns[sizeof(o->netns) - 1] = o->rules[sizeof(o->rules) - 1] = 0;
	return e;
}

bool sl_netns_alive(const char *path)
{
	struct statfs sf;

	/* a bind-mounted namespace (ip netns, podman, containerd) or
	 * /proc/PID/ns/net: both are nsfs files while the namespace lives; an
	 * unmounted /run/netns/NAME left behind is a plain empty file */
	return path && path[0] && statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

void sl_owner_clear(const char *inst)
{
	char dir[PATH_MAX];

	slk_unpin(inst, "owner");
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	rmdir(dir);             /* only if nothing else is pinned */
}

int sl_owner_stale(const char *inst, struct sl_owner *o)
{
	struct sl_attach att[SL_MAX_ATTACH];
	struct sl_instance in;
	int e = sl_owner_get(inst, o);

	if (e)
		return e;
	if (strcmp(o->kind, "cni") || sl_netns_alive(o->netns))
		return 0;
	/* the namespace is gone; so is the veth, normally.  A live
	 * attachment means someone still holds it: keep filtering. */
	if ((e = sl_instance_open(inst, &in)))
		return e == -EUCLEAN ? 0 : 1;   /* never loaded, or pins incomplete: nothing runs;
						 * damaged: it may still filter */
	e = sl_read_attach(in.attach_fd, att);
	for (size_t k = 0; !e && k < SL_MAX_ATTACH; k++)
		if (att[k].hook != SL_HOOK_NONE && sl_attach_alive(&in, &att[k]))
			e = 1;
	sl_instance_close(&in);
	return e ? 0 : 1;
}

/*
 * tc-egress attachments are on the container's own interface, recorded
 * with its ifindex but without a namespace (the plugin entered it itself):
 * detach from inside that namespace while it lives, else from an empty
 * one, where no interface of the host can be taken for the container's
 * (a clsact filter is looked up by ifindex; TCX links go by their pins).
 */
static int enter_owner_netns(const char *inst, int *saved)
{
	struct sl_owner o;
	int fd = -1;

	*saved = -1;
	if (sl_owner_get(inst, &o) || strcmp(o.hook, "tc-egress"))
		return 0;
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (sl_netns_alive(o.netns))
		fd = open(o.netns, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 ? setns(fd, CLONE_NEWNET) : unshare(CLONE_NEWNET)) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		close(*saved);
		*saved = -1;
		return e;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int sl_owner_remove(const char *inst)
{
	struct sl_detach_opts d = { .all = true };
	char p[PATH_MAX];
	struct stat st;
	int e, saved;

	snprintf(p, sizeof(p), SL_PIN_ROOT "/%s/config", inst);
	if (stat(p, &st)) {     /* an owner record without a loaded instance */
		sl_owner_clear(inst);
		return 0;
	}
	if ((e = enter_owner_netns(inst, &saved))) {
		slk_err("instance %s: cannot enter a network namespace to detach from: %s", inst,
			strerror(-e));
		return e;
	}
	e = sl_detach(inst, &d);
	if (saved >= 0) {
		if (setns(saved, CLONE_NEWNET))
			slk_err("cannot return to the original network namespace: %s", strerror(errno));
		close(saved);
	}
	if (e == -ENOENT)
		sl_owner_clear(inst);
	return e == -ENOENT ? 0 : e;
}
