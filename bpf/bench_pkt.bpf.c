// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_pkt.bpf.c - reference programs for `make bench` (scripts/bench,
 * tests/bench/sl-bench.c), never attached anywhere:
 *
 *   bench_empty   a TC program that returns at once: the floor of the hook
 *                 (BPF_PROG_TEST_RUN overhead, skb setup) on this machine.
 *   bench_empty_xdp  the same for XDP (XDP_PASS): attached beside sluice in
 *                 the gateway lab of `make bench` for the in-path floor.
 *   bench_parse   only sluice's header parser (parse.h), no map lookup: what
 *                 the parse costs on its own.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "parse.h"

SEC("tc")
int bench_empty(struct __sk_buff *skb __attribute__((unused)))
{
	return TC_ACT_UNSPEC;
}

SEC("xdp")
int bench_empty_xdp(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

SEC("tc")
int bench_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sl_pinfo pi;
	int rc = sl_parse(data, data_end, 0, &pi);

	/* use the result so that nothing is optimized away */
	if (rc == SL_PR_OK && pi.port == 1 && pi.daddr[0] == 1)
		return TC_ACT_SHOT;
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
