// SPDX-License-Identifier: GPL-2.0-only
/*
 * diff.c - the difference of two rulesets, as `sluice plan` shows it and
 * `apply` sums it up: rules matched by name (as apply keeps counters),
 * first-match order compared over the rules in both (those off the longest
 * run that keeps its order are "moved"), each rule's action, protocol
 * lines and `log;`, its destinations as sets of CIDRs and host names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

static int cidr_cmp(const void *a, const void *b)
{
	const struct sl_cidr *x = *(const struct sl_cidr *const *)a;
	const struct sl_cidr *y = *(const struct sl_cidr *const *)b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, 16)))
		return c;
	return (int)x->plen - (int)y->plen;
}

static int host_cmp(const void *a, const void *b)
{
	const struct sl_host *x = *(const struct sl_host *const *)a;
	const struct sl_host *y = *(const struct sl_host *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : (int)x->wildcard - (int)y->wildcard;
}

/* Sorted pointers to @n items of size @sz at @v (NULL rule: none). */
static const void **sorted(const void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	const void **p = calloc(n ? n : 1, sizeof(*p));

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = (const char *)v + i * sz;
	qsort(p, n, sizeof(*p), cmp);
	return p;
}

/* Set difference of two sorted pointer lists: *add = in b only, *del = in a only. */
static int setdiff(const void **a, size_t na, const void **b, size_t nb,
		   int (*cmp)(const void *, const void *),
		   const void ***add, size_t *nadd, const void ***del, size_t *ndel)
{
	size_t i = 0, k = 0;

	*add = calloc(nb ? nb : 1, sizeof(**add));
	*del = calloc(na ? na : 1, sizeof(**del));
	*nadd = *ndel = 0;
	if (!*add || !*del)
		return -ENOMEM;
	while (i < na || k < nb) {
		int c = i == na ? 1 : k == nb ? -1 : cmp(&a[i], &b[k]);

		if (c < 0)
			(*del)[(*ndel)++] = a[i++];
		else if (c > 0)
			(*add)[(*nadd)++] = b[k++];
		else
			i++, k++;
	}
	return 0;
}

static int dst_diff(struct sl_plan_rule *pr)
{
	const struct sl_rule *o = pr->old, *n = pr->new;
	const void **oc = sorted(o ? o->dsts : NULL, o ? o->ndsts : 0, sizeof(struct sl_cidr), cidr_cmp);
	const void **nc = sorted(n ? n->dsts : NULL, n ? n->ndsts : 0, sizeof(struct sl_cidr), cidr_cmp);
	const void **oh = sorted(o ? o->hosts : NULL, o ? o->nhosts : 0, sizeof(struct sl_host), host_cmp);
	const void **nh = sorted(n ? n->hosts : NULL, n ? n->nhosts : 0, sizeof(struct sl_host), host_cmp);
	int e = -ENOMEM;

	if (oc && nc && oh && nh) {
		e = setdiff(oc, o ? o->ndsts : 0, nc, n ? n->ndsts : 0, cidr_cmp,
			    (const void ***)&pr->dadd, &pr->ndadd, (const void ***)&pr->ddel, &pr->nddel);
		if (!e)
			e = setdiff(oh, o ? o->nhosts : 0, nh, n ? n->nhosts : 0, host_cmp,
				    (const void ***)&pr->hadd, &pr->nhadd, (const void ***)&pr->hdel,
				    &pr->nhdel);
	}
	free(oc);
	free(nc);
	free(oh);
	free(nh);
	return e;
}

static bool same_lines(const struct sl_rule *a, const struct sl_rule *b)
{
	if (a->nlines != b->nlines)
		return false;
	/* each protocol once per rule (the parser merges), in written order: match by protocol */
	for (size_t i = 0; i < a->nlines; i++) {
		const struct sl_proto_line *x = &a->lines[i], *y = NULL;

		for (size_t k = 0; k < b->nlines && !y; k++)
			if (b->lines[k].proto == x->proto && b->lines[k].nports == x->nports &&
			    (!x->nports || !memcmp(b->lines[k].ports, x->ports, x->nports * sizeof(*x->ports))))
				y = &b->lines[k];
		if (!y)
			return false;
	}
	return true;
}

static int find_rule(const struct sl_ruleset *rs, const char *name)
{
	for (size_t i = 0; rs && i < rs->nrules; i++)
		if (!strcmp(rs->rules[i].name, name))
			return (int)i;
	return -1;
}

/* Mark as moved the rules in both that are off a longest increasing run of
 * old indices in new order (patience sorting, O(n log n)). */
static int mark_moved(struct sl_plan *p, size_t nboth)
{
	size_t *seq = calloc(nboth + 1, sizeof(*seq)), *tail = calloc(nboth + 1, sizeof(*tail));
	size_t *prev = calloc(nboth + 1, sizeof(*prev));
	bool *keep = calloc(nboth + 1, sizeof(*keep));
	size_t n = 0, len = 0;
	int e = -ENOMEM;

	if (!seq || !tail || !prev || !keep)
		goto out;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].old_index >= 0 && p->rules[i].new_index >= 0)
			seq[n++] = i;
	for (size_t i = 0; i < n; i++) {
		int v = p->rules[seq[i]].old_index;
		size_t lo = 0, hi = len;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (p->rules[seq[tail[mid]]].old_index < v)
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tail[lo - 1] : (size_t)-1;
		tail[lo] = i;
		if (lo == len)
			len++;
	}
	for (size_t i = len ? tail[len - 1] : (size_t)-1; i != (size_t)-1; i = prev[i])
		keep[i] = true;
	for (size_t i = 0; i < n; i++)
		if (!keep[i]) {
			p->rules[seq[i]].moved = true;
			p->nmoved++;
		}
	e = 0;
out:
	free(seq);
	free(tail);
	free(prev);
	free(keep);
	return e;
}

static void settings_diff(const struct sl_ruleset *o, const struct sl_ruleset *n, struct sl_plan *p)
{
	size_t len = 0;
#define SETTING(cond, what) do { if (cond) len += (size_t)snprintf(p->settings + len, \
	len < sizeof(p->settings) ? sizeof(p->settings) - len : 0, "%s%s", len ? ", " : "", what); \
	if (len >= sizeof(p->settings)) len = sizeof(p->settings) - 1; } while (0)

	SETTING(o->control_pass != n->control_pass, n->control_pass ? "control pass" : "control filter");
	SETTING(o->host_pass != n->host_pass, n->host_pass ? "host pass" : "host filter");
	SETTING(o->log_drops != n->log_drops || o->log_pass != n->log_pass, "log");
	SETTING(o->log_snap != n->log_snap, "log snap");
	SETTING(o->log_rate != n->log_rate, "log rate");
	if (o->nresolvers != n->nresolvers)
		SETTING(true, "resolvers");
	else
		for (size_t i = 0; i < o->nresolvers; i++)
			if (memcmp(o->resolvers[i].addr, n->resolvers[i].addr, 16) ||
			    o->resolvers[i].family != n->resolvers[i].family) {
				SETTING(true, "resolvers");
				break;
			}
#undef SETTING
}

int sl_plan_diff(const struct sl_ruleset *old, const struct sl_ruleset *new, struct sl_plan *p)
{
	size_t cap = new->nrules + (old ? old->nrules : 0), nboth = 0;
	int e;

	memset(p, 0, sizeof(*p));
	p->have_old = old != NULL;
	p->new_policy = new->policy;
	p->new_mode = new->mode;
	p->old_policy = old ? old->policy : new->policy;
	p->old_mode = old ? old->mode : new->mode;
	p->rules = calloc(cap ? cap : 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	for (size_t i = 0; i < new->nrules; i++) {
		struct sl_plan_rule *pr = &p->rules[p->nrules++];
		int oi = find_rule(old, new->rules[i].name);

		pr->name = new->rules[i].name;
		pr->new = &new->rules[i];
		pr->new_index = (int)i;
		pr->old_index = oi;
		pr->old = oi >= 0 ? &old->rules[oi] : NULL;
		nboth += oi >= 0;
	}
	for (size_t i = 0; old && i < old->nrules; i++) {
		struct sl_plan_rule *pr;

		if (find_rule(new, old->rules[i].name) >= 0)
			continue;
		pr = &p->rules[p->nrules++];
		pr->name = old->rules[i].name;
		pr->old = &old->rules[i];
		pr->old_index = (int)i;
		pr->new_index = -1;
	}
	if ((e = mark_moved(p, nboth)))
		goto fail;
	for (size_t i = 0; i < p->nrules; i++) {
		struct sl_plan_rule *pr = &p->rules[i];

		if ((e = dst_diff(pr)))
			goto fail;
		p->ndst_added += pr->ndadd + pr->nhadd;
		p->ndst_removed += pr->nddel + pr->nhdel;
		if (!pr->old) {
			pr->kind = SL_PK_ADDED;
			p->nadded++;
			continue;
		}
		if (!pr->new) {
			pr->kind = SL_PK_REMOVED;
			p->nremoved++;
			continue;
		}
		p->nkept++;
		pr->action_changed = pr->old->action != pr->new->action;
		pr->lines_changed = !same_lines(pr->old, pr->new);
		pr->log_changed = pr->old->log != pr->new->log;
		if (pr->action_changed || pr->lines_changed || pr->log_changed ||
		    pr->ndadd || pr->nddel || pr->nhadd || pr->nhdel) {
			pr->kind = SL_PK_CHANGED;
			p->nchanged++;
		}
	}
	if (old)
		settings_diff(old, new, p);
	p->changes = !old || p->nadded || p->nremoved || p->nchanged || p->nmoved ||
		     p->old_policy != p->new_policy || p->old_mode != p->new_mode || p->settings[0];
	return 0;
fail:
	sl_plan_free(p);
	return e;
}

void sl_plan_free(struct sl_plan *p)
{
	for (size_t i = 0; p->rules && i < p->nrules; i++) {
		free(p->rules[i].dadd);
		free(p->rules[i].ddel);
		free(p->rules[i].hadd);
		free(p->rules[i].hdel);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}
