/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lint.c - the lints of one rule or set as it closes: exact duplicates
 * (dropped, with a warning) and prefixes nested in others, kept apart
 * from those that come from an @set.
 *
 * Everything that looks at many prefixes sorts them (address, then prefix
 * length) and sweeps once with a stack of enclosing prefixes, so a rule of
 * a million prefixes costs one sort: no pairwise comparisons anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "front/addr.h"
#include "front/lint.h"

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
	sl__sortv(dl->h, nh, sizeof(*dl->h), bhost_cmp);
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
		sl__sort_u64key(pv, np, sizeof(*pv), pend_key, pend_cmp);
	else
		sl__sortv(pv, np, sizeof(*pv), pend_cmp);
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
	sl__sortv(dl->h, dl->nh, sizeof(*dl->h), bhost_seq_cmp);
out:
	free(pv);
	free(rm);
	free(rmh);
}

