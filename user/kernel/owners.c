// SPDX-License-Identifier: GPL-2.0-only
/*
 * owners.c - whose each attachment of a shared instance is: sluice-cni
 * attaches many containers to one instance (one per ruleset), and records
 * each one's container id, interface, network namespace and pod in the
 * instance's "owners" map (a hash map without preallocation: an entry per
 * container, keyed by a hash of container id and interface), pinned with
 * the instance's other pins so that it goes with them.  `sluice status`
 * and the metrics name an attachment's container from it; the plugin's
 * DEL, CHECK and GC find a container's attachment by it.
 */
#include "kernel/internal.h"

uint64_t sl_owners_key(const char *id, const char *ifname)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[2] = { id ? id : "", ifname ? ifname : "" };

	for (int i = 0; i < 2; i++)
		for (const char *p = parts[i];; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	return h;
}

/* The owners map of @inst, created (and pinned) if @create and missing. */
static int owners_fd(const char *inst, bool create)
{
	int fd = slk_obj_get(inst, "owners"), e;

	if (fd >= 0 || !create)
		return fd >= 0 ? fd : (errno == ENOENT ? -ENOENT : -errno);
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sl_owners", sizeof(uint64_t),
			    sizeof(struct sl_att_owner), SL_MAX_ATTACH, &mo);
	if (fd < 0)
		return -errno;
	if ((e = slk_pin_fd(fd, inst, "owners"))) {
		close(fd);
		return e;
	}
	return fd;
}

int sl_owners_set(const char *inst, const struct sl_att_owner *o)
{
	uint64_t key = sl_owners_key(o->id, o->ifname);
	int fd, e;

	if ((e = slk_ensure_bpffs()) || (e = slk_mkdir_instance(inst)))
		return e;
	if ((fd = owners_fd(inst, true)) < 0) {
		slk_err("%s/%s/owners: cannot create: %s", SL_PIN_ROOT, inst, strerror(-fd));
		return fd;
	}
	e = bpf_map_update_elem(fd, &key, o, BPF_ANY) ? -errno : 0;
	if (e)
		slk_err("%s/%s/owners: cannot record container %.12s: %s", SL_PIN_ROOT, inst, o->id,
			strerror(-e));
	close(fd);
	return e;
}

int sl_owners_get(const char *inst, const char *id, const char *ifname, struct sl_att_owner *o)
{
	uint64_t key = sl_owners_key(id, ifname);
	int fd = owners_fd(inst, false), e;

	if (fd < 0)
		return fd;
	e = bpf_map_lookup_elem(fd, &key, o) ? -errno : 0;
	close(fd);
	if (!e && (strncmp(o->id, id, sizeof(o->id)) || strncmp(o->ifname, ifname, sizeof(o->ifname))))
		e = -ENOENT;    /* a hash collision: not this one */
	return e;
}

int sl_owners_del(const char *inst, const char *id, const char *ifname)
{
	uint64_t key = sl_owners_key(id, ifname);
	int fd = owners_fd(inst, false), e;

	if (fd < 0)
		return fd;
	e = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	return e;
}

int sl_owners_each(const char *inst, sl_owners_fn fn, void *ctx)
{
	uint64_t key, next, *prev = NULL;
	struct sl_att_owner o;
	int fd = owners_fd(inst, false), r = 0;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	while (!r && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &o))
			continue;       /* deleted meanwhile */
		o.id[sizeof(o.id) - 1] = o.ifname[sizeof(o.ifname) - 1] = 0;
		o.netns[sizeof(o.netns) - 1] = o.pod_ns[sizeof(o.pod_ns) - 1] = 0;
		o.pod_name[sizeof(o.pod_name) - 1] = 0;
		r = fn(&o, ctx);
	}
	close(fd);
	return r;
}

static int by_rec(const struct sl_att_owner *o, void *ctx)
{
	struct sl_att_owner *t = ctx;

	if (o->rec < SL_MAX_ATTACH)
		t[o->rec] = *o;
	return 0;
}

int sl_owners_table(const char *inst, struct sl_att_owner **out)
{
	struct sl_att_owner *t;
	int fd = owners_fd(inst, false), e;

	*out = NULL;
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	close(fd);
	if (!(t = calloc(SL_MAX_ATTACH, sizeof(*t))))
		return -ENOMEM;
	if ((e = sl_owners_each(inst, by_rec, t))) {
		free(t);
		return e;
	}
	*out = t;
	return 0;
}

const struct sl_att_owner *sl_owner_of(const struct sl_att_owner *t, uint32_t rec, const char *dev)
{
	const struct sl_att_owner *o = t && rec < SL_MAX_ATTACH && t[rec].id[0] ? &t[rec] : NULL;

	/* a record taken over by another container since the table was read */
	if (o && dev && dev[0] && o->dev[0] && strncmp(o->dev, dev, sizeof(o->dev)))
		return NULL;
	return o;
}

/* A stamp of what made a shared instance (sluice-cni: its rules file's
 * identity and the configuration), pinned as "cni_stamp": an array of one u64. */
int sl_owners_stamp_set(const char *inst, uint64_t stamp)
{
	__u32 k = 0;
	int fd = slk_obj_get(inst, "cni_stamp"), e = 0;

	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_cni_stamp", sizeof(k), sizeof(stamp), 1, NULL);
		if (fd < 0)
			return -errno;
		if ((e = slk_pin_fd(fd, inst, "cni_stamp"))) {
			close(fd);
			return e;
		}
	}
	if (bpf_map_update_elem(fd, &k, &stamp, BPF_ANY))
		e = -errno;
	close(fd);
	return e;
}

int sl_owners_stamp_get(const char *inst, uint64_t *stamp)
{
	__u32 k = 0;
	int fd = slk_obj_get(inst, "cni_stamp"), e;

	if (fd < 0)
		return -ENOENT;
	e = bpf_map_lookup_elem(fd, &k, stamp) ? -errno : 0;
	close(fd);
	return e;
}
