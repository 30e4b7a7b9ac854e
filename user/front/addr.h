/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * addr.h - address and port arithmetic (addr.c) under every front-end
 * stage.  Internal to user/front.
 */
#ifndef SL_FRONT_ADDR_H
#define SL_FRONT_ADDR_H

#include <endian.h>
#include <string.h>

#include "front/ctx.h"

typedef unsigned __int128 u128;

/* qsort that accepts an empty (NULL) array. */
void sl__sortv(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *));
/*
 * Sort @n records of @sz bytes by a unique 64-bit key (the order qsort
 * with @cmp gives): a radix sort, qsort with @cmp if memory is short.
 */
void sl__sort_u64key(void *base, size_t n, size_t sz, uint64_t (*key)(const void *),
		     int (*cmp)(const void *, const void *));

/* Parse an IPv4 or IPv6 address (no prefix).  0 or -1. */
int sl__addr(const char *s, size_t n, uint8_t *fam, uint8_t addr[16]);
/* "a.b.c.d/nn" for messages; buf >= 64. */
const char *sl__fmt_cidr(const struct sl_cidr *c, char *buf, size_t n);
const char *sl__fmt_addr(uint8_t fam, const uint8_t *addr, char *buf, size_t n);
bool sl__host_bits(const struct sl_cidr *c);
void sl__mask(struct sl_cidr *c);
int sl__cmp_addr(uint8_t fam, const uint8_t *a, const uint8_t *b);
/* Split [lo, hi] (same family, lo <= hi) into the minimal set of CIDRs. */
int sl__range_split(struct pctx *c, struct dlist *dl, uint8_t fam,
		    const uint8_t lo[16], const uint8_t hi[16],
		    struct sl_pos pos, uint32_t seq, uint32_t origin);
/*
 * Check a host name ("zoom.us", "*.zoom.us", trailing dot allowed) and
 * return it lower-cased without "*." / trailing dot in @out (malloc'd).
 * On error returns -1 and a reason in @why.
 */
int sl__host(const char *s, size_t n, char **out, bool *wildcard,
	     char *why, size_t whylen);
/* Sort, merge; returns the new count (0 if the list covers every port). */
size_t sl__ports_normalize(struct sl_port_range *v, size_t n);

static inline uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* Order: family, address, prefix length (an enclosing prefix comes first). */
static inline int cidr_cmp(const struct sl_cidr *a, const struct sl_cidr *b)
{
	uint64_t x, y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	x = be64(a->addr);
	y = be64(b->addr);
	if (x != y)
		return x < y ? -1 : 1;
	x = be64(a->addr + 8);
	y = be64(b->addr + 8);
	if (x != y)
		return x < y ? -1 : 1;
	return (int)a->plen - (int)b->plen;
}

static inline bool cidr_eq(const struct sl_cidr *a, const struct sl_cidr *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

/* Does @a contain (or equal) @b? */
static inline bool contains(const struct sl_cidr *a, const struct sl_cidr *b)
{
	unsigned full, rem;

	if (a->family != b->family || a->plen > b->plen)
		return false;
	full = a->plen / 8;
	rem = a->plen % 8;
	if (memcmp(a->addr, b->addr, full))
		return false;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		if ((a->addr[full] & m) != (b->addr[full] & m))
			return false;
	}
	return true;
}

#endif
