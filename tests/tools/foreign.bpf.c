// SPDX-License-Identifier: GPL-2.0-only
/* A program that is not sluice's: the end-to-end tests attach it (with ip
 * and tc) to check that sluice coexists with, and never removes, what it did
 * not attach. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int foreign_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int foreign_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
