// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_xdp.c - the XDP hook: native mode where the driver has it, generic otherwise
 */
#include "kernel/journal.h"

/* XDP: native (driver) mode where the driver has it, generic otherwise.
 * Never replaces an XDP program sluice did not attach. */
static int slk_attach_xdp_here(const char *inst, int prog_fd, const char *dev, enum sl_xdp_mode mode,
			   struct sl_attach *a)
{
	static const struct { enum sl_xdp_mode m; __u32 flags; } tries[] = {
		{ SL_XDP_NATIVE, XDP_FLAGS_DRV_MODE }, { SL_XDP_GENERIC, XDP_FLAGS_SKB_MODE },
	};
	int e = -EINVAL;

	for (size_t i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = tries[i].flags);
		int lfd;

		if (mode != SL_XDP_AUTO && mode != tries[i].m)
			continue;
		a->kind = SL_ATT_XDP;
		a->xdp_mode = tries[i].m;
		slk_note_record(a);
		lfd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &lo);
		if (lfd >= 0) {
			a->kind = SL_ATT_XDP;
			a->xdp_mode = tries[i].m;
			return slk_pin_link(inst, lfd, a);
		}
		e = -errno;
		if (e == -EBUSY || e == -EEXIST) {
			slk_err("%s: another XDP program is attached; sluice does not replace programs it did "
			    "not attach (see: ip link show dev %s; use --hook tc-ingress instead)", dev, dev);
			return e;
		}
	}
	slk_err("%s: cannot attach XDP (%s): %s", dev,
	    mode == SL_XDP_NATIVE ? "native" : mode == SL_XDP_GENERIC ? "generic" : "native or generic",
	    strerror(-e));
	return e;
}

static int xdp_attach(const char *inst, int prog_fd, const struct sl_apply_opts *o, struct sl_attach *a)
{
	int saved, e;

	if ((e = slk_dev_enter(a->ifname, a, &saved)))
		return e;
	e = slk_attach_xdp_here(inst, prog_fd, a->ifname, o->xdp_mode, a);
	sl_netns_leave(saved);
	return e;
}

const struct slk_hook_ops slk_xdp_ops = {
	.attach = xdp_attach, .update = slk_link_update, .detach = slk_link_detach,
	.alive = slk_link_alive,
};
