/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resolve.c - the resolver half of the front end: address syntax, ranges
 * split into CIDRs, host-name checks, port normalization, and the lints
 * (duplicates, nested prefixes, overlaps between rules, shadowed rules,
 * notes on host names learned from DNS).
 *
 * Everything that looks at many prefixes sorts them (address, then prefix
 * length) and sweeps once with a stack of enclosing prefixes, so a rule of
 * a million prefixes costs one sort: no pairwise comparisons anywhere.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "front/parse_int.h"

typedef unsigned __int128 u128;

/* qsort that accepts an empty (NULL) array. */
static void sortv(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
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

static void sort_u64key(void *base, size_t n, size_t sz, uint64_t (*key)(const void *),
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
	sortv(v, n, sizeof(*v), range_cmp);
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

/* ------------------------------------------------------------ prefix sets */

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

static bool cidr_eq(const struct sl_cidr *a, const struct sl_cidr *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

/* Does @a contain (or equal) @b? */
static bool contains(const struct sl_cidr *a, const struct sl_cidr *b)
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

/*
 * Sort a list of prefixes by (family, address, length, seq) through a
 * compact key array, then permute: much less copying than sorting the
 * 48-byte entries themselves (a million prefixes is the design point).
 */
struct skey {
	uint64_t a, b;
	uint32_t fp;            /* family << 8 | plen */
	uint32_t seq;
	size_t idx;
};

static inline int skey_cmp(const struct skey *p, const struct skey *q)
{

	if ((p->fp >> 8) != (q->fp >> 8))
		return (p->fp >> 8) < (q->fp >> 8) ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	if (p->fp != q->fp)
		return p->fp < q->fp ? -1 : 1;
	if (p->seq != q->seq)
		return p->seq < q->seq ? -1 : 1;
	return (p->idx > q->idx) - (p->idx < q->idx);
}

static inline bool skey_lt(const struct skey *p, const struct skey *q)
{
	return skey_cmp(p, q) < 0;
}

/*
 * Bottom-up merge sort with the comparison inlined (qsort's indirect
 * calls and byte copies cost 3x more at a million entries); blocks of 16
 * start with an insertion sort, and an already sorted input (vendor lists
 * often are) costs one comparison per merge step.
 */
static int sort_skeys(struct skey *v, size_t n)
{
	struct skey *tmp, *a = v, *b;

	for (size_t lo = 0; lo < n; lo += 16) {
		size_t hi = lo + 16 < n ? lo + 16 : n;

		for (size_t i = lo + 1; i < hi; i++) {
			struct skey x = v[i];
			size_t j = i;

			while (j > lo && skey_lt(&x, &v[j - 1])) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
	}
	if (n <= 16)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -1;
	b = tmp;
	for (size_t w = 16; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;

			if (mid == hi || !skey_lt(&a[mid], &a[mid - 1])) {
				memcpy(b + lo, a + lo, (hi - lo) * sizeof(*a));
				continue;
			}
			while (i < mid && j < hi)
				b[o++] = skey_lt(&a[j], &a[i]) ? a[j++] : a[i++];
			while (i < mid)
				b[o++] = a[i++];
			while (j < hi)
				b[o++] = a[j++];
		}
		struct skey *t = a;
		a = b;
		b = t;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
	free(tmp);
	return 0;
}

static int sort_bcidrs(struct pctx *c, struct bcidr *v, size_t n)
{
	struct skey *k;
	struct bcidr *tmp;

	if (n < 2)
		return 0;
	k = malloc(n * sizeof(*k));
	tmp = malloc(n * sizeof(*tmp));
	if (!k || !tmp) {
		free(k);
		free(tmp);
		sl__oom(c);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].a = be64(v[i].c.addr);
		k[i].b = be64(v[i].c.addr + 8);
		k[i].fp = (uint32_t)v[i].c.family << 8 | v[i].c.plen;
		k[i].seq = v[i].seq;
		k[i].idx = i;
	}
	if (sort_skeys(k, n)) {
		free(k);
		free(tmp);
		sl__oom(c);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = v[k[i].idx];
	memcpy(v, tmp, n * sizeof(*v));
	free(k);
	free(tmp);
	return 0;
}

static int bhost_cmp(const void *x, const void *y)
{
	const struct bhost *a = x, *b = y;
	int r = strcmp(a->h.name, b->h.name);

	if (r)
		return r;
	if (a->h.wildcard != b->h.wildcard)
		return a->h.wildcard ? 1 : -1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static int bhost_seq_cmp(const void *x, const void *y)
{
	const struct bhost *a = x, *b = y;

	return (a->seq > b->seq) - (a->seq < b->seq);
}

enum { K_DUP, K_NEST, K_HDUP, K_N };

struct pend {
	uint32_t seq;
	uint32_t kind;
	size_t i, j;            /* the entry warned about, the other one */
};

static uint64_t pend_key(const void *x)
{
	const struct pend *a = x;

	return (uint64_t)a->seq << 32 | (uint64_t)a->kind << 30 | (a->i & 0x3fffffff);
}

static int pend_cmp(const void *x, const void *y)
{
	const struct pend *a = x, *b = y;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static int push_pend(struct pctx *c, struct pend **v, size_t *n, size_t *cap,
		     uint32_t seq, uint32_t kind, size_t i, size_t j)
{
	if (GROW(c, *v, *cap, *n))
		return -1;
	(*v)[*n].seq = seq;
	(*v)[*n].kind = kind;
	(*v)[*n].i = i;
	(*v)[*n].j = j;
	(*n)++;
	return 0;
}

static bool same_set(uint32_t o1, uint32_t o2)
{
	return o1 && o1 == o2;  /* both from one @set: linted with the set */
}

void sl__lint_list(struct pctx *c, struct dlist *dl, const char *kind,
		   const char *name, struct sl_pos pos)
{
	size_t n = dl->nc, nh = dl->nh, np = 0, cp = 0, sp = 0, k;
	struct pend *pv = NULL;
	uint8_t *rm = NULL, *rmh = NULL;
	size_t stk[130];
	size_t cnt[K_N] = { 0 };

	if (n + nh == 0 || c->stop)
		return;
	rm = calloc(n + 1, 1);
	rmh = calloc(nh + 1, 1);
	if (!rm || !rmh) {
		sl__oom(c);
		goto out;
	}
	if (sort_bcidrs(c, dl->c, n))
		goto out;
	k = 0;
	for (size_t i = 1; i < n; i++) {
		if (cidr_eq(&dl->c[i].c, &dl->c[k].c)) {
			rm[i] = 1;
			if (!same_set(dl->c[i].origin, dl->c[k].origin) &&
			    push_pend(c, &pv, &np, &cp, dl->c[i].seq, K_DUP, i, k))
				goto out;
		} else {
			k = i;
		}
	}
	/*
	 * Nesting: sorted by address then length, the prefixes enclosing
	 * one are exactly the stack left after popping those that do not
	 * contain it.  Distinct nested prefixes: depth <= 129.
	 */
	for (size_t i = 0; i < n; i++) {
		if (rm[i])
			continue;
		while (sp && !contains(&dl->c[stk[sp - 1]].c, &dl->c[i].c))
			sp--;
		for (size_t j = sp; j-- > 0;) {
			size_t a = stk[j];

			if (same_set(dl->c[a].origin, dl->c[i].origin))
				continue;
			if (push_pend(c, &pv, &np, &cp, dl->c[i].seq, K_NEST, i, a))
				goto out;
			break;
		}
		if (sp < sizeof(stk) / sizeof(stk[0]))
			stk[sp++] = i;
	}
	sortv(dl->h, nh, sizeof(*dl->h), bhost_cmp);
	k = 0;
	for (size_t i = 1; i < nh; i++) {
		if (!strcmp(dl->h[i].h.name, dl->h[k].h.name) &&
		    dl->h[i].h.wildcard == dl->h[k].h.wildcard) {
			rmh[i] = 1;
			if (!same_set(dl->h[i].origin, dl->h[k].origin) &&
			    push_pend(c, &pv, &np, &cp, dl->h[i].seq, K_HDUP, i, k))
				goto out;
		} else {
			k = i;
		}
	}

	/* Report the first SL_LINT_MAX of each kind in source order. */
	if (n < 0x40000000u && nh < 0x40000000u)
		sort_u64key(pv, np, sizeof(*pv), pend_key, pend_cmp);
	else
		sortv(pv, np, sizeof(*pv), pend_cmp);
	for (size_t p = 0; p < np; p++) {
		const struct pend *e = &pv[p];
		char a[64], b[64];

		if (cnt[e->kind]++ >= SL_LINT_MAX)
			continue;
		if (e->kind == K_DUP) {
			const struct sl_cidr *x = &dl->c[e->i].c, *y = &dl->c[e->j].c;

			sl__diag(c, SL_SEV_WARNING, x->pos, NULL, "%s is listed twice; first at %s:%d:%d",
				 sl__fmt_cidr(x, a, sizeof(a)), y->pos.file, y->pos.line, y->pos.col);
		} else if (e->kind == K_NEST) {
			const struct sl_cidr *x = &dl->c[e->i].c, *y = &dl->c[e->j].c;

			sl__diag(c, SL_SEV_WARNING, x->pos, NULL,
				 "%s is inside %s (%s:%d:%d) of the same %s; redundant",
				 sl__fmt_cidr(x, a, sizeof(a)), sl__fmt_cidr(y, b, sizeof(b)),
				 y->pos.file, y->pos.line, y->pos.col, kind);
		} else {
			const struct sl_host *x = &dl->h[e->i].h, *y = &dl->h[e->j].h;

			sl__diag(c, SL_SEV_WARNING, x->pos, NULL, "%s%s is listed twice; first at %s:%d:%d",
				 x->wildcard ? "*." : "", x->name, y->pos.file, y->pos.line, y->pos.col);
		}
	}
	static const char *const what[K_N] = { "duplicate entries", "nested prefixes",
					       "duplicate host names" };
	for (int kk = 0; kk < K_N; kk++)
		if (cnt[kk] > SL_LINT_MAX)
			sl__diag(c, SL_SEV_NOTE, pos, NULL, "%s '%s': and %zu more %s not shown",
				 kind, name, cnt[kk] - SL_LINT_MAX, what[kk]);

	/* Drop the exact duplicates (nested prefixes stay: the compiler needs them). */
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (!rm[i])
			dl->c[k++] = dl->c[i];
	dl->nc = k;
	k = 0;
	for (size_t i = 0; i < nh; i++) {
		if (rmh[i])
			free(dl->h[i].h.name);
		else
			dl->h[k++] = dl->h[i];
	}
	dl->nh = k;
	/* Host names go back to the order they were written in. */
	sortv(dl->h, dl->nh, sizeof(*dl->h), bhost_seq_cmp);
out:
	free(pv);
	free(rm);
	free(rmh);
}

int sl__finalize(struct pctx *c)
{
	struct sl_ruleset *rs = c->rs;

	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];
		struct dlist *dl = &c->pr[i].d;

		if (dl->nc) {
			r->dsts = malloc(dl->nc * sizeof(*r->dsts));
			if (!r->dsts) {
				sl__oom(c);
				return -1;
			}
			for (size_t j = 0; j < dl->nc; j++)
				r->dsts[j] = dl->c[j].c;
			r->ndsts = dl->nc;
		}
		if (dl->nh) {
			r->hosts = malloc(dl->nh * sizeof(*r->hosts));
			if (!r->hosts) {
				sl__oom(c);
				return -1;
			}
			for (size_t j = 0; j < dl->nh; j++) {
				r->hosts[j] = dl->h[j].h;
				dl->h[j].h.name = NULL;
			}
			r->nhosts = dl->nh;
		}
		sl__dlist_free(dl);
	}
	return 0;
}

/* ------------------------------------------------------ cross-rule lints */

static bool ports_sub(const struct sl_proto_line *big, const struct sl_proto_line *small)
{
	size_t j = 0;

	if (!big->nports)
		return true;
	if (!small->nports)
		return false;
	for (size_t i = 0; i < small->nports; i++) {
		const struct sl_port_range *s = &small->ports[i];

		while (j < big->nports && big->ports[j].hi < s->lo)
			j++;
		if (j == big->nports || big->ports[j].lo > s->lo || big->ports[j].hi < s->hi)
			return false;
	}
	return true;
}

static bool ports_meet(const struct sl_proto_line *a, const struct sl_proto_line *b)
{
	size_t i = 0, j = 0;

	if (!a->nports || !b->nports)
		return true;
	while (i < a->nports && j < b->nports) {
		if (a->ports[i].hi < b->ports[j].lo)
			i++;
		else if (b->ports[j].hi < a->ports[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

/* Bit i set: line i of @r is covered by one line of @s. */
static uint32_t cover_mask(const struct sl_rule *s, const struct sl_rule *r)
{
	uint32_t m = 0;

	for (size_t i = 0; i < r->nlines && i < 32; i++)
		for (size_t j = 0; j < s->nlines; j++) {
			const struct sl_proto_line *big = &s->lines[j], *sm = &r->lines[i];

			if ((big->proto == SL_PROTO_ANY || big->proto == sm->proto) &&
			    ports_sub(big, sm)) {
				m |= 1u << i;
				break;
			}
		}
	return m;
}

/* Can one packet match a line of both rules (addresses aside)? */
static bool lines_meet(const struct sl_rule *a, const struct sl_rule *b)
{
	for (size_t i = 0; i < a->nlines; i++)
		for (size_t j = 0; j < b->nlines; j++) {
			const struct sl_proto_line *x = &a->lines[i], *y = &b->lines[j];

			if ((x->proto == y->proto || x->proto == SL_PROTO_ANY ||
			     y->proto == SL_PROTO_ANY) && ports_meet(x, y))
				return true;
		}
	return false;
}

/*
 * lines_meet() of rules @s and @r of @rs, memoized in @memo (nrules^2
 * bytes: 0 unknown, 1 no, 2 yes) when there is one: on big lists the same
 * few rule pairs are asked about once per nested prefix.
 */
#define SL_MEET_MEMO_RULES 1024
static bool meet(uint8_t *memo, const struct sl_ruleset *rs, uint32_t s, uint32_t r)
{
	uint8_t *m;

	if (!memo)
		return lines_meet(&rs->rules[s], &rs->rules[r]);
	m = &memo[(size_t)s * rs->nrules + r];
	if (!*m)
		*m = lines_meet(&rs->rules[s], &rs->rules[r]) ? 2 : 1;
	return *m == 2;
}

struct gent {
	const struct sl_cidr *c;
	uint32_t rule, idx;
};

static int gent_cmp(const void *x, const void *y)
{
	const struct gent *a = x, *b = y;
	int r = cidr_cmp(a->c, b->c);

	if (r)
		return r;
	return (a->rule > b->rule) - (a->rule < b->rule);
}

/*
 * Each rule's prefixes are already sorted (sl__lint_list) and the array
 * holds the rules in order: merge the runs pairwise (stable, so equal
 * prefixes stay in rule order).  O(n log rules).
 */
static int merge_runs(struct pctx *c, struct gent **gp, size_t n)
{
	struct gent *a = *gp, *b;
	size_t run_lo = 0;
	size_t *starts = NULL, nr = 0, cr = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || (i > run_lo && a[i].rule != a[i - 1].rule)) {
			if (GROW(c, starts, cr, nr + 1)) {
				free(starts);
				return -1;
			}
			starts[nr++] = run_lo;
			run_lo = i;
		}
	}
	starts[nr] = n;
	b = malloc(n * sizeof(*b));
	if (!b) {
		free(starts);
		sl__oom(c);
		return -1;
	}
	while (nr > 1) {
		size_t w = 0;

		for (size_t r = 0; r < nr; r += 2) {
			size_t lo = starts[r], mid = starts[r + 1];
			size_t hi = r + 2 <= nr ? starts[r + 2 > nr ? nr : r + 2] : n;
			size_t i = lo, j = mid, o = lo;

			if (r + 1 >= nr) {      /* odd run out: copy */
				memcpy(b + lo, a + lo, (n - lo) * sizeof(*a));
				starts[w++] = lo;
				break;
			}
			while (i < mid && j < hi)
				b[o++] = gent_cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
			while (i < mid)
				b[o++] = a[i++];
			while (j < hi)
				b[o++] = a[j++];
			starts[w++] = lo;
		}
		starts[w] = n;
		nr = w;
		struct gent *t = a;
		a = b;
		b = t;
	}
	*gp = a;
	free(b);
	free(starts);
	return 0;
}

struct ov {
	uint32_t rule, idx;     /* the later rule's prefix */
	size_t other;           /* index into the gent array */
};

static uint64_t ov_key(const void *x)
{
	const struct ov *a = x;

	return (uint64_t)a->rule << 32 | a->idx;
}

static int ov_cmp(const void *x, const void *y)
{
	const struct ov *a = x, *b = y;

	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static void host_notice(struct pctx *c, const struct sl_rule *r)
{
	char list[256];
	size_t n = 0;

	list[0] = 0;
	for (size_t i = 0; i < r->nhosts && n < sizeof(list); i++) {
		if (i == 4) {
			n += (size_t)snprintf(list + n, sizeof(list) - n, ", ... (%zu in all)", r->nhosts);
			break;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s%s", i ? ", " : "",
				      r->hosts[i].wildcard ? "*." : "", r->hosts[i].name);
	}
	sl__diag(c, SL_SEV_NOTE, r->hosts[0].pos, NULL,
		 "rule %s: the addresses of %s are learned from DNS answers of the configured "
		 "resolvers%s", r->name, list,
		 r->ndsts ? "" : "; until a client resolves them the rule matches nothing");
}

/*
 * One sweep over every rule's prefixes sorted by (address, length, rule):
 * the stack holds the prefixes that enclose the current one.
 *  - overlap: a prefix of a later rule inside, equal to or containing a
 *    prefix of an earlier rule, when some packet could match both rules'
 *    protocol lines: first match decides, the operator should know.
 *  - shadowed: a rule all of whose (prefix, line) pairs are covered by an
 *    earlier rule's enclosing prefix with a line of the same protocol (or
 *    any) and a superset of ports.  Conservative: coverage must come from
 *    single prefixes (not from the union of several), host-name rules are
 *    never reported, and only SL_WALK_MAX enclosing prefixes are looked at.
 */
void sl__lint_rules(struct pctx *c)
{
	struct sl_ruleset *rs = c->rs;
	size_t total = 0, with = 0, n = 0, sp = 0, cs = 0, no = 0, co = 0;
	struct gent *g = NULL;
	size_t *stk = NULL;
	struct ov *ovs = NULL;
	uint8_t *warned = NULL, *memo = NULL;
	bool *cand = NULL;
	long *by = NULL;

	for (size_t i = 0; i < rs->nrules; i++) {
		total += rs->rules[i].ndsts;
		with += rs->rules[i].ndsts > 0;
	}
	cand = calloc(rs->nrules + 1, sizeof(*cand));
	by = calloc(rs->nrules + 1, sizeof(*by));
	if (rs->nrules <= SL_MEET_MEMO_RULES)
		memo = calloc(rs->nrules * rs->nrules + 1, 1);  /* NULL: no memo, same result */
	if (!cand || !by) {
		sl__oom(c);
		goto out;
	}
	if (with >= 2) {
		g = malloc(total * sizeof(*g));
		warned = calloc(total, 1);
		if (!g || !warned) {
			sl__oom(c);
			goto out;
		}
		for (size_t i = 0; i < rs->nrules; i++) {
			const struct sl_rule *r = &rs->rules[i];

			cand[i] = i > 0 && r->ndsts && !r->nhosts && r->nlines && r->nlines < 32;
			by[i] = -1;
			for (size_t j = 0; j < r->ndsts; j++) {
				g[n].c = &r->dsts[j];
				g[n].rule = (uint32_t)i;
				g[n].idx = (uint32_t)j;
				n++;
			}
		}
		if (merge_runs(c, &g, n))
			goto out;
		for (size_t x = 0; x < n; x++) {
			uint32_t R = g[x].rule;
			const struct sl_rule *r = &rs->rules[R];
			uint32_t need = cand[R] ? (1u << r->nlines) - 1 : 0, got = 0;
			long first = -1;
			size_t steps = 0;

			while (sp && !contains(g[stk[sp - 1]].c, g[x].c))
				sp--;
			for (size_t k = sp; k-- > 0 && steps < SL_WALK_MAX; steps++) {
				size_t a = stk[k];
				uint32_t S = g[a].rule;
				const struct sl_rule *s = &rs->rules[S];

				if (S == R)
					continue;
				if (S < R) {
					if (need && got != need) {
						uint32_t m = cover_mask(s, r);

						if (m & ~got) {
							got |= m;
							if (first < 0)
								first = S;
						}
					}
					if (!warned[x] && meet(memo, rs, S, R)) {
						warned[x] = 1;
						if (GROW(c, ovs, co, no))
							goto out;
						ovs[no++] = (struct ov){ R, g[x].idx, a };
					}
				} else if (!warned[a] && meet(memo, rs, S, R)) {
					warned[a] = 1;
					if (GROW(c, ovs, co, no))
						goto out;
					ovs[no++] = (struct ov){ S, g[a].idx, x };
				}
			}
			if (need) {
				if (got != need)
					cand[R] = false;
				else if (by[R] < 0)
					by[R] = first;
			}
			if (GROW(c, stk, cs, sp))
				goto out;
			stk[sp++] = x;
		}
		sort_u64key(ovs, no, sizeof(*ovs), ov_key, ov_cmp);
	} else {
		memset(cand, 0, (rs->nrules + 1) * sizeof(*cand));
	}

	for (size_t i = 0, o = 0; i < rs->nrules; i++) {
		const struct sl_rule *r = &rs->rules[i];
		size_t shown = 0, more = 0;

		if (cand[i] && by[i] >= 0) {
			const struct sl_rule *s = &rs->rules[by[i]];

			sl__diag(c, SL_SEV_WARNING, r->pos,
				 "move it above the rules that shadow it, or delete it",
				 "rule '%s' can never match: earlier rules match every destination "
				 "and protocol of it first (rule '%s' at %s:%d:%d)",
				 r->name, s->name, s->pos.file, s->pos.line, s->pos.col);
		}
		for (; o < no && ovs[o].rule == i; o++) {
			const struct sl_cidr *x = &r->dsts[ovs[o].idx], *y = g[ovs[o].other].c;
			const struct sl_rule *s = &rs->rules[g[ovs[o].other].rule];
			char a[64], b[64];

			if (cand[i])
				continue;       /* said above, in one line */
			if (shown++ >= SL_LINT_MAX) {
				more++;
				continue;
			}
			sl__diag(c, SL_SEV_WARNING, x->pos, NULL,
				 "%s overlaps rule %s's %s at %s:%d:%d: first match decides",
				 sl__fmt_cidr(x, a, sizeof(a)), s->name, sl__fmt_cidr(y, b, sizeof(b)),
				 y->pos.file, y->pos.line, y->pos.col);
		}
		if (more)
			sl__diag(c, SL_SEV_NOTE, r->pos, NULL,
				 "rule '%s': and %zu more overlapping prefixes not shown", r->name, more);
		if (r->nhosts)
			host_notice(c, r);
	}
out:
	free(memo);
	free(g);
	free(stk);
	free(ovs);
	free(warned);
	free(cand);
	free(by);
}
