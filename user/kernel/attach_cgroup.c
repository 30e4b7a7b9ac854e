// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_cgroup.c - the cgroup hook: cgroup_skb/egress links on cgroup v2
 * (cgroup_skb/ingress for an inbound attachment)
 */
#include "kernel/journal.h"

/* The cgroup v2 mount point, from /proc/self/mountinfo (not assumed). */
int sl_cgroup2_mount(char *buf, size_t sz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int e = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64];

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(buf, sz, "%s", mnt);
		e = 0;
		break;
	}
	fclose(f);
	return e;
}

/* Resolve a --cgroup argument (absolute, or relative to the cgroup2 mount). */
int slk_cgroup_resolve(const char *arg, char *abs, size_t sz, char *rel, size_t relsz)
{
	char mnt[PATH_MAX];
	size_t n;

	if (sl_cgroup2_mount(mnt, sizeof(mnt))) {
		slk_err("no cgroup v2 hierarchy is mounted (see: mount -t cgroup2)");
		return -ENOENT;
	}
	n = strlen(mnt);
	if (arg[0] == '/') {
		if (strncmp(arg, mnt, n) || (arg[n] && arg[n] != '/')) {
			slk_err("%s: not below the cgroup v2 mount %s", arg, mnt);
			return -EINVAL;
		}
		snprintf(abs, sz, "%s", arg);
		snprintf(rel, relsz, "%s", arg[n] ? arg + n + 1 : "");
	} else {
		if (snprintf(abs, sz, "%s/%s", mnt, arg) >= (int)sz)
			return -ENAMETOOLONG;
		snprintf(rel, relsz, "%s", arg);
	}
	if (strlen(rel) >= relsz - 1)
		slk_err("note: %s: the cgroup path is recorded truncated to %zu characters", arg, relsz - 1);
	return 0;
}

static int cgroup_attach(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a)
{
	char abs[PATH_MAX];
	struct stat st;
	int cfd, lfd, e;

	if ((e = slk_cgroup_resolve(o->cgroup, abs, sizeof(abs), a->cgroup, sizeof(a->cgroup))))
		return e;
	cfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0 || fstat(cfd, &st)) {
		e = -errno;
		slk_err("%s: cannot open the cgroup: %s", abs, strerror(-e));
		if (cfd >= 0)
			close(cfd);
		return e;
	}
	a->cgroup_id = st.st_ino;       /* a cgroup v2 id is its directory's inode */
	a->kind = SL_ATT_CGROUP;
	slk_note_record(a);
	lfd = bpf_link_create(prog_fd, cfd, a->dir == SL_DIR_IN ? BPF_CGROUP_INET_INGRESS
								: BPF_CGROUP_INET_EGRESS, NULL);
	e = -errno;
	close(cfd);
	if (lfd < 0) {
		slk_err("%s: cannot attach cgroup_skb/%s: %s", abs,
			a->dir == SL_DIR_IN ? "ingress" : "egress", strerror(-e));
		return e;
	}
	a->kind = SL_ATT_CGROUP;
	return slk_pin_link(inst, lfd, a);
}

const struct slk_hook_ops slk_cgroup_ops = {
	.attach = cgroup_attach, .update = slk_link_update, .detach = slk_link_detach,
	.alive = slk_link_alive,
};
