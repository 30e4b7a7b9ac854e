// SPDX-License-Identifier: GPL-2.0-only
/*
 * gateway.c - the helpers of the gateway benchmark (scripts/bench-gateway):
 *
 *   sl-bench variant PROGPIN OBJ PROG OUTPIN
 *       load program PROG of the BPF object OBJ on the maps of the program
 *       pinned at PROGPIN (an applied instance's prog-0: same tables, same
 *       attachment records, same read-only configuration), pin it at OUTPIN
 *       and print the per-packet cost of both under BPF_PROG_TEST_RUN (an
 *       allowed 64-byte UDP frame, the median of 9 runs of repeat 1e6):
 *       the calibration row's known extra work (bpf/sluice_cal.bpf.c).
 *   sl-bench tcx DEV PROGPIN LINKPIN
 *       attach the program pinned at PROGPIN to DEV's TC egress through a
 *       TCX link (last in line) and pin the link at LINKPIN; removing the
 *       pin detaches it.  Run inside the device's network namespace.
 */
#include <net/if.h>
#include "bench.h"

#define GW_TCX_EGRESS 47        /* BPF_TCX_EGRESS (Debian 12's uapi predates TCX) */
/* The maps of the program behind @pfd: fd, name, value size (bench.h). */
int slb_prog_maps(int pfd, struct slb_map *out)
{
	__u32 ids[SLB_MAX_MAPS];
	struct bpf_prog_info info = { .nr_map_ids = SLB_MAX_MAPS, .map_ids = (__u64)(unsigned long)ids };
	__u32 len = sizeof(info);
	int n = 0;

	if (bpf_obj_get_info_by_fd(pfd, &info, &len))
		die("prog info: %s", strerror(errno));
	for (__u32 i = 0; i < info.nr_map_ids && i < SLB_MAX_MAPS; i++) {
		struct bpf_map_info mi = {0};
		__u32 ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &ml))
			die("map %u: %s", ids[i], strerror(errno));
		out[n].fd = fd;
		out[n].value_size = mi.value_size;
		memcpy(out[n].name, mi.name, sizeof(out[n].name));
		n++;
	}
	return n;
}

/* Same map?  By name (the kernel keeps 15 characters); internal maps
 * (".rodata", ".bss", ".data": "<object>.<section>") by their section and
 * value size, since the object's name differs. */
bool slb_same_map(const struct bpf_map *m, const struct slb_map *k)
{
	const char *n = bpf_map__name(m), *dn = strchr(n, '.'), *dk = strchr(k->name, '.');

	if (bpf_map__is_internal(m))
		return dn && dk && !strncmp(dn, dk, BPF_OBJ_NAME_LEN - 1 - (dk - k->name)) &&
		       bpf_map__value_size(m) == k->value_size;
	return !strncmp(n, k->name, BPF_OBJ_NAME_LEN - 1);
}

int cmd_variant(const char *pin, const char *path, const char *prog, const char *outpin)
{
	struct slb_map maps[SLB_MAX_MAPS];
	struct bpf_object *obj;
	struct bpf_program *p, *want = NULL;
	struct bpf_map *m;
	int pfd = bpf_obj_get(pin), n, e, reused = 0, rv_a = 0, rv_b = 0;

	if (pfd < 0)
		die("%s: %s", pin, strerror(errno));
	n = slb_prog_maps(pfd, maps);
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("%s: %s", path, strerror(errno));
	bpf_object__for_each_program(p, obj) {
		bool me = !strcmp(bpf_program__name(p), prog);

		bpf_program__set_autoload(p, me);
		if (me)
			want = p;
	}
	if (!want)
		die("%s: no program %s", path, prog);
	bpf_object__for_each_map(m, obj)
		for (int i = 0; i < n; i++)
			if (slb_same_map(m, &maps[i])) {
				if ((e = bpf_map__reuse_fd(m, maps[i].fd)))
					die("reuse map %s: %s", bpf_map__name(m), strerror(-e));
				reused++;
				break;
			}
	if ((e = bpf_object__load(obj)))
		die("%s: load: %s", path, strerror(-e));
	if (bpf_obj_pin(bpf_program__fd(want), outpin))
		die("%s: %s", outpin, strerror(errno));

	struct pk_spec s = spec(4, "203.0.113.10", 17, 5004);
	uint8_t frame[PK_MAX_FRAME];
	size_t len = pk_build(&s, frame, NULL);
	double a = run_pkt(pfd, frame, len, 9, &rv_a);
	double b = run_pkt(bpf_program__fd(want), frame, len, 9, &rv_b);

	printf("{\"section\":\"variant\",\"object\":\"%s\",\"prog\":\"%s\",\"maps\":%d,\"reused\":%d,"
	       "\"orig_ns\":%.1f,\"variant_ns\":%.1f,\"extra_ns\":%.1f,\"same_verdict\":%s}\n",
	       path, prog, n, reused, a, b, b - a, rv_a == rv_b ? "true" : "false");
	bpf_object__close(obj);
	for (int i = 0; i < n; i++)
		close(maps[i].fd);
	close(pfd);
	return 0;
}

int cmd_tcx(const char *dev, const char *pin, const char *linkpin)
{
	unsigned int ifindex = if_nametoindex(dev);
	int pfd = bpf_obj_get(pin), lfd;

	if (!ifindex)
		die("%s: no such device here", dev);
	if (pfd < 0)
		die("%s: %s", pin, strerror(errno));
	lfd = bpf_link_create(pfd, ifindex, GW_TCX_EGRESS, NULL);
	if (lfd < 0)
		die("%s: TCX egress link: %s", dev, strerror(errno));
	if (bpf_obj_pin(lfd, linkpin))
		die("%s: %s", linkpin, strerror(errno));
	close(lfd);
	close(pfd);
	return 0;
}
