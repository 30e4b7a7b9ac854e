// SPDX-License-Identifier: GPL-2.0-only
/*
 * sl-hookq - which BPF programs run on an interface's TCX and XDP hooks, as
 * the kernel says (BPF_PROG_QUERY), in the current network namespace:
 *
 *   sl-hookq DEV      one line per program: "tcx-egress|tcx-ingress|xdp ID NAME"
 *   sl-hookq before DEV egress|ingress OBJ PIN
 *                     attach OBJ's "tc" program as a TCX link in front of every
 *                     other (BPF_F_BEFORE, as other eBPF agents do) and pin the
 *                     link at PIN (rm PIN removes it); prints the program id
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

/* A foreign program first on a TCX hook (the neighbour of issue 20 item 1). */
static int before(const char *dev, const char *dir, const char *obj_path, const char *pin)
{
	int ifindex = (int)if_nametoindex(dev), lfd, pfd;
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 1U << 3 /* BPF_F_BEFORE */);

	if (!ifindex) {
		fprintf(stderr, "sl-hookq: %s: no such interface\n", dev);
		return 1;
	}
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "sl-hookq: %s: cannot load\n", obj_path);
		return 1;
	}
	p = bpf_object__find_program_by_name(obj, "foreign_tc");
	pfd = p ? bpf_program__fd(p) : -1;
	lfd = bpf_link_create(pfd, ifindex, strcmp(dir, "ingress") ? TCX_EGRESS : TCX_INGRESS, &lo);
	if (lfd < 0 || bpf_obj_pin(lfd, pin)) {
		fprintf(stderr, "sl-hookq: %s: cannot attach or pin: %s\n", dev, strerror(errno));
		return 1;
	}
	bpf_obj_get_info_by_fd(pfd, &info, &len);
	printf("%u\n", info.id);
	return 0;
}

int main(int argc, char **argv)
{
	int ifindex;
	__u32 xdp_id = 0;

	if (argc == 6 && !strcmp(argv[1], "before"))
		return before(argv[2], argv[3], argv[4], argv[5]);

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
