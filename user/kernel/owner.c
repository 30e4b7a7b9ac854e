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
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kernel/kernel.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static void owner_path(char *buf, size_t sz, const char *inst)
{
	snprintf(buf, sz, SL_PIN_ROOT "/%s/owner", inst);
}

int sl_owner_set(const char *inst, const struct sl_owner *o)
{
	char p[PATH_MAX];
	__u32 k = 0;
	int fd, e = 0;

	owner_path(p, sizeof(p), inst);
	fd = bpf_obj_get(p);
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_owner", sizeof(k), sizeof(*o), 1, NULL);
		if (fd < 0) {
			e = -errno;
			fprintf(stderr, "sluice: %s: cannot create the owner record: %s\n", p,
				strerror(-e));
			return e;
		}
		if (bpf_map_update_elem(fd, &k, o, BPF_ANY) || bpf_obj_pin(fd, p))
			e = -errno;
	} else if (bpf_map_update_elem(fd, &k, o, BPF_ANY)) {
		e = -errno;
	}
	if (e)
		fprintf(stderr, "sluice: %s: cannot write the owner record: %s\n", p, strerror(-e));
	close(fd);
	return e;
}

int sl_owner_get(const char *inst, struct sl_owner *o)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), k = 0;
	char p[PATH_MAX];
	int fd, e = 0;

	memset(o, 0, sizeof(*o));
	owner_path(p, sizeof(p), inst);
	fd = bpf_obj_get(p);
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
