// SPDX-License-Identifier: GPL-2.0-only
/*
 * fast6_test.bpf.c - the IPv6 fast walk (bpf/fast6.h, sl_fast6_walk) alone,
 * for tests/prog/test_fast6_prog.c: one BPF_PROG_TEST_RUN walks the
 * ft_n addresses user space put into ft_hi/ft_lo (host-order halves) and
 * writes each leaf (class index + 1, 0 for none) into ft_leaf.  Never
 * attached.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "fast6.h"

#define FT_N 512

__u64 ft_hi[FT_N];
__u64 ft_lo[FT_N];
__u32 ft_leaf[FT_N];
__u32 ft_n;

SEC("tc")
int fast6_probe(struct __sk_buff *skb)
{
	(void)skb;
	for (__u32 i = 0; i < FT_N; i++) {
		if (i >= ft_n)
			break;
		ft_leaf[i] = sl_fast6_walk(ft_hi[i], ft_lo[i]);
	}
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
