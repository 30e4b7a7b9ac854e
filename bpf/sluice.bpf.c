// SPDX-License-Identifier: GPL-2.0-only
/* PLACEHOLDER: the data-path owner replaces this file. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct sl_global_ctr *g = bpf_map_lookup_elem(&globals, &k);
	struct sl_rule_ctr *c = bpf_map_lookup_elem(&counters, &k);
	struct sl_rule_meta *m = bpf_map_lookup_elem(&rules, &k);
	struct sl_result *r = bpf_map_lookup_elem(&last, &k);
	struct sl_lpm4_key k4 = {};
	struct sl_lpm6_key k6 = {};
	struct sl_port_key kp = {};

	if (g && c && m && r && cfg.record && bpf_map_lookup_elem(&dst4, &k4) &&
	    bpf_map_lookup_elem(&dst6, &k6) && bpf_map_lookup_elem(&ports, &kp))
		g->packets += skb->len;
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
