/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * names.c - host-name rules -> name classes (docs/dns.md).  Pure.
 *
 * A DNS question name Q matches the rules naming Q exactly and the rules
 * with "*.S" where Q is strictly below S.  The BPF learner looks Q up in
 * "names" (exact patterns) and, on a miss, strips leading labels and looks
 * each suffix up in "wilds" (the S of every "*.S"), longest suffix first.
 * So each pattern carries a precomputed *name class*:
 *   exact K:  rules naming K  ∪  rules with "*.S", S a proper suffix of K;
 *   "*.S":    rules with "*.S" ∪ rules with "*.S'", S' a proper suffix of S;
 * in file order.  The first hit is then exactly the set of rules Q matches.
 *
 * Class ids are SL_NCLS_BASE | 30 bits of a hash of the pattern (linear
 * probing on a collision), so a pattern keeps its id across applies and the
 * "learned" map (kept across applies) stays meaningful without translation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl.h"

#define FNV_OFF   0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

uint64_t sl_name_hash(const char *name, uint64_t seed)
{
	uint64_t h = FNV_OFF ^ seed;
	size_t end = strlen(name);

	if (end && name[end - 1] == '.')
		end--;
	/* labels from the last to the first; bytes of a label in order */
	while (end > 0) {
		size_t start = end;

		while (start > 0 && name[start - 1] != '.')
			start--;
		h = (h ^ (uint64_t)(end - start)) * FNV_PRIME;
		for (size_t i = start; i < end; i++)
			h = (h ^ lower((unsigned char)name[i])) * FNV_PRIME;
		end = start ? start - 1 : 0;
	}
	return h;
}

int sl_name_wire(const char *name, uint8_t *wire, size_t cap, uint8_t *nlabels)
{
	size_t n = 0, len = strlen(name);
	unsigned labels = 0;

	if (len && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && name[j] != '.')
			j++;
		if (j == i || j - i > 63 || n + 1 + (j - i) > cap || n + 1 + (j - i) + 1 > 255)
			return -EINVAL;
		wire[n++] = (uint8_t)(j - i);
		for (size_t k = i; k < j; k++)
			wire[n++] = lower((unsigned char)name[k]);
		labels++;
		i = j + 1;
	}
	if (nlabels)
		*nlabels = (uint8_t)labels;
	return (int)n;
}

/* @q strictly below @s ("a.b.c" below "b.c"; not "xb.c", not "b.c") */
static bool below(const char *q, const char *s)
{
	size_t lq = strlen(q), ls = strlen(s);

	return lq > ls + 1 && q[lq - ls - 1] == '.' && !strcasecmp(q + lq - ls, s);
}

bool sl_host_matches(const struct sl_host *h, const char *q)
{
	return h->wildcard ? below(q, h->name) : !strcasecmp(q, h->name);
}

/* Does rule @r belong to the class of pattern (@name, @wild)? */
static bool in_class(const struct sl_rule *r, const char *name, bool wild)
{
	for (size_t h = 0; h < r->nhosts; h++) {
		const struct sl_host *x = &r->hosts[h];

		if (!wild && !x->wildcard && !strcasecmp(x->name, name))
			return true;
		if (x->wildcard && (below(name, x->name) || (wild && !strcasecmp(x->name, name))))
			return true;
	}
	return false;
}

static int ncls_cmp(const void *a, const void *b)
{
	const struct sl_nameclass *x = a, *y = b;

	return x->ncls < y->ncls ? -1 : x->ncls > y->ncls;
}

void sl_names_free(struct sl_nameclass *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].rules);
	}
	free(v);
}

int sl_names_build(const struct sl_ruleset *rs, struct sl_nameclass **out, size_t *nout,
		   uint8_t *max_wild_labels)
{
	struct sl_nameclass *v = NULL;
	size_t n = 0, cap = 0;
	uint8_t maxw = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t h = 0; h < rs->rules[i].nhosts; h++) {
			const struct sl_host *x = &rs->rules[i].hosts[h];
			bool dup = false;

			for (size_t k = 0; k < n && !dup; k++)
				dup = v[k].wild == x->wildcard && !strcasecmp(v[k].name, x->name);
			if (dup)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *nv = realloc(v, nc * sizeof(*v));

				if (!nv)
					goto nomem;
				v = nv;
				cap = nc;
			}
			memset(&v[n], 0, sizeof(v[n]));
			v[n].name = strdup(x->name);
			if (!v[n].name)
				goto nomem;
			for (char *c = v[n].name; *c; c++)
				*c = (char)lower((unsigned char)*c);
			v[n].wild = x->wildcard;
			n++;
		}
	for (size_t k = 0; k < n; k++) {
		struct sl_nameclass *c = &v[k];
		int wl;

		wl = sl_name_wire(c->name, c->nval.wire, sizeof(c->nval.wire), &c->nval.nlabels);
		if (wl < 0) {
			sl_names_free(v, n);
			return -EINVAL;
		}
		c->nval.wlen = (uint8_t)wl;
		c->hash = sl_name_hash(c->name, 0);
		if (c->wild && c->nval.nlabels > maxw)
			maxw = c->nval.nlabels;
		/* a stable id: 30 bits of a hash of the pattern ("*." marks wildcards) */
		c->ncls = SL_NCLS_BASE | (uint32_t)((sl_name_hash(c->name, c->wild ? 0x2a2e : 0x3d) >> 17) &
						    0x3fffffff);
		for (bool clash = true; clash;) {
			clash = false;
			for (size_t j = 0; j < k; j++)
				if (v[j].ncls == c->ncls) {
					c->ncls = SL_NCLS_BASE | ((c->ncls + 1) & 0x3fffffff);
					clash = true;
				}
		}
		c->nval.ncls = c->ncls;
		c->rules = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*c->rules));
		if (!c->rules)
			goto nomem;
		for (size_t i = 0; i < rs->nrules; i++)
			if (in_class(&rs->rules[i], c->name, c->wild))
				c->rules[c->nrules++] = (uint16_t)i;
	}
	if (n)
		qsort(v, n, sizeof(*v), ncls_cmp);
	*out = v;
	*nout = n;
	*max_wild_labels = maxw;
	return 0;
nomem:
	sl_names_free(v, n);
	return -ENOMEM;
}

const struct sl_nameclass *sl_names_find(const struct sl_image *img, const char *q)
{
	const char *s = q;

	for (size_t k = 0; k < img->nnames; k++)
		if (!img->names[k].wild && !strcasecmp(img->names[k].name, q))
			return &img->names[k];
	/* strip leading labels: longest suffix first */
	while ((s = strchr(s, '.')) != NULL) {
		s++;
		for (size_t k = 0; k < img->nnames; k++)
			if (img->names[k].wild && !strcasecmp(img->names[k].name, s))
				return &img->names[k];
	}
	return NULL;
}
