/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.h - every map of the sluice data path, in one place.
 * Types are in include/sluice.h.  Pin names (under
 * /sys/fs/bpf/sluice/<instance>/) are the map names below.
 * The loader sizes dst4, dst6 and ports to the compiled image.
 */
#ifndef SL_MAPS_H
#define SL_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice.h"

/* dst4: IPv4 destination prefix -> policy class (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct sl_lpm4_key);
	__type(value, struct sl_dst_val);
} dst4 SEC(".maps");

/* dst6: IPv6 destination prefix -> policy class (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct sl_lpm6_key);
	__type(value, struct sl_dst_val);
} dst6 SEC(".maps");

/* ports: (class, protocol slot, port) prefix -> deciding rule (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct sl_port_key);
	__type(value, struct sl_decision);
} ports SEC(".maps");

/* counters: per-rule per-CPU pass/drop/near-miss counters, by slot (kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sl_rule_ctr);
} counters SEC(".maps");

/* globals: per-CPU counters by enum sl_global (kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_G_MAX);
	__type(key, __u32);
	__type(value, struct sl_global_ctr);
} globals SEC(".maps");

/* rules: slot -> rule name and action, for bpftool users (kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sl_rule_meta);
} rules SEC(".maps");

/* last: the last result, written only when cfg.record is set (tests). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_result);
} last SEC(".maps");

/* attachments: where this instance is attached (user side only; kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_ATTACH);
	__type(key, __u32);
	__type(value, struct sl_attach);
} attachments SEC(".maps");

/* config: policy, mode, control, generation; read-only after load (.rodata). */
const volatile struct sl_config cfg = {};

#endif
