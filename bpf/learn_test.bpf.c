// SPDX-License-Identifier: GPL-2.0-only
/*
 * learn_test.bpf.c - the TC classifier with host-name learning compiled in
 * (SL_LEARN), for tests/prog/test_dns.c until sluice.bpf.c carries the same
 * lines (docs/dns.md "Integration"):
 *
 *   sluice_tc     TC egress: classify (learned addresses included); a passed
 *                 DNS query to a resolver is recorded in "pending".
 *   sluice_learn  TC ingress of the same interface: learn from DNS answers;
 *                 never drops (TC_ACT_UNSPEC).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#define SL_LEARN 1
#include "classify.h"
#include "learn.h"

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sl_pinfo pi;
	struct sl_result res;
	__u32 segs = skb->gso_segs;
	int rc = sl_parse(data, data_end, 0, &pi);

	if (sl_classify(rc, &pi, segs ? segs : 1, skb->len, &res) != SL_V_PASS)
		return TC_ACT_SHOT;
	if (res.port == 53)
		sl_learn_query(skb);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int sluice_learn(struct __sk_buff *skb)
{
	sl_learn_answer(skb);
	return TC_ACT_UNSPEC;
}

/*
 * sluice_inject: the learner's answer path on a DNS message user space
 * hands it through BPF_PROG_TEST_RUN (`sluice run`: its own resolutions of
 * exact names, and answers the learner sent to the dns_fallback ring
 * buffer, in chunks).  Never attached; not loaded unless asked for ("?").
 */
SEC("?tc")
int sluice_inject(struct __sk_buff *skb)
{
	return sl_learn_inject(skb);
}

char LICENSE[] SEC("license") = "GPL";
