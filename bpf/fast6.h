/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast6.h - the IPv6 destination walk of the data path (docs/datapath.md
 * §4): dir6 on the top 16 bits, then one byte per level through full
 * (grp6) or compact (small6) groups until a leaf, as user/image/fast6.c
 * builds them from dst6 (the source of truth).  Array maps only (the
 * verifier inlines their lookups: no helper call per level); a bounded
 * loop of at most 14 levels, the address bytes shifted out of two
 * registers (no variable stack offset).  A global function, so that the
 * verifier checks it once per program, not once per path into it.
 */
#ifndef SL_FAST6_H
#define SL_FAST6_H

#include "maps.h"

/* Leaf of the IPv6 address @hi:@lo (host order halves): class index + 1, or 0. */
__noinline __u32 sl_fast6_walk(__u64 hi, __u64 lo)
{
	const struct sl_dir_small *sg;
	const struct sl_dir_grp *g;
	__u64 w = hi << 16;
	__u32 k = hi >> 56, x, i, b;

	g = bpf_map_lookup_elem(&dir6, &k);
	if (!g)
		return 0;
	x = g->e[(hi >> 48) & 0xff];
	for (i = 2; i < 16; i++) {
		if (!(x & (SL_DIR_GROUP | SL_DIR_SMALL)))
			return x;
		if (i == 8)
			w = lo;
		b = w >> 56;
		w <<= 8;
		if (x & SL_DIR_GROUP) {
			k = x & ~SL_DIR_GROUP;
			g = bpf_map_lookup_elem(&grp6, &k);
			if (!g)
				return 0;
			x = g->e[b & 0xff];
		} else {
			k = x & ~SL_DIR_SMALL;
			sg = bpf_map_lookup_elem(&small6, &k);
			if (!sg)
				return 0;
			x = sl_dir_small_leaf(sg, b);
		}
	}
	return x & (SL_DIR_GROUP | SL_DIR_SMALL) ? 0 : x;
}

/* Leaf of the IPv6 destination @daddr (4 words, network order). */
static __always_inline __u32 sl_fast6_leaf(const __u32 *daddr)
{
	__u64 hi = (__u64)bpf_ntohl(daddr[0]) << 32 | bpf_ntohl(daddr[1]);
	__u64 lo = (__u64)bpf_ntohl(daddr[2]) << 32 | bpf_ntohl(daddr[3]);

	return sl_fast6_walk(hi, lo);
}

#endif /* SL_FAST6_H */
