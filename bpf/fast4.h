/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast4.h - the IPv4 destination walk of the data path (docs/datapath.md
 * §4): dir16 on the top 16 bits, then the /16's node and, if its entry is a
 * pointer, the /24's node, both in dir8's 64-byte lines (compact: one line,
 * a 4-step binary search; wide: a 6-step search in its first line, then the
 * entry's line; full: the byte's line), as user/image/fast4.c builds them
 * from dst4 (the source of truth).  A /24's node lies after its /16's node:
 * a lookup reads dir16's line and one to four lines of dir8, which usually
 * share a page.  Array maps only (the verifier inlines their
 * lookups); dst4 itself only for a leaf above SL_DIR4_LEAF_MAX (rulesets of
 * more than 32,765 classes).
 */
#ifndef SL_FAST4_H
#define SL_FAST4_H

#include "maps.h"

/* Entry of byte @b in the node of kind @kind at line @p of dir8. */
static __always_inline __u32 sl_fast4_node(__u32 p, __u32 kind, __u32 b)
{
	const struct sl_dir_line *l;
	__u32 k = kind == SL_K4_FULL ? p + (b >> 5) : p, i;

	l = bpf_map_lookup_elem(&dir8, &k);
	if (!l)
		return 0;
	if (kind == SL_K4_FULL)
		return l->f[b & 31];
	if (kind != SL_K4_WIDE)
		return sl_dir_line_entry(l, b);
	i = sl_dir_wide_index(l, b);
	k = p + 1 + (i >> 5);
	l = bpf_map_lookup_elem(&dir8, &k);
	return l ? l->f[i & 31] : 0;
}

/*
 * Leaf of the IPv4 destination @daddr (network order): class index + 1, or
 * 0.  Inline (a global function's call cost 8 ns here); the searches have
 * no branch, so that it adds few verifier states.
 */
static __always_inline __u32 sl_fast4_leaf(__u32 daddr)
{
	const struct sl_dir_grp *g;
	const struct sl_dst_val *v;
	__u32 a = bpf_ntohl(daddr);
	__u32 k = a >> 24, x, p, kind;

	g = bpf_map_lookup_elem(&dir16, &k);
	if (!g)
		return 0;
	x = g->e[(a >> 16) & 0xff];
	if (!(x & SL_DIR4_PTR))
		return x;
	p = x & SL_DIR4_LINE;
	kind = SL_DIR4_KIND(x);
	x = sl_fast4_node(p, kind, (a >> 8) & 0xff);
	if (x & SL_E4_PTR) {
		/* the /24's node: after the /16's */
		p += SL_K4_LINES(kind) + (x & SL_E4_OFF);
		x = sl_fast4_node(p, SL_E4_KIND(x), a & 0xff);
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
