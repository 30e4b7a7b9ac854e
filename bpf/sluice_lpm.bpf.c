// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice_lpm.bpf.c - sluice.bpf.c with the data path as it was before the
 * fast tables (docs/datapath.md §4): the IPv4 destination from the dst4 LPM
 * trie and every port decision from the "ports" LPM trie.  For `make bench`
 * only (the "before" column, measured side by side with sluice.bpf.c on the
 * same maps); never attached.
 */
#define SL_LPM_ONLY 1
#define SL_PORTS_TRIE_ONLY 1
#include "sluice.bpf.c"
