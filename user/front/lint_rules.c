/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lint_rules.c - the cross-rule lints, run once the ruleset is whole:
 * overlaps between rules, rules shadowed by earlier ones, and the notice
 * on host names learned from DNS.  One sort and one sweep with a stack
 * of enclosing prefixes, as in lint.c.
 */
#include <stdlib.h>
#include <string.h>

#include "front/addr.h"
#include "front/lint.h"

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
		sl__sort_u64key(ovs, no, sizeof(*ovs), ov_key, ov_cmp);
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

