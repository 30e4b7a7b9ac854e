/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.h - every map of the sluice data path, in one place.
 * Types are in include/sluice.h.  Pin names (under
 * /sys/fs/bpf/sluice/<instance>/) are the map names below.
 * The loader sizes dst4, dst6, ports, classes, dir8 and node6 to the compiled image.
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

/* classes: class id (static and name classes) -> policy class with inline port intervals (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_class);
} classes SEC(".maps");

/* dir16: IPv4 fast path, [top byte].e[2nd byte] -> leaf (class + 1) or dir8 node (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DIR16_SIZE / 256);
	__type(key, __u32);
	__type(value, struct sl_dir_grp);
} dir16 SEC(".maps");

/* dir8: IPv4 fast path, 64-byte lines holding the /16 and /24 nodes (mmapable: page-aligned lines; per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_dir_line);
} dir8 SEC(".maps");

/* dir6: IPv6 fast path, [top byte].e[2nd byte] -> leaf (class + 1) or a node6 node (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_DIR16_SIZE / 256);
	__type(key, __u32);
	__type(value, struct sl_dir_grp);
} dir6 SEC(".maps");

/* node6: IPv6 fast path, every node below dir6 in 64-byte lines of 16-byte units; mmapable (page-aligned) when above 32 KB (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_node6);
} node6 SEC(".maps");

/* counters: per-rule per-CPU pass/drop/near-miss counters, by slot (kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_MAX_SLOTS);
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

/* host_addrs: the host's own addresses (ingress hooks pass traffic to them; the generation's, refreshed by sluice run). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_HOST_ADDRS);
	__type(key, struct sl_addr_key);
	__type(value, __u8);
} host_addrs SEC(".maps");

/* rules: slot -> rule name, action, order; the generation's own (replaced on every apply). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_SLOTS);
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

/* att_counters: per-CPU pass/drop per attachment record (kept across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_MAX_ATTACH);
	__type(key, __u32);
	__type(value, struct sl_att_ctr);
} att_counters SEC(".maps");

/* att_ifx: slot -> (ifindex, record) of programs shared by several attachments, a table per group (the generation's). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_IFX_SLOTS);
	__type(key, __u32);
	__type(value, struct sl_ifx_val);
} att_ifx SEC(".maps");

/* events: drop events and logged passes for `sluice log` / `sluice run` (ring buffer; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* ev_ctr: per-CPU events emitted / suppressed by the rate limit / lost (ring full), by enum sl_ev_ctr (kept). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_EC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ev_ctr SEC(".maps");

/* ev_bucket: the instance's event token bucket, one for every CPU (per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_ev_bucket);
} ev_bucket SEC(".maps");

#ifdef SL_LEARN
/* ---- host-name learning (bpf/learn.h, docs/dns.md); per generation unless noted */

/* names: hash of an exact host name -> its name class and wire name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct sl_name_val);
} names SEC(".maps");

/* wilds: hash of S for every "*.S" rule -> its name class and wire name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct sl_name_val);
} wilds SEC(".maps");

/* nclass: name class id -> near rule and fragment decisions (like a dst value). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_dst_val);
} nclass SEC(".maps");

/* learned: address -> name classes it was learned for, with expiries (LRU = total cap; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sl_addr_key);
	__type(value, struct sl_learned_val);
} learned SEC(".maps");

/* name_ring: name class -> its totals, stamps and largest names (class cap; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sl_name_ring);
} name_ring SEC(".maps");

/* name_rings: (name class, question name) -> its most recent learned addresses (per-name cap; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SL_NAME_RINGS);
	__type(key, struct sl_nring_key);
	__type(value, struct sl_nring);
} name_rings SEC(".maps");

/* nring_zero: an all-zero struct sl_nring, a new name's first ring (never written). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_nring);
} nring_zero SEC(".maps");

/* pending: DNS queries seen on egress, awaiting their answer (LRU; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sl_pending_key);
	__type(value, struct sl_pending_val);
} pending SEC(".maps");

/* pending_cl: client (address, local uid) -> its last pending queries (LRU; per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_PENDING_CLIENTS);
	__type(key, struct sl_pcl_key);
	__type(value, struct sl_pcl);
} pending_cl SEC(".maps");

/* pcl_zero: an all-zero struct sl_pcl, the first value of a new client (never written). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_pcl);
} pcl_zero SEC(".maps");

/* learn_bloom: one bit per hashed learned address, set before insertion (kept). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_BLOOM_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} learn_bloom SEC(".maps");

/* resolvers: the DNS servers whose answers are trusted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct sl_addr_key);
	__type(value, __u32);
} resolvers SEC(".maps");

/* learn_cfg: floor, grace, caps, enable (array of one, user space writes it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_learn_cfg);
} learn_cfg SEC(".maps");

/* learn_ctr: per-CPU learner counters by enum sl_learn_ctr (kept). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_L_MAX);
	__type(key, __u32);
	__type(value, __u64);
} learn_ctr SEC(".maps");

/* learn_live: approximate number of live "learned" entries (for the total-cap counter; kept). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} learn_live SEC(".maps");

/* dns_fallback: DNS answers the BPF learner could not parse, for user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} dns_fallback SEC(".maps");
#endif /* SL_LEARN */

/* config: policy, mode, control, generation; read-only after load (.rodata). */
const volatile struct sl_config cfg = {};
/* 0 if the ruleset has no host names (set by the loader; .rodata, after cfg):
 * the verifier then drops the learned-address path (classify.h) and the
 * DNS query recorder (sluice.bpf.c) from the program. */
const volatile __u32 cfg_names = 1;

/*
 * The tick (low 32 bits of jiffies): one load behind a helper call, where
 * bpf_ktime_get_coarse_ns() costs 13 ns in a VM (seqcount, timespec
 * normalisation).  The coarse clock moves only at a tick, so "the tick has
 * not moved since I last read the clock" means "the clock has not moved":
 * the data path reads the clock only when the tick has.
 */
static __always_inline __u32 sl_tick(void)
{
	return (__u32)bpf_jiffies64();
}

#endif
