// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice_cal.bpf.c - sluice.bpf.c with a known extra work per packet: a chain
 * of SL_CAL_READS dependent reads (each load's address is the previous load's
 * value) before sluice_tc does anything else.  The calibration row of the
 * gateway benchmark (scripts/bench-gateway): the benchmark must show this
 * program slower than sluice_tc on the same maps at the same hook, or its
 * verdicts are "not resolved".  `sl-bench variant` loads it on the maps of an
 * applied instance and reports the extra work under BPF_PROG_TEST_RUN
 * (~100-130 ns here); never attached by sluice itself.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef SL_CAL_READS
#define SL_CAL_READS 64
#endif

struct sl_cal_line {
	__u32 next[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_cal_line);
} sl_cal SEC(".maps");

/* All zeros: every read goes to next[0], but the CPU cannot know that
 * before the previous read returns (no value prediction). */
static __always_inline int sl_cal_work(void)
{
	__u32 k = 0, i = 0;
	struct sl_cal_line *l = bpf_map_lookup_elem(&sl_cal, &k);

	if (!l)
		return 0;
#pragma clang loop unroll(disable)
	for (int n = 0; n < SL_CAL_READS; n++)
		i = l->next[i & 63];
	return i == 0xffffffff;
}

#define SL_CAL_WORK() sl_cal_work()
#include "sluice.bpf.c"
