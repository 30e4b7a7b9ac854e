// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-hookq - which BPF programs run on an interface's TCX and XDP hooks, as
 * the kernel says (BPF_PROG_QUERY), in the current network namespace:
 *
 *   sl-hookq DEV      one line per program: "tcx-egress|tcx-ingress|xdp ID NAME"
 *
 * bpftool 7.1 (Debian 12) shows neither the interface of a TCX link nor
 * TCX programs under `bpftool net`; the tests count sluice's programs per
 * hook with this (clsact filters they read from `tc filter show`).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46  /* Debian 12's uapi headers predate TCX */
#define TCX_EGRESS  47

static void show(const char *hook, int ifindex, int type)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query(ifindex, type, 0, &flags, ids, &cnt))
		return;
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			printf("%s %u %s\n", hook, ids[i], info.name);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int ifindex;
	__u32 xdp_id = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: sl-hookq DEV\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "sl-hookq: %s: no such interface\n", argv[1]);
		return 1;
	}
	show("tcx-egress", ifindex, TCX_EGRESS);
	show("tcx-ingress", ifindex, TCX_INGRESS);
	if (!bpf_xdp_query_id(ifindex, 0, &xdp_id) && xdp_id) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(xdp_id);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			printf("xdp %u %s\n", xdp_id, info.name);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
