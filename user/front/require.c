// SPDX-License-Identifier: GPL-2.0-only
/*
 * require.c - the `require` statement (docs/rules.md "Requirements"): what a
 * pack needs allowed, as its vendor publishes it, for `sluice verify` to
 * test against the loaded program.  Written like a rule with allow lines
 * only (sets, files, ranges, include order all as in rules):
 *
 *     require zoom-media-flows { allow tcp 443, 8801-8802; allow udp 3478-3479, 8801-8810; to @zoom-ips; }
 *
 * Parsed and resolved exactly as a rule (parse.c), then moved out of the
 * rules into rs->reqs before the cross-rule lints, so compile never sees
 * one: a pack with requirements loads the same tables as without.
 * Requirement and rule names share one namespace.
 */
#include <stdlib.h>
#include <string.h>

#include "front/lexer.h"
#include "front/parse.h"

void sl__parse_require(struct pctx *c, struct lexer *lx)
{
	size_t before = c->rs->nrules;

	sl__parse_rule(c, lx);
	if (c->rs->nrules > before)
		c->pr[before].is_req = true;
}

int sl__require_extract(struct pctx *c)
{
	struct sl_ruleset *rs = c->rs;
	size_t n = 0, o = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		n += c->pr[i].is_req;
	if (!n)
		return 0;
	rs->reqs = calloc(n, sizeof(*rs->reqs));
	if (!rs->reqs) {
		sl__oom(c);
		return -1;
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sl_rule *r = &rs->rules[i];

		if (!c->pr[i].is_req) {
			c->pr[o] = c->pr[i];
			rs->rules[o++] = *r;
			continue;
		}
		if (r->action != SL_ACT_ALLOW)
			ERR(c, r->pos, "a requirement lists what must pass: write `allow` lines",
			    "requirement '%s' has a deny line", r->name);
		if (r->nhosts)
			WARN(c, r->pos, "sluice verify tests addresses; host names are learned from DNS "
			     "answers at run time and are left out", "requirement '%s' names host names",
			     r->name);
		rs->reqs[rs->nreqs++] = *r;
	}
	rs->nrules = o;
	return 0;
}
