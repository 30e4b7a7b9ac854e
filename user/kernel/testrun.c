// SPDX-License-Identifier: GPL-2.0-only
/*
 * testrun.c - the kernel half of `sluice verify`: a crafted frame through
 * the program an attachment actually runs (for TCX, XDP and cgroup links the
 * program the kernel reports on the link; for a clsact filter, its prog-<k>
 * pin, the program the filter was replaced with), with BPF_PROG_TEST_RUN.  Nothing is sent; the program's maps are the live
 * ones, so the probe is counted (and logged) like any packet.
 */
#include "kernel/journal.h"

/* The program id the kernel has on the link of record @a (TCX, XDP, cgroup), or 0. */
static uint32_t link_prog_id(const char *inst, const struct sl_attach *a)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char name[96];
	int fd;

	if (a->kind == SL_ATT_CLSACT)
		return 0;
	slk_link_pin_name(name, sizeof(name), a);
	fd = slk_obj_get(inst, name);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.prog_id = 0;
	close(fd);
	return info.prog_id;
}

int sl_record_prog_fd(const struct sl_instance *in, uint32_t k, const struct sl_attach *a,
		      uint32_t *id)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	char name[32];
	int fd = -1;

	*id = link_prog_id(in->name, a);
	if (*id)
		fd = bpf_prog_get_fd_by_id(*id);
	if (fd < 0) {
		/* clsact: the filter was replaced in place with this very program */
		slk_prog_pin_name(name, sizeof(name), "", k);
		fd = slk_obj_get(in->name, name);
		if (fd < 0)
			return -errno;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			*id = info.id;
	}
	return fd;
}

int sl_prog_verdict(int fd, const struct sl_attach *a, const void *frame, size_t len, bool *pass)
{
	struct __sk_buff skb = { .ifindex = a->ifindex };
	/* XDP's context: data .. data_end are offsets into data_in */
	struct xdp_md xdp = { .data_end = (__u32)len, .ingress_ifindex = a->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len, .repeat = 1);
	int e;

	switch (a->hook) {
	case SL_HOOK_TC_EGRESS:
	case SL_HOOK_TC_INGRESS:
		if (a->ifindex) {
			o.ctx_in = &skb;
			o.ctx_size_in = sizeof(skb);
		}
		break;
	case SL_HOOK_XDP:
		if (a->ifindex) {
			o.ctx_in = &xdp;
			o.ctx_size_in = sizeof(xdp);
		}
		break;
	case SL_HOOK_CGROUP:
		break;
	default:
		return -EOPNOTSUPP;
	}
	e = bpf_prog_test_run_opts(fd, &o);
	if (e && o.ctx_in) {
		/* the interface is not in this namespace (or XDP wants a queue): judge without it */
		o.ctx_in = NULL;
		o.ctx_size_in = 0;
		e = bpf_prog_test_run_opts(fd, &o);
	}
	if (e)
		return -errno;
	switch (a->hook) {
	case SL_HOOK_XDP:
		*pass = o.retval != XDP_DROP && o.retval != XDP_ABORTED;
		break;
	case SL_HOOK_CGROUP:
		*pass = (o.retval & 1) != 0;
		break;
	default:
		*pass = o.retval != 2;  /* TC_ACT_SHOT */
		break;
	}
	return 0;
}
