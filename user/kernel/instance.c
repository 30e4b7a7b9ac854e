// SPDX-License-Identifier: GPL-2.0-only
/*
 * instance.c - instances: names, bpffs, pins, locks, open/list/close (the pin layout is in internal.h)
 */
#include "kernel/journal.h"

bool slk_valid_instance(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SL_INST_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '-' || c == '_'))))
			return false;
	}
	return true;
}

/* Mount bpffs at /sys/fs/bpf if it is missing. */
/* The parent of @pid (/proc/PID/stat, the field after the command), or 0. */
static int parent_of(int pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && sscanf(p + 1, " %*c %d", &ppid) != 1)
		ppid = 0;
	fclose(f);
	return ppid;
}

int slk_ensure_bpffs(void)
{
	struct statfs st, pst;
	struct stat self, other, ours, theirs;
	char pns[64], proot[64];
	int pid = (int)getpid();

	/*
	 * `ip netns exec` runs a command in a mount namespace of its own whose
	 * /sys is a fresh sysfs (without bpffs, or with a private one): pins
	 * made there vanish with it, and the links and the filter with them.
	 * The nearest ancestor in another mount namespace (the shell that ran
	 * ip netns exec, also when a script under it runs sluice) still sees
	 * the host's mounts: /sys/fs/bpf must be the very bpffs it sees.
	 * (An ancestor whose /proc entries we cannot read ends the search.)
	 */
	if (stat("/proc/self/ns/mnt", &self) == 0)
		for (int depth = 0; depth < 64 && (pid = parent_of(pid)) > 0; depth++) {
			snprintf(pns, sizeof(pns), "/proc/%d/ns/mnt", pid);
			snprintf(proot, sizeof(proot), "/proc/%d/root/sys/fs/bpf", pid);
			if (stat(pns, &other))
				break;
			if (self.st_ino == other.st_ino && self.st_dev == other.st_dev)
				continue;
			if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC ||
			    statfs(proot, &pst) || pst.f_type != BPF_FS_MAGIC ||
			    stat("/sys/fs/bpf", &ours) || stat(proot, &theirs) || ours.st_dev != theirs.st_dev) {
				slk_err("/sys/fs/bpf: this mount namespace (under `ip netns exec`?) has no bpffs, "
					"or a private one: pins made here would vanish with it and the filter "
					"with them; run sluice from the host and name the namespace with --netns "
					"NAME (nsenter --net keeps the host's mounts)");
				return -EPERM;
			}
			break;
		}
	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		int e = -errno;
		slk_err("/sys/fs/bpf: cannot create the bpffs mount point: %s", strerror(-e));
		return e;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int e = -errno;
		slk_err("/sys/fs/bpf: cannot mount bpffs: %s (mount it: mount -t bpf bpf /sys/fs/bpf)",
		    strerror(-e));
		return e;
	}
	return 0;
}

static void slk_pin_path(char *buf, size_t sz, const char *inst, const char *name)
{
	snprintf(buf, sz, SL_PIN_ROOT "/%s/%s", inst, name);
}

int slk_obj_get(const char *inst, const char *name)
{
	char p[PATH_MAX];

	slk_pin_path(p, sizeof(p), inst, name);
	return bpf_obj_get(p);
}

int slk_pin_fd(int fd, const char *inst, const char *name)
{
	char p[PATH_MAX];

	slk_pin_path(p, sizeof(p), inst, name);
	unlink(p);
	if (bpf_obj_pin(fd, p)) {
		int e = -errno;
		slk_err("%s: cannot pin: %s", p, strerror(-e));
		return e;
	}
	return 0;
}

int slk_rename_pin(const char *inst, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	slk_pin_path(a, sizeof(a), inst, from);
	slk_pin_path(b, sizeof(b), inst, to);
	if (rename(a, b)) {
		int e = -errno;
		slk_err("%s: cannot rename to %s: %s", a, b, strerror(-e));
		return e;
	}
	return 0;
}

void slk_unpin(const char *inst, const char *name)
{
	char p[PATH_MAX];

	slk_pin_path(p, sizeof(p), inst, name);
	unlink(p);
}

static void slk_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sl_instance_close(struct sl_instance *in)
{
	slk_close_fd(&in->config_fd);
	slk_close_fd(&in->dst4_fd);
	slk_close_fd(&in->dst6_fd);
	slk_close_fd(&in->ports_fd);
	slk_close_fd(&in->counters_fd);
	slk_close_fd(&in->globals_fd);
	slk_close_fd(&in->rules_fd);
	slk_close_fd(&in->attach_fd);
	slk_close_fd(&in->att_ctr_fd);
	slk_close_fd(&in->learned_fd);
	slk_close_fd(&in->names_fd);
	slk_close_fd(&in->wilds_fd);
	slk_close_fd(&in->nclass_fd);
	slk_close_fd(&in->learn_ctr_fd);
	slk_close_fd(&in->name_ring_fd);
	slk_close_fd(&in->name_rings_fd);
	slk_close_fd(&in->pending_fd);
	slk_close_fd(&in->learn_live_fd);
	slk_close_fd(&in->learn_bloom_fd);
}

static int slk_read_config(int fd, struct sl_config *cfg)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), k = 0;
	void *buf;
	int e = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.value_size < sizeof(*cfg))
		return -EINVAL;
	buf = calloc(1, info.value_size);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &k, buf))
		e = -errno;
	else
		memcpy(cfg, buf, sizeof(*cfg));
	free(buf);
	return e;
}

void slk_instance_init(struct sl_instance *in)
{
	memset(in, 0, sizeof(*in));
	in->config_fd = in->dst4_fd = in->dst6_fd = in->ports_fd = -1;
	in->counters_fd = in->globals_fd = in->rules_fd = in->attach_fd = in->att_ctr_fd = -1;
	in->learned_fd = in->names_fd = in->wilds_fd = in->nclass_fd = in->learn_ctr_fd = -1;
	in->name_ring_fd = in->pending_fd = in->learn_live_fd = in->learn_bloom_fd = -1;
	in->name_rings_fd = -1;
}

bool slk_instance_dir_exists(const char *inst)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	return access(dir, F_OK) == 0;
}

/*
 * The readers' way in: under the shared lock, so that no commit is seen
 * half done; an apply or detach that was killed is finished or undone first
 * (docs/operations.md), so that what is opened is what the kernel runs.
 */
int sl_instance_open(const char *inst, struct sl_instance *in)
{
	int lk = -1, e;

	slk_instance_init(in);
	if (!slk_valid_instance(inst)) {
		slk_err("'%s' is not an instance name ([a-z0-9][a-z0-9_-]*, at most %d characters)",
		    inst, SL_INST_LEN);
		return -EINVAL;
	}
	/* no pins, no instance: a reader asking for a name leaves nothing behind (no lock file) */
	{
		char dir[PATH_MAX];
		struct stat st;

		snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
		if (stat(dir, &st) && errno == ENOENT)
			return -ENOENT;
	}
	if ((e = slk_lock_file(inst, false, &lk)))
		return e;
	if (!slk_instance_dir_exists(inst)) {
		/* removed meanwhile: its lock file goes too, under the exclusive lock (lock.c) */
		slk_lock_release(&lk);
		if (slk_lock_file(inst, true, &lk) == 0 && !slk_instance_dir_exists(inst))
			slk_lock_unlink(inst);
		slk_lock_release(&lk);
		return slk_instance_open_raw(inst, in);
	}
	if ((e = slk_layout_check(inst, NULL))) {      /* before recovery reads next-* */
		slk_lock_release(&lk);
		return e;
	}
	if (slk_needs_recovery(inst)) {
		slk_lock_release(&lk);
		if ((e = slk_lock_file(inst, true, &lk)))
			return e;
		slk_recover(inst);
	}
	e = slk_instance_open_raw(inst, in);
	slk_lock_release(&lk);
	return e;
}

int slk_instance_open_raw(const char *inst, struct sl_instance *in)
{
	char dir[PATH_MAX];
	struct stat st;

	slk_instance_init(in);
	snprintf(in->name, sizeof(in->name), "%s", inst);
	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	if (stat(dir, &st))
		return -ENOENT;
	in->config_fd = slk_obj_get(inst, "config");
	if (in->config_fd < 0 && errno == ENOENT) {
		if (slk_pin_exists(inst, "attachments") && !slk_pin_exists(inst, "detaching") &&
		    !slk_pin_exists(inst, "next-config")) {
			/* committed once (intent.c: nothing proves nothing enforces) */
			slk_err("%s/%s/config: missing: the instance is damaged (its attachments may still "
				"filter with their last program); repair: sluice apply FILE --instance %s",
				SL_PIN_ROOT, inst, inst);
			return -EUCLEAN;
		}
		return -ENOENT;         /* not loaded (yet) */
	}
	if (slk_layout_compat(inst) || slk_layout_read(inst, &in->layout)) {
		sl_instance_close(in);
		return -EPROTO;         /* said why */
	}
	in->dst4_fd = slk_obj_get(inst, "dst4");
	in->dst6_fd = slk_obj_get(inst, "dst6");
	in->ports_fd = slk_obj_get(inst, "ports");
	in->counters_fd = slk_obj_get(inst, "counters");
	in->globals_fd = slk_obj_get(inst, "globals");
	in->rules_fd = slk_obj_get(inst, "rules");
	in->attach_fd = slk_obj_get(inst, "attachments");
	in->att_ctr_fd = slk_obj_get(inst, "att_counters");
	/* host-name learning (absent in instances made before it existed) */
	in->learned_fd = slk_obj_get(inst, "learned");
	in->names_fd = slk_obj_get(inst, "names");
	in->wilds_fd = slk_obj_get(inst, "wilds");
	in->nclass_fd = slk_obj_get(inst, "nclass");
	in->learn_ctr_fd = slk_obj_get(inst, "learn_ctr");
	in->name_ring_fd = slk_obj_get(inst, "name_ring");
	in->name_rings_fd = slk_obj_get(inst, "name_rings");
	in->pending_fd = slk_obj_get(inst, "pending");
	in->learn_live_fd = slk_obj_get(inst, "learn_live");
	in->learn_bloom_fd = slk_obj_get(inst, "learn_bloom");
	if (in->att_ctr_fd < 0 || in->config_fd < 0 || in->dst4_fd < 0 || in->dst6_fd < 0 ||
	    in->ports_fd < 0 || in->counters_fd < 0 || in->globals_fd < 0 ||
	    in->rules_fd < 0 || in->attach_fd < 0) {
		slk_err("%s: the instance's pins are incomplete; remove it with: sluice detach --all --instance %s",
		    dir, inst);
		sl_instance_close(in);
		return -EIO;
	}
	if (slk_read_config(in->config_fd, &in->cfg)) {
		slk_err("%s/config: cannot read", dir);
		sl_instance_close(in);
		return -EIO;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sl_instance_list(char ***names, size_t *n)
{
	DIR *d = opendir(SL_PIN_ROOT);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (de->d_name[0] == '.' || !slk_valid_instance(de->d_name))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[cnt] = strdup(de->d_name);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

/* Exclusive, on the lock file that a detach never removes (lock.c). */
int slk_lock_instance(const char *inst, struct slk_lock *l)
{
	return slk_lock_file(inst, true, &l->fd);
}

void slk_unlock_instance(struct slk_lock *l)
{
	slk_lock_release(&l->fd);
}

int slk_mkdir_instance(const char *inst)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	/* removing the last instance removes SL_PIN_ROOT (slk_remove_instance):
	 * if that happens between the two mkdirs, make the root again */
	for (int tries = 0;; tries++) {
		if (mkdir(SL_PIN_ROOT, 0700) && errno != EEXIST) {
			int e = -errno;
			slk_err("%s: cannot create: %s", SL_PIN_ROOT, strerror(-e));
			return e;
		}
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT || tries == 4) {
			int e = -errno;
			slk_err("%s: cannot create: %s", dir, strerror(-e));
			return e;
		}
	}
}

void slk_remove_instance(const char *inst)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof(dir), SL_PIN_ROOT "/%s", inst);
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				slk_unpin(inst, de->d_name);
		closedir(d);
	}
	rmdir(dir);
	rmdir(SL_PIN_ROOT);     /* only if empty */
}
