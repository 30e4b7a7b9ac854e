/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast6.h - the IPv6 destination walk of the data path (docs/datapath.md
 * §4): dir6 on the top 16 bits, then one byte per level through full
 * (grp6) or compact (small6) groups, or several at once through a
 * path-compressed chain (skip6), until a leaf, as user/image/fast6.c builds
 * them from dst6 (the source of truth).  Array maps only (the verifier
 * inlines their lookups: no helper call per level); a bounded loop of at
 * most 14 levels, the address bytes shifted out of two registers (no
 * variable stack offset).  A global function, so that the
 * verifier checks it once per program, not once per path into it.
 */
#ifndef SL_FAST6_H
#define SL_FAST6_H

#include "maps.h"

#define SL_DIR6_PTR (SL_DIR_GROUP | SL_DIR_SMALL | SL_DIR_SKIP)

/* Leaf of the IPv6 address @hi:@lo (host order halves): class index + 1, or 0. */
__noinline __u32 sl_fast6_walk(__u64 hi, __u64 lo)
{
	const struct sl_dir_small *sg;
	const struct sl_dir_skip *sk;
	const struct sl_dir_grp *g;
	__u32 k = hi >> 56, x, n, p, pos = 2, len, sh;
	__u64 w, m;

	g = bpf_map_lookup_elem(&dir6, &k);
	if (!g)
		return 0;
	x = g->e[(hi >> 48) & 0xff];
	for (n = 0; n < 14; n++) {
		if (!(x & SL_DIR6_PTR))
			return x;
		/* the address from byte pos on, left-aligned, without a branch
		 * (a branch on pos would split the verifier's states) */
		p = pos & 15;
		m = -(__u64)(p >> 3);           /* all ones from byte 8 on */
		sh = (p * 8) & 63;
		w = ((hi & ~m) | (lo & m)) << sh | ((lo & ~m) >> 1) >> (63 - sh);
		/* the skip case first: the verifier explores it first, and its
		 * wider pos covers the one-byte cases after it (pruned) */
		if (x & SL_DIR_SKIP) {
			k = x & ~SL_DIR_SKIP;
			sk = bpf_map_lookup_elem(&skip6, &k);
			if (!sk)
				return 0;
			len = ((sk->len - 1) & 7) + 1;
			x = (w ^ sk->key) >> (64 - len * 8) ? sk->miss : sk->next;
		} else if (x & SL_DIR_GROUP) {
			k = x & ~SL_DIR_GROUP;
			g = bpf_map_lookup_elem(&grp6, &k);
			if (!g)
				return 0;
			x = g->e[(w >> 56) & 0xff];
			len = 1;
		} else {
			k = x & ~SL_DIR_SMALL;
			sg = bpf_map_lookup_elem(&small6, &k);
			if (!sg)
				return 0;
			x = sl_dir_small_leaf(sg, w >> 56);
			len = 1;
		}
		pos = p + len;
	}
	return x & SL_DIR6_PTR ? 0 : x;
}

/* Leaf of the IPv6 destination @daddr (4 words, network order). */
static __always_inline __u32 sl_fast6_leaf(const __u32 *daddr)
{
	__u64 hi = (__u64)bpf_ntohl(daddr[0]) << 32 | bpf_ntohl(daddr[1]);
	__u64 lo = (__u64)bpf_ntohl(daddr[2]) << 32 | bpf_ntohl(daddr[3]);

	return sl_fast6_walk(hi, lo);
}

#endif /* SL_FAST6_H */
