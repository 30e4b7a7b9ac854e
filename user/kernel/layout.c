// SPDX-License-Identifier: GPL-2.0-only
/*
 * layout.c - the version of an instance's pin and map layout (DESIGN.md
 * section 5, "Layout versions"; docs/upgrades.md).
 *
 * Every apply pins `layout` (an array of one u32: SL_LAYOUT_VERSION) with
 * its generation: next-layout, renamed over layout by the commit.  An
 * instance without it was written by a sluice from before layout versions:
 * SL_LAYOUT_UNVERSIONED (3).  A sluice
 *   - refuses an instance of a newer layout, naming the version (it cannot
 *     know what the newer maps mean), before it reads or changes anything;
 *   - reads and takes over an older layout it knows (SL_LAYOUT_MIN and up):
 *     the takeover is an ordinary apply (kept maps reused, programs replaced
 *     atomically, the new layout committed with the generation);
 *   - never reinterprets a pinned map whose type, key size, value size or
 *     flags differ from what its own BPF object declares for that name
 *     (Cilium's check before it reuses a pinned map): it says which map and
 *     how it differs, whatever the layout number says.
 */
#include "kernel/internal.h"

#define SLK_MAX_MAPS 64

/* What this sluice's BPF object declares, map by map (read once). */
static struct slk_map_decl {
	char name[BPF_OBJ_NAME_LEN];
	__u32 type, key, value, flags;
} decl[SLK_MAX_MAPS];
static size_t ndecl;
static int decl_err;
static pthread_once_t decl_once = PTHREAD_ONCE_INIT;

/* BPF_F_MMAPABLE is chosen per generation by size (load.c: node6). */
#define SLK_FLAGS_COMPARED(f) ((f) & ~(__u32)BPF_F_MMAPABLE)

static void read_decls(void)
{
	struct sluice_bpf *s = sluice_bpf__open();
	struct bpf_map *m;

	if (!s) {
		decl_err = -errno ? -errno : -ENOMEM;
		return;
	}
	bpf_object__for_each_map(m, s->obj) {
		struct slk_map_decl *d;

		if (bpf_map__is_internal(m) || ndecl == SLK_MAX_MAPS)
			continue;       /* .rodata (config): read by prefix, grows by design */
		d = &decl[ndecl++];
		snprintf(d->name, sizeof(d->name), "%s", bpf_map__name(m));
		d->type = bpf_map__type(m);
		d->key = bpf_map__key_size(m);
		d->value = bpf_map__value_size(m);
		d->flags = SLK_FLAGS_COMPARED(bpf_map__map_flags(m));
	}
	sluice_bpf__destroy(s);
}

static const struct slk_map_decl *find_decl(const char *name)
{
	for (size_t i = 0; i < ndecl; i++)
		if (!strcmp(decl[i].name, name))
			return &decl[i];
	return NULL;
}

const char *slk_map_type_name(__u32 t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "unknown";
}

/* Pin @name of @inst against the declaration of the same name: 0, or
 * -EPROTO with the difference named (a pin this sluice does not declare,
 * e.g. owner, or one that is absent: 0). */
static int compat_one(const char *inst, const char *name, __u32 layout)
{
	const struct slk_map_decl *d = find_decl(name);
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	int fd, e = 0;

	if (!d || slk_mig_replaced(name, layout) || (fd = slk_obj_get(inst, name)) < 0)
		return 0;       /* not ours, replaced by the takeover (migrate.c), or absent */
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		e = -errno;
		close(fd);
		slk_err("%s/%s/%s: cannot read the map's description: %s", SL_PIN_ROOT, inst, name,
			strerror(-e));
		return e;
	}
	close(fd);
	if (info.type == d->type && info.key_size == d->key && info.value_size == d->value &&
	    SLK_FLAGS_COMPARED(info.map_flags) == d->flags)
		return 0;
	slk_err("%s/%s/%s: the pinned map is %s, key %u, value %u bytes, flags %#x; this sluice "
		"(pin layout %d) expects %s, key %u, value %u bytes, flags %#x under that name, and "
		"does not reinterpret it (the instance has pin layout %u): run the sluice that wrote "
		"it, or remove the instance (sluice detach --all --instance %s) and apply again",
		SL_PIN_ROOT, inst, name, slk_map_type_name(info.type), info.key_size, info.value_size,
		info.map_flags, SL_LAYOUT_VERSION, slk_map_type_name(d->type), d->key, d->value,
		d->flags, layout, inst);
	return -EPROTO;
}

int slk_layout_read(const char *inst, __u32 *version)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), k = 0, v = 0;
	int fd = slk_obj_get(inst, "layout"), e = 0;

	*version = SL_LAYOUT_UNVERSIONED;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.key_size != 4 || info.value_size != 4 || bpf_map_lookup_elem(fd, &k, &v)) {
		slk_err("%s/%s/layout: not a pin-layout record (an array of one 4-byte version); "
			"remove the instance (sluice detach --all --instance %s)", SL_PIN_ROOT, inst, inst);
		e = -EPROTO;
	} else {
		*version = v;
	}
	close(fd);
	return e;
}

int slk_layout_check(const char *inst, __u32 *version)
{
	__u32 v;
	int e;

	if ((e = slk_layout_read(inst, &v)))
		return e;
	if (version)
		*version = v;
	if (v > SL_LAYOUT_VERSION) {
		slk_err("%s/%s: pin layout %u, written by a newer sluice; this sluice knows layouts "
			"%d to %d and does not touch it: use that sluice (sluice --version names the "
			"layout of each build)", SL_PIN_ROOT, inst, v, SL_LAYOUT_MIN, SL_LAYOUT_VERSION);
		return -EPROTO;
	}
	if (v < SL_LAYOUT_MIN) {
		slk_err("%s/%s: pin layout %u is older than any this sluice takes over (%d to %d): "
			"remove the instance with the sluice that wrote it (sluice detach --all "
			"--instance %s) and apply again", SL_PIN_ROOT, inst, v, SL_LAYOUT_MIN,
			SL_LAYOUT_VERSION, inst);
		return -EPROTO;
	}
	return 0;
}

int slk_layout_compat(const char *inst)
{
	char dir[PATH_MAX];
	struct dirent *de;
	__u32 v = SL_LAYOUT_UNVERSIONED;
	DIR *d;
	int e = 0;

	pthread_once(&decl_once, read_decls);
	if (decl_err) {
		slk_err("cannot open the BPF object to compare the pinned maps with: %s",
			strerror(-decl_err));
		return decl_err;
	}
	if ((e = slk_layout_check(inst, &v)))
		return e;
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!e && (de = readdir(d)))
		if (strncmp(de->d_name, "next-", 5) && strcmp(de->d_name, "config"))
			e = compat_one(inst, de->d_name, v);
	closedir(d);
	return e;
}

int slk_layout_pin_next(const char *inst)
{
	__u32 k = 0, v = SL_LAYOUT_VERSION;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_layout", 4, 4, 1, NULL), e;

	if (fd < 0) {
		e = -errno;
		slk_err("%s/%s: cannot create the pin-layout record: %s", SL_PIN_ROOT, inst, strerror(-e));
		return e;
	}
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
		e = -errno;
		close(fd);
		slk_err("%s/%s: cannot write the pin-layout record: %s", SL_PIN_ROOT, inst, strerror(-e));
		return e;
	}
	e = slk_pin_fd(fd, inst, "next-layout");
	close(fd);
	return e;
}

const char *sl_libbpf_version(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s (built against %d.%d)", libbpf_version_string(),
		 LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION);
	return buf;
}
