/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast4.h - the IPv4 destination walk of the data path (docs/datapath.md
 * §4): dir16 on the top 16 bits, then the /16's node and, if its entry is a
 * pointer, the /24's node, both in dir8's 64-byte lines (compact: one line,
 * a 4-step binary search; full: the line of the byte), as
 * user/image/fast4.c builds them from dst4 (the source of truth).  A /24's
 * node lies next to its siblings, after its /16's node: a lookup reads
 * three lines (dir16's, the /16 node's, the /24 node's) of which the last
 * two usually share a page.  Array maps only (the verifier inlines their
 * lookups); dst4 itself only for a leaf above SL_DIR4_LEAF_MAX (rulesets of
 * more than 32,765 classes).
 */
#ifndef SL_FAST4_H
#define SL_FAST4_H

#include "maps.h"

/* Entry of byte @b in the node at line @p of dir8 (@full: 8 lines). */
static __always_inline __u32 sl_fast4_node(__u32 p, __u32 full, __u32 b)
{
	const struct sl_dir_line *l;
	__u32 k = full ? p + (b >> 5) : p;

	l = bpf_map_lookup_elem(&dir8, &k);
	if (!l)
		return 0;
	return full ? l->f[b & 31] : sl_dir_line_entry(l, b);
}

/* Leaf of the IPv4 destination @daddr (network order): class index + 1, or 0. */
static __always_inline __u32 sl_fast4_leaf(__u32 daddr)
{
	const struct sl_dir_line *l;
	const struct sl_dir_grp *g;
	const struct sl_dst_val *v;
	__u32 a = bpf_ntohl(daddr);
	__u32 k = a >> 24, x, p, full, base;

	g = bpf_map_lookup_elem(&dir16, &k);
	if (!g)
		return 0;
	x = g->e[(a >> 16) & 0xff];
	if (!(x & SL_DIR4_PTR))
		return x;
	p = x & SL_DIR4_LINE;
	full = x & SL_DIR4_FULL;
	x = sl_fast4_node(p, full, (a >> 8) & 0xff);
	if (x & SL_E4_PTR) {
		/* the /16 node's base: in its line (compact) or its 9th (full) */
		k = full ? p + 8 : p;
		l = bpf_map_lookup_elem(&dir8, &k);
		if (!l)
			return 0;
		base = l->c.base;
		x = sl_fast4_node(base + (x & SL_E4_OFF), x & SL_E4_FULL, a & 0xff);
		if (x & SL_E4_PTR)
			return 0;
	}
	if (x != SL_DIR4_TRIE)
		return x;
	{
		struct sl_lpm4_key k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, &daddr, 4);
		v = bpf_map_lookup_elem(&dst4, &k4);
		return v ? v->cidx + 1 : 0;
	}
}

#endif /* SL_FAST4_H */
