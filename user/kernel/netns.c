// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns.c - named network namespaces (ip -n NAME) for the interface work
 */
#include "kernel/internal.h"

/*
 * Enter the network namespace at @path (/run/netns/NAME, /proc/PID/ns/net,
 * a CNI_NETNS path) on this thread; *saved gets this thread's namespace to
 * return to (sluice run's metrics threads come here too).  0 or -errno;
 * prints nothing (a namespace may go away meanwhile).
 */
int sl_netns_enter_path(const char *path, int *saved)
{
	int fd, e;

	*saved = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0 || setns(fd, CLONE_NEWNET)) {
		e = -errno;
		close(fd);
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		return e;
	}
	close(fd);
	return 0;
}

void sl_netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		slk_err("cannot return to the original network namespace: %s", strerror(errno));
	close(saved);
}

/* A named network namespace (as `ip -n NAME`: /run/netns/NAME) for the
 * interface work only; the mount namespace, and so the pins in the host's
 * bpffs, stay ours.  "" or NULL: stay.  Says what went wrong. */
int slk_netns_enter(const char *name, int *saved)
{
	char p[PATH_MAX];
	int e;

	*saved = -1;
	if (!name || !name[0])
		return 0;
	snprintf(p, sizeof(p), "/run/netns/%s", name);
	e = sl_netns_enter_path(p, saved);
	if (e == -ENOENT)
		slk_err("%s: no such network namespace (see: ip netns list)", p);
	else if (e)
		slk_err("%s: cannot enter the network namespace: %s", p, strerror(-e));
	return e;
}

/* The first named network namespace that has an interface @dev ("" if none). */
static void find_netns(const char *dev, char *out, size_t sz)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;

	out[0] = 0;
	while (d && !out[0] && (de = readdir(d))) {
		char p[PATH_MAX];
		int saved;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", de->d_name);
		if (sl_netns_enter_path(p, &saved))
			continue;
		if (if_nametoindex(dev))
			snprintf(out, sz, "%s", de->d_name);
		sl_netns_leave(saved);
	}
	if (d)
		closedir(d);
}

int slk_dev_enter(const char *dev, struct sl_attach *a, int *saved)
{
	int e;

	if ((e = slk_netns_enter(a->netns, saved)))
		return e;
	a->ifindex = if_nametoindex(dev);
	if (!a->ifindex) {
		if (a->netns[0])
			slk_err("%s: no such interface in network namespace %s (see: ip -n %s link show)",
				dev, a->netns, a->netns);
		else {
			char ns[256];

			find_netns(dev, ns, sizeof(ns));
			if (ns[0])
				slk_err("%s: no such interface here, but network namespace %s has one: "
					"add --netns %s", dev, ns, ns);
			else
				slk_err("%s: no such interface (see: ip link show)", dev);
		}
		sl_netns_leave(*saved);
		*saved = -1;
		return -ENODEV;
	}
	return 0;
}
