/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast6.h - the IPv6 destination walk of the data path (docs/datapath.md
 * §4): dir6 on the top 16 bits, then one byte per level through the nodes
 * of node6 (include/sluice.h, SL_N6_*: full groups, compact groups of 8 or
 * 32 ranges, path-compressed skips of up to 7 bytes), until a leaf, as
 * user/image/fast6.c builds them from dst6 (the source of truth).  Array
 * maps only (the verifier inlines their lookups: no helper call per
 * level); a bounded loop of at most 14 levels, the address bytes shifted
 * out of two registers (no variable stack offset), the compact search
 * without branches.  A global function, so that
 * the verifier checks it once per program, not once per path into it.
 */
#ifndef SL_FAST6_H
#define SL_FAST6_H

#include "maps.h"

/* 1 if @v > @h (both below 256), without a branch: the barrier keeps clang
 * from turning the borrow back into a compare and jump, which would double
 * the verifier's states at every step (the result indexes the node). */
static __always_inline __u32 sl_n6_gt(__u32 v, __u32 h)
{
	__u64 d = (__u64)h - v;

	asm volatile("" : "+r"(d));
	return d >> 63;
}

/* 1 if @d is not 0, without a branch (as above; in assembly, since clang
 * knows (d | -d) >> 63 as d != 0). */
static __always_inline __u32 sl_n6_nz(__u64 d)
{
	__u64 r;

	asm volatile("%[r] = %[d]; %[r] = -%[r]; %[r] |= %[d]; %[r] >>= 63"
		     : [r] "=&r"(r) : [d] "r"(d));
	return r;
}

/* The line of node6 holding unit @u (a node of up to 4 units is in one line). */
static __always_inline const struct sl_node6 *sl_n6(__u32 u)
{
	__u32 k = u >> 2;

	return bpf_map_lookup_elem(&node6, &k);
}

/* Entry @k (1..15) of a list node in line @nd: @x if it does not match @w,
 * its entry if it does (unused entries repeat the last prefix: no count). */
#define SL_N6_ITEM(nd, k, w, x) ({                                                     \
	__u64 _key = (nd)->q[((k) & 3) * 2];                                           \
	__u32 _hit = sl_n6_nz(((w) ^ _key) >> (_key & 63)) ^ 1;                        \
	(x) ^ (((x) ^ (nd)->w[((k) & 3) * 4 + 2]) & -_hit);                            \
})

/* The entry of address window @w in the list node at unit @u (line-aligned,
 * @wide: L16): every line read without waiting for another.  A global
 * function of its own: it keeps the walk's loop small (fewer registers
 * spilled on every level) and is verified once. */
__noinline __u32 sl_fast6_list(__u32 u, __u32 wide, __u64 w)
{
	const struct sl_node6 *l0 = sl_n6(u), *l1 = sl_n6(u + 4), *l2, *l3;
	__u32 x;

	if (!l0 || !l1)
		return 0;
	x = l0->w[0];
	x = SL_N6_ITEM(l0, 1, w, x);
	x = SL_N6_ITEM(l0, 2, w, x);
	x = SL_N6_ITEM(l0, 3, w, x);
	x = SL_N6_ITEM(l1, 4, w, x);
	x = SL_N6_ITEM(l1, 5, w, x);
	x = SL_N6_ITEM(l1, 6, w, x);
	x = SL_N6_ITEM(l1, 7, w, x);
	if (!wide)
		return x;
	l2 = sl_n6(u + 8);
	l3 = sl_n6(u + 12);
	if (!l2 || !l3)
		return 0;
	x = SL_N6_ITEM(l2, 8, w, x);
	x = SL_N6_ITEM(l2, 9, w, x);
	x = SL_N6_ITEM(l2, 10, w, x);
	x = SL_N6_ITEM(l2, 11, w, x);
	x = SL_N6_ITEM(l3, 12, w, x);
	x = SL_N6_ITEM(l3, 13, w, x);
	x = SL_N6_ITEM(l3, 14, w, x);
	x = SL_N6_ITEM(l3, 15, w, x);
	return x;
}

/* Leaf of the IPv6 address @hi:@lo (host order halves): class index + 1, or 0. */
__noinline __u32 sl_fast6_walk(__u64 hi, __u64 lo)
{
	const struct sl_node6 *nd;
	const struct sl_dir_grp *g;
	__u32 k = hi >> 56, x, n, p, pos = 2, len, sh, t, u, b, i, o;
	__u64 w, m;

	g = bpf_map_lookup_elem(&dir6, &k);
	if (!g)
		return 0;
	x = g->e[(hi >> 48) & 0xff];
	for (n = 0; n < 14; n++) {
		t = x >> SL_N6_SHIFT;
		if (!t)
			return x;
		u = x & SL_N6_UNIT_MAX;
		/* the address from byte pos on, left-aligned, without a branch
		 * (a branch on pos would split the verifier's states) */
		p = pos & 15;
		m = -(__u64)(p >> 3);           /* all ones from byte 8 on */
		sh = (p * 8) & 63;
		w = ((hi & ~m) | (lo & m)) << sh | ((lo & ~m) >> 1) >> (63 - sh);
		b = w >> 56;
		o = (u & 3) << 4;               /* the node's byte in its line */
		/* the skip case first: the verifier explores it first, and its
		 * wider pos covers the one-byte cases after it (pruned) */
		if (t == SL_N6_SKIP) {
			nd = sl_n6(u);
			if (!nd)
				return 0;
			w ^= nd->q[(o >> 3) & 7];
			sh = nd->b[o & 63] & 63;        /* the key's low byte: 64 - 8 len */
			len = (64 - sh) >> 3;
			/* next (w[3] of the unit), else miss (w[2]) */
			x = nd->w[((o >> 2) + 3 - sl_n6_nz(w >> sh)) & 15];
		} else if (t == SL_N6_C8) {
			/* bounds hi[8], then the entries, all in one line */
			nd = sl_n6(u);
			if (!nd)
				return 0;
			i = sl_n6_gt(b, nd->b[(o + 3) & 63]) << 2;
			i += sl_n6_gt(b, nd->b[(o + i + 1) & 63]) << 1;
			i += sl_n6_gt(b, nd->b[(o + i) & 63]);
			x = nd->w[((o + 8 + 4 * i) >> 2) & 15];
			len = 1;
		} else if (t >= SL_N6_L8) {
			x = sl_fast6_list(u, t & 1, w);
			len = 7;
		} else if (t == SL_N6_FULL) {
			nd = sl_n6(u + (b >> 2));
			if (!nd)
				return 0;
			x = nd->w[b & 15];
			len = 1;
		} else if (t == SL_N6_F16) {
			i = w >> 48;            /* the next two bytes */
			nd = sl_n6(u + (i >> 2));
			if (!nd)
				return 0;
			x = nd->w[i & 15];
			len = 2;
		} else {
			/* C32: bounds hi[32] (one line, line-aligned), then the entries */
			nd = sl_n6(u);
			if (!nd)
				return 0;
			i = sl_n6_gt(b, nd->b[(o + 15) & 63]) << 4;
			i += sl_n6_gt(b, nd->b[(o + i + 7) & 63]) << 3;
			i += sl_n6_gt(b, nd->b[(o + i + 3) & 63]) << 2;
			i += sl_n6_gt(b, nd->b[(o + i + 1) & 63]) << 1;
			i += sl_n6_gt(b, nd->b[(o + i) & 63]);
			/* entry i: its byte from the start of the node's first line */
			i = o + 32 + 4 * i;
			nd = sl_n6((u & ~3u) + (i >> 4));
			if (!nd)
				return 0;
			x = nd->w[(i >> 2) & 15];
			len = 1;
		}
		pos = p + len;
	}
	return x >> SL_N6_SHIFT ? 0 : x;
}

/* Leaf of the IPv6 destination @daddr (4 words, network order). */
static __always_inline __u32 sl_fast6_leaf(const __u32 *daddr)
{
	__u64 hi = (__u64)bpf_ntohl(daddr[0]) << 32 | bpf_ntohl(daddr[1]);
	__u64 lo = (__u64)bpf_ntohl(daddr[2]) << 32 | bpf_ntohl(daddr[3]);

	return sl_fast6_walk(hi, lo);
}

#endif /* SL_FAST6_H */
