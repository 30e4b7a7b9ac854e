// SPDX-License-Identifier: GPL-2.0-only
/*
 * parse_log.c - the event statements (docs/rules.md "Events"):
 * `log drops|none|all;`, `log rate N;`, `log snap N;` at the top level and
 * `log;` inside a rule.  Called by parse.c.
 */
#include <stdlib.h>
#include <string.h>

#include "front/lexer.h"
#include "front/parse.h"

/* log drops|none|all;  log rate N;  log snap N;  (events, docs/rules.md) */
void sl__parse_log(struct pctx *c, struct lexer *lx, const struct tok *kw)
{
	struct tok t = lex_next(lx), u;
	struct sl_pos *seen;
	unsigned long n;
	int v;

	if (weq(&t, "rate") || weq(&t, "snap")) {
		bool rate = weq(&t, "rate");
		unsigned long lo = rate ? 1 : 0, hi = rate ? 1000000 : SL_SNAP_MAX;
		char num[16], *end;

		u = lex_next(lx);
		if (u.type != T_WORD || u.len >= sizeof(num)) {
			ERR(c, u.pos, rate ? "write `log rate 1000;` (events per second)" :
			    "write `log snap 128;` (bytes of each packet kept for --pcap)",
			    "expected a number after 'log %s', found %s", rate ? "rate" : "snap", TD(u));
			sl__recover_top(lx, &u);
			return;
		}
		memcpy(num, u.s, u.len);
		num[u.len] = 0;
		n = strtoul(num, &end, 10);
		if (*end || !u.len || num[0] == '-' || n < lo || n > hi) {
			ERR(c, u.pos, NULL, "'log %s' takes %s from %lu to %lu, not '%s'",
			    rate ? "rate" : "snap", rate ? "events per second" : "bytes", lo, hi, num);
			sl__recover_top(lx, &u);
			return;
		}
		seen = rate ? &c->log_rate_pos : &c->log_snap_pos;
		v = rate ? (int)c->rs->log_rate : c->rs->log_snap;
	} else {
		if (weq(&t, "drops"))
			v = 1;
		else if (weq(&t, "none"))
			v = 0;
		else if (weq(&t, "all"))
			v = 2;
		else {
			ERR(c, t.pos, t.type == T_SEMI ? "`log;` alone goes inside a rule: rule NAME { ... log; }" : NULL,
			    "expected 'drops', 'none', 'all', 'rate' or 'snap' after 'log', found %s", TD(t));
			sl__recover_top(lx, &t);
			return;
		}
		n = (unsigned long)v;
		seen = &c->log_pos;
		v = c->rs->log_pass == SL_LOGP_ALL ? 2 : c->rs->log_drops;
	}
	u = lex_next(lx);
	if (u.type != T_SEMI) {
		ERR(c, u.pos, u.type == T_COMMA ? "numbers take no thousands separators: `log rate 10000;`" : NULL,
		    "expected ';' after 'log %.*s', found %s", (int)t.len, t.s, TD(u));
		sl__recover_top(lx, &u);
		return;
	}
	if (seen->line && (unsigned long)v != n) {
		ERR(c, kw->pos, "a ruleset has one such statement",
		    "'log %.*s' conflicts with the earlier 'log' statement at %s:%d:%d",
		    (int)t.len, t.s, seen->file, seen->line, seen->col);
		return;
	}
	*seen = kw->pos;
	if (seen == &c->log_rate_pos)
		c->rs->log_rate = (uint32_t)n;
	else if (seen == &c->log_snap_pos)
		c->rs->log_snap = (uint16_t)n;
	else {
		c->rs->log_drops = n != 0;
		if (n == 2)
			c->rs->log_pass = SL_LOGP_ALL;
	}
}

/* `log;` inside a rule: the rule's passes are events too. */
void sl__parse_rule_log(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *kw)
{
	struct tok u = lex_next(lx);

	if (u.type != T_SEMI) {
		ERR(c, u.pos, "a rule's log statement takes no value; `log drops|none|all;` "
		    "and `log rate N;` are written outside rules",
		    "expected ';' after 'log' in rule '%s', found %s", c->rs->rules[ri].name, TD(u));
		c->pr[ri].bad = true;
		sl__recover_after(lx, &u);
		return;
	}
	(void)kw;
	c->rs->rules[ri].log = true;
	if (c->rs->log_pass == SL_LOGP_NONE)
		c->rs->log_pass = SL_LOGP_RULES;
}

