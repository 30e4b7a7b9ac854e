// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_netlink.c - which host interface is the other end of the container's
 * veth.  The bridge and ptp plugins list the host-side veth in their result
 * without a "sandbox", next to the bridge (also without one); the
 * container's interface names its peer in IFLA_LINK.  We ask the
 * container's namespace for that index (through a netlink socket opened
 * there), then check that the host interface of that index is a veth whose
 * own peer index is the container's interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cni/cni.h"

struct link_info {
	int ifindex;
	int link;                       /* IFLA_LINK: the peer's index (0: none) */
	char kind[16];                  /* IFLA_INFO_KIND: "veth", "bridge", ... */
	char name[IF_NAMESIZE];
};

static void parse_linkinfo(struct rtattr *nest, struct link_info *li)
{
	int len = RTA_PAYLOAD(nest);

	for (struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_INFO_KIND)
			snprintf(li->kind, sizeof(li->kind), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
}

/* RTM_GETLINK of @name (or @ifindex if name is NULL) on socket @fd. */
static int link_get(int fd, const char *name, int ifindex, struct link_info *li)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req;
	char buf[16384];
	struct nlmsghdr *nh;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	memset(li, 0, sizeof(*li));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = name ? 0 : ifindex;
	if (name) {
		struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		size_t l = strlen(name) + 1;

		if (l > IF_NAMESIZE)
			return -EINVAL;
		a->rta_type = IFLA_IFNAME;
		a->rta_len = RTA_LENGTH(l);
		memcpy(RTA_DATA(a), name, l);
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
		struct ifinfomsg *ifi;
		struct rtattr *a;
		int len;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *ne = NLMSG_DATA(nh);

			return ne->error ? ne->error : -ENODEV;
		}
		if (nh->nlmsg_type != RTM_NEWLINK)
			continue;
		ifi = NLMSG_DATA(nh);
		li->ifindex = ifi->ifi_index;
		len = IFLA_PAYLOAD(nh);
		for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= 4)
				memcpy(&li->link, RTA_DATA(a), 4);
			else if (a->rta_type == IFLA_IFNAME)
				snprintf(li->name, sizeof(li->name), "%.*s", (int)RTA_PAYLOAD(a),
					 (char *)RTA_DATA(a));
			else if (a->rta_type == IFLA_LINKINFO)
				parse_linkinfo(a, li);
		}
		return 0;
	}
	return -ENODEV;
}

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? -errno : fd;
}

int cni_veth_peer(const char *netns, const char *ifname, char peer[16])
{
	struct link_info in, host;
	int saved, fd, hfd, e;

	/* a netlink socket stays in the namespace it was opened in */
	if ((e = sl_netns_enter_path(netns, &saved)))
		return cni_fail(CNI_ERR_CONTAINER, "CNI_NETNS %s: cannot enter the network namespace: "
				"%s (does the container still exist?)", netns, strerror(-e));
	fd = nl_socket();
	sl_netns_leave(saved);
	if (fd < 0)
		return cni_fail(CNI_ERR_IO, "cannot open a netlink socket: %s", strerror(-fd));
	e = link_get(fd, ifname, 0, &in);
	close(fd);
	if (e)
		return cni_fail(CNI_ERR_CONTAINER, "%s in %s: no such interface: %s (CNI_IFNAME must "
				"be the interface the previous plugin created)", ifname, netns,
				strerror(-e));
	if (strcmp(in.kind, "veth") || in.link <= 0)
		return cni_fail(CNI_ERR_CONFIG, "%s in %s is a %s interface, not a veth: hook "
				"tc-ingress needs the host side of a veth pair (bridge, ptp); use "
				"\"hook\": \"tc-egress\" for this network", ifname, netns,
				in.kind[0] ? in.kind : "non-veth");
	if ((hfd = nl_socket()) < 0)
		return cni_fail(CNI_ERR_IO, "cannot open a netlink socket: %s", strerror(-hfd));
	e = link_get(hfd, NULL, in.link, &host);
	close(hfd);
	if (e || strcmp(host.kind, "veth") || host.link != in.ifindex)
		return cni_fail(CNI_ERR_CONFIG, "%s in %s: its veth peer (index %d) is not in the host's "
				"network namespace; sluice-cni must run in the namespace the runtime calls "
				"plugins in, or use \"hook\": \"tc-egress\"", ifname, netns, in.link);
	snprintf(peer, 16, "%s", host.name);
	return 0;
}
