// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch.c - the targets of `sluice run`, watched (docs/operations.md): link
 * events from rtnetlink wake the run loop at once, and once a second it
 * checks every interface and cgroup it was told to filter: one that exists
 * but has no live attachment of the instance (it was deleted and created
 * again: a new ifindex, a new cgroup id) is re-attached by an apply.
 * Address events refresh the host's addresses the ingress hooks pass
 * (kernel/hostaddr.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/watch.h"

int sl_watch_open(const struct sl_apply_opts *ao)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int saved, fd, e;

	if (ao->hook == SL_HOOK_CGROUP || !ao->ndevs)
		return -ENOENT;
	char p[PATH_MAX] = "/proc/thread-self/ns/net";   /* no --netns: here */

	if (ao->netns && ao->netns[0])
		snprintf(p, sizeof(p), "/run/netns/%s", ao->netns);
	if ((e = sl_netns_enter_path(p, &saved)))
		return e;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	e = fd < 0 ? -errno : 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = -errno;
		close(fd);
		fd = -1;
	}
	sl_netns_leave(saved);
	return fd >= 0 ? fd : e;
}

void sl_watch_drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}
