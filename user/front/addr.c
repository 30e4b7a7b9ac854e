/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * addr.c - address and port arithmetic every front-end stage uses:
 * address syntax and formatting, masks, ranges split into the minimal
 * CIDRs, host-name checks, port-list normalization, and the sorting
 * helpers of the lints.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "front/addr.h"


/* qsort that accepts an empty (NULL) array. */
void sl__sortv(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, sz, cmp);
}

/*
 * Sort @n records of @sz bytes by a 64-bit key (unique per record, so the
 * order is the one qsort with the equivalent comparison gives): an LSD
 * radix sort, 16 bits a pass, skipping passes where every key has the same
 * digit.  Lint lists reach 1e6 entries on big rulesets, where qsort's
 * indirect comparisons cost more than everything else.  Falls back to
 * qsort with @cmp if memory is short.
 */
struct krec { uint64_t k; uint64_t i; };

void sl__sort_u64key(void *base, size_t n, size_t sz, uint64_t (*key)(const void *),
		     int (*cmp)(const void *, const void *))
{
	struct krec *a, *b, *t;
	size_t *cnt;
	char *out;

	if (n < 2)
		return;
	a = malloc(n * sizeof(*a));
	b = malloc(n * sizeof(*b));
	cnt = malloc(65536 * sizeof(*cnt));
	out = malloc(n * sz);
	if (!a || !b || !cnt || !out) {
		free(a); free(b); free(cnt); free(out);
		qsort(base, n, sz, cmp);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		a[i].k = key((char *)base + i * sz);
		a[i].i = i;
	}
	for (int sh = 0; sh < 64; sh += 16) {
		uint64_t first = (a[0].k >> sh) & 0xffff;
		bool same = true;

		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (size_t i = 0; i < n; i++) {
			uint64_t d = (a[i].k >> sh) & 0xffff;

			cnt[d]++;
			same &= d == first;
		}
		if (same)
			continue;
		for (size_t d = 0, sum = 0; d < 65536; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[cnt[(a[i].k >> sh) & 0xffff]++] = a[i];
		t = a; a = b; b = t;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * sz, (char *)base + a[i].i * sz, sz);
	memcpy(base, out, n * sz);
	free(a); free(b); free(cnt); free(out);
}

/* -------------------------------------------------------------- addresses */

int sl__addr(const char *s, size_t n, uint8_t *fam, uint8_t addr[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(addr, 0, 16);
	if (memchr(buf, ':', n)) {
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return -1;
		*fam = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -1;
	*fam = AF_INET;
	return 0;
}

const char *sl__fmt_addr(uint8_t fam, const uint8_t *addr, char *buf, size_t n)
{
	if (!inet_ntop(fam == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

const char *sl__fmt_cidr(const struct sl_cidr *c, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, n, "%s/%u", sl__fmt_addr(c->family, c->addr, a, sizeof(a)), c->plen);
	return buf;
}

static unsigned width(uint8_t fam)
{
	return fam == AF_INET ? 32 : 128;
}

bool sl__host_bits(const struct sl_cidr *c)
{
	unsigned w = width(c->family);

	for (unsigned bit = c->plen; bit < w; bit++)
		if (c->addr[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	return false;
}

void sl__mask(struct sl_cidr *c)
{
	for (unsigned bit = c->plen; bit < 128; bit++)
		c->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

int sl__cmp_addr(uint8_t fam, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, fam == AF_INET ? 4 : 16);
}

static u128 to128(uint8_t fam, const uint8_t *a)
{
	u128 v = 0;

	for (unsigned i = 0; i < width(fam) / 8; i++)
		v = (v << 8) | a[i];
	return v;
}

static void from128(uint8_t fam, u128 v, uint8_t *a)
{
	unsigned n = width(fam) / 8;

	memset(a, 0, 16);
	for (unsigned i = n; i-- > 0;) {
		a[i] = (uint8_t)v;
		v >>= 8;
	}
}

int sl__range_split(struct pctx *c, struct dlist *dl, uint8_t fam,
		    const uint8_t lo[16], const uint8_t hi[16],
		    struct sl_pos pos, uint32_t seq, uint32_t origin)
{
	unsigned w = width(fam);
	u128 a = to128(fam, lo), b = to128(fam, hi);

	for (;;) {
		unsigned k = 0;         /* block of 2^k addresses at a */
		struct bcidr bc;

		while (k < w) {
			unsigned nk = k + 1;

			if (nk == 128) {        /* the whole IPv6 space */
				if (a == 0 && b == ~(u128)0)
					k = nk;
				break;
			}
			u128 mask = ((u128)1 << nk) - 1;
			if ((a & mask) || b - a < mask)
				break;
			k = nk;
		}
		memset(&bc, 0, sizeof(bc));
		bc.c.family = fam;
		bc.c.plen = (uint8_t)(w - k);
		from128(fam, a, bc.c.addr);
		bc.c.pos = pos;
		bc.seq = seq;
		bc.origin = origin;
		if (sl__add_cidr(c, dl, &bc))
			return -1;
		if (k == w)
			return 0;
		u128 end = a + (((u128)1 << k) - 1);
		if (end >= b)
			return 0;
		a = end + 1;
	}
}

/* ------------------------------------------------------------ host names */

int sl__host(const char *s, size_t n, char **out, bool *wildcard,
	     char *why, size_t whylen)
{
	const char *p = s, *e = s + n;
	size_t labels = 0;

	*wildcard = false;
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		*wildcard = true;
		p += 2;
	}
	if (memchr(p, '*', (size_t)(e - p))) {
		snprintf(why, whylen, "'*' is only allowed as a leading '*.' (as in *.example.com)");
		return -1;
	}
	if (e > p && e[-1] == '.')
		e--;                    /* trailing dot of a fully qualified name */
	if (e - p > 253) {
		snprintf(why, whylen, "a host name is at most 253 characters");
		return -1;
	}
	if (e == p) {
		snprintf(why, whylen, "empty host name");
		return -1;
	}
	const char *last = p;
	for (const char *q = p; q <= e; q++) {
		if (q < e && *q != '.')
			continue;
		size_t ll = (size_t)(q - last);

		if (ll == 0) {
			snprintf(why, whylen, "empty label (two dots in a row, or a leading dot)");
			return -1;
		}
		if (ll > 63) {
			snprintf(why, whylen, "a label is at most 63 characters");
			return -1;
		}
		if (last[0] == '-' || q[-1] == '-') {
			snprintf(why, whylen, "a label cannot start or end with '-'");
			return -1;
		}
		for (const char *r = last; r < q; r++) {
			if (!isalnum((unsigned char)*r) && *r != '-') {
				snprintf(why, whylen, "'%c' is not allowed in a host name "
					 "(letters, digits and '-' only)", *r);
				return -1;
			}
		}
		labels++;
		if (q == e) {
			bool digits = true;

			for (const char *r = last; r < q; r++)
				if (!isdigit((unsigned char)*r))
					digits = false;
			if (digits) {
				snprintf(why, whylen, "the last label of a host name cannot be all digits");
				return -1;
			}
		}
		last = q + 1;
	}
	if (labels < 2) {
		snprintf(why, whylen, "not an address, and a host name needs at least one dot");
		return -1;
	}
	char *name = malloc((size_t)(e - p) + 1);
	if (!name) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < (size_t)(e - p); i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[e - p] = 0;
	*out = name;
	return 0;
}

/* ------------------------------------------------------------------ ports */

static int range_cmp(const void *x, const void *y)
{
	const struct sl_port_range *a = x, *b = y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (a->hi > b->hi) - (a->hi < b->hi);
}

size_t sl__ports_normalize(struct sl_port_range *v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	sl__sortv(v, n, sizeof(*v), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)v[i].lo <= (uint32_t)v[k].hi + 1) {
			if (v[i].hi > v[k].hi)
				v[k].hi = v[i].hi;
		} else {
			v[++k] = v[i];
		}
	}
	k++;
	if (k == 1 && v[0].lo == 0 && v[0].hi == 65535)
		return 0;               /* every port: same as no list */
	return k;
}

