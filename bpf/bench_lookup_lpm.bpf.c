// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_lookup_lpm.bpf.c - bench_lookup.bpf.c over the data path as it was
 * before the fast tables (dst4 and ports LPM tries only): the "before"
 * column of `make bench`'s random-destination figures.  Never attached.
 */
#define SL_LPM_ONLY 1
#define SL_PORTS_TRIE_ONLY 1
#include "bench_lookup.bpf.c"
